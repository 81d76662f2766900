"""`lineage demo`: load a realistic ML-platform graph and print the impact of one corrupted dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from lineage.analysis import impact
from lineage.cli.common import ActorOpt, StoreOpt, handle_errors, opened, out, settings_for
from lineage.demo import CORRUPTED, build_demo_batch
from lineage.report.text import render
from lineage.storage.sqlite import SQLiteStore


@handle_errors
def demo_cmd(store: StoreOpt = None, actor: ActorOpt = None) -> None:
    """Load the demo graph (idempotent) and print an impact report for a corrupted dataset version."""
    settings = settings_for(store, actor or "demo")
    console = out()
    batch = build_demo_batch()
    with opened(settings) as st:
        result = st.register(batch, principal=settings.actor or "demo", source="demo")
        if result.changed:
            console.print(
                f"Loaded the demo ML platform: {result.nodes_created} nodes and {result.edges_created} edges "
                f"(audit entry #{result.audit_seq})."
            )
        else:
            console.print(
                f"The demo graph is already loaded ({len(batch)} nodes and edges); nothing new written."
            )
        console.print(f"\nScenario: [bold]{CORRUPTED}[/] turned out to be corrupted. What is hit?\n")
        render(impact(st, CORRUPTED), console, max_rows=400)
        where = str(Path(st.path).resolve()) if isinstance(st, SQLiteStore) else st.url
    flag = "" if store is None else f" --store {settings.store}"
    console.print(f"\nStore: [bold]{where}[/]\nTry next:")
    for cmd in (
        f"lineage impact {CORRUPTED} --kind Deployment,Model{flag}",
        f"lineage provenance deployment:prod/churn-api{flag}",
        f"lineage show model:ml/churn-classifier@3{flag}",
        f"lineage search customer_360{flag}",
        f"lineage audit log{flag}",
        f"lineage audit verify{flag}",
    ):
        console.print(f"  {cmd}", highlight=False)
    raise typer.Exit(0)
