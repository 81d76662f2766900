"""`lineage audit`: read the log, verify the hash chain, print the head to anchor elsewhere."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lineage.cli.common import (
    Format,
    FormatOpt,
    StoreOpt,
    handle_errors,
    opened,
    out,
    parse_time,
    print_json,
    settings_for,
)
from lineage.report.tables import print_table
from lineage.storage import AuditFilter

app = typer.Typer(
    help="Audit log: who registered or changed what, when; tamper evidence.", no_args_is_help=True
)


@app.command("log")
@handle_errors
def log_cmd(
    principal: Annotated[str | None, typer.Option("--principal", "-p", help="Only this principal.")] = None,
    node: Annotated[
        str | None, typer.Option("--node", "-n", help="Only entries touching this node id.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action (register, retract, ...).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time, inclusive.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time, inclusive.")] = None,
    after: Annotated[int, typer.Option("--after", help="Only entries after this sequence number.")] = 0,
    limit: Annotated[int, typer.Option("--limit", help="Most entries.")] = 100,
    payload: Annotated[
        bool, typer.Option("--payload", help="Include what each entry recorded (JSON).")
    ] = False,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """List audit entries, oldest first."""
    filt = AuditFilter(
        principal=principal,
        subject=node,
        action=action,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        after_seq=after,
        limit=limit,
    )
    with opened(settings_for(store), existing=True) as st:
        entries = st.audit_entries(filt)
    if fmt is Format.json:
        print_json([e.to_dict(with_payload=payload) for e in entries])
        return
    table = Table()
    for col in ("seq", "at", "principal", "source", "action", "subjects", "hash"):
        table.add_column(col, overflow="fold")
    for e in entries:
        subjects = ", ".join(e.subjects[:3]) + (f" (+{len(e.subjects) - 3})" if len(e.subjects) > 3 else "")
        table.add_row(
            str(e.seq),
            e.at.isoformat(timespec="seconds"),
            e.principal,
            e.source,
            e.action,
            subjects,
            e.hash[:12],
        )
    print_table(out(), table)


@app.command("verify")
@handle_errors
def verify_cmd(
    expect_head: Annotated[
        str | None,
        typer.Option("--expect-head", help="Head hash anchored earlier; detects removal at the end."),
    ] = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """Recompute the hash chain. Exit 0 when intact, 1 naming the first bad entry."""
    with opened(settings_for(store), existing=True) as st:
        result = st.verify_audit(expect_head)
    if fmt is Format.json:
        print_json(result.to_dict())
    elif result.ok:
        out().print(f"audit chain intact: {result.entries} entries, head {result.head}")
    else:
        out().print(f"[bold red]audit chain BROKEN[/] at entry {result.first_bad_seq}: {result.problem}")
    if not result.ok:
        raise typer.Exit(1)


@app.command("head")
@handle_errors
def head_cmd(fmt: FormatOpt = Format.text, store: StoreOpt = None) -> None:
    """Print the sequence number and hash of the last entry, to anchor outside the store."""
    with opened(settings_for(store), existing=True) as st:
        result = st.verify_audit()
    if fmt is Format.json:
        print_json({"seq": result.entries, "hash": result.head})
        return
    out().print(f"{result.entries} {result.head}")
