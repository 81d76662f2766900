"""Read commands: impact, provenance, show, search."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lineage.cli.common import (
    AsOfOpt,
    Format,
    FormatOpt,
    StoreOpt,
    handle_errors,
    opened,
    out,
    parse_kinds,
    parse_time,
    print_json,
    settings_for,
)
from lineage.cli.reports import MaxCharsOpt, OutputOpt, ReportFmt, ReportFmtOpt, emit_report
from lineage.errors import ValidationError
from lineage.model import EdgeType
from lineage.report.markdown import MAX_CHARS
from lineage.report.tables import print_table
from lineage.storage import Direction

DepthOpt = Annotated[int | None, typer.Option("--depth", "-d", help="Maximum number of hops.", show_default=False)]
KindsOpt = Annotated[
    list[str] | None,
    typer.Option("--kind", "-k", help="Only list these kinds (repeat or comma-separate); the walk crosses all.",
                 show_default=False),
]
EdgesOpt = Annotated[
    list[str] | None,
    typer.Option("--edge", "-e", help="Walk only these edge types (repeat or comma-separate), e.g. "
                 "PARENT_OF,PRODUCED from an orchestrator run: what its runs produced.", show_default=False),
]


def parse_edge_types(values: list[str] | None) -> tuple[EdgeType, ...]:
    out: list[EdgeType] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                try:
                    out.append(EdgeType.parse(part.strip()))
                except ValueError as exc:
                    raise ValidationError(f"--edge: {exc}") from None
    return tuple(dict.fromkeys(out))


@handle_errors
def impact_cmd(
    node_id: Annotated[str, typer.Argument(metavar="ID", help="The node whose downstream is affected.")],
    depth: DepthOpt = None,
    kind: KindsOpt = None,
    edge: EdgesOpt = None,
    as_of: AsOfOpt = None,
    fmt: ReportFmtOpt = ReportFmt.text,
    output: OutputOpt = None,
    max_chars: MaxCharsOpt = MAX_CHARS,
    store: StoreOpt = None,
) -> None:
    """Downstream impact: everything derived from ID, with distance, one path and owners."""
    settings = settings_for(store)
    with opened(settings, existing=True) as st:
        emit_report(st, settings, node_id, Direction.DOWNSTREAM, fmt=fmt, output=output, depth=depth,
                    kinds=parse_kinds(kind), as_of=parse_time(as_of), edge_types=parse_edge_types(edge),
                    max_chars=max_chars)


@handle_errors
def provenance_cmd(
    node_id: Annotated[str, typer.Argument(metavar="ID", help="The node whose inputs to list.")],
    depth: DepthOpt = None,
    kind: KindsOpt = None,
    edge: EdgesOpt = None,
    as_of: AsOfOpt = None,
    fmt: ReportFmtOpt = ReportFmt.text,
    output: OutputOpt = None,
    max_chars: MaxCharsOpt = MAX_CHARS,
    store: StoreOpt = None,
) -> None:
    """Upstream provenance: the bill of materials of ID (data, features, commits, runs)."""
    settings = settings_for(store)
    with opened(settings, existing=True) as st:
        emit_report(st, settings, node_id, Direction.UPSTREAM, fmt=fmt, output=output, depth=depth,
                    kinds=parse_kinds(kind), as_of=parse_time(as_of), edge_types=parse_edge_types(edge),
                    max_chars=max_chars)


@handle_errors
def show_cmd(
    node_id: Annotated[str, typer.Argument(metavar="ID")],
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """A node with its properties, neighbours and history."""
    with opened(settings_for(store), existing=True) as st:
        when = parse_time(as_of)
        node = st.get_node(node_id, when)
        edges = st.node_edges(node_id, when)
        hist = st.history(node_id)
        if fmt is Format.json:
            print_json({
                "node": node.to_dict(),
                "upstream": [e.to_dict() for e in edges if e.target == node_id],
                "downstream": [e.to_dict() for e in edges if e.source == node_id],
                "revisions": [{"recorded_at": r.recorded_at.isoformat(), "recorded_by": r.recorded_by,
                               "properties": r.properties} for r in hist["revisions"]],
                "annotations": [{"key": a.key, "value": a.value, "recorded_at": a.recorded_at.isoformat(),
                                 "recorded_by": a.recorded_by,
                                 "retracted_at": a.retracted_at.isoformat() if a.retracted_at else None}
                                for a in hist["annotations"]],
                "audit": [e.to_dict() for e in hist["audit"]],
            })
            return
        console = out()
        console.print(f"[bold]{node.id}[/]  ({node.kind.value})")
        table = Table(show_header=False, box=None)
        for key, value in [("namespace", node.namespace), ("name", node.name), ("version", node.version),
                           ("owners", ", ".join(node.owners) or "-"), ("tags", ", ".join(node.tags) or "-"),
                           ("event time", node.event_time), ("recorded", f"{node.recorded_at} by {node.recorded_by}")]:
            table.add_row(key, str(value) if value is not None else "-")
        for key, value in sorted(node.properties.items()):
            table.add_row(f"  {key}", str(value))
        print_table(console, table)
        for title, rows in (("upstream", [e for e in edges if e.target == node_id]),
                            ("downstream", [e for e in edges if e.source == node_id])):
            console.print(f"[bold]{title}[/] ({len(rows)})")
            for e in rows[:50]:
                other = e.source if title == "upstream" else e.target
                console.print(f"  {e.type.value:<12} {other}")
            if len(rows) > 50:
                console.print(f"  ... {len(rows) - 50} more")
        console.print("[bold]history[/]")
        for entry in hist["audit"]:
            console.print(f"  #{entry.seq} {entry.at.isoformat()} {entry.principal} {entry.action} ({entry.source})")


@handle_errors
def search_cmd(
    text: Annotated[str, typer.Argument(help="Part of a name or id.")],
    kind: KindsOpt = None,
    limit: Annotated[int, typer.Option(help="Most results.")] = 50,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """Find nodes by name or id."""
    with opened(settings_for(store), existing=True) as st:
        found = st.search(text, parse_kinds(kind), limit, parse_time(as_of))
        if fmt is Format.json:
            print_json([n.to_dict() for n in found])
            return
        table = Table()
        for col in ("id", "kind", "owners", "recorded"):
            table.add_column(col, overflow="fold")
        for n in found:
            table.add_row(n.id, n.kind.value, ", ".join(n.owners), n.recorded_at.isoformat(timespec="seconds"))
        print_table(out(), table)
        if not found:
            raise typer.Exit(0)
