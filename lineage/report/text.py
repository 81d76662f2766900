"""Terminal rendering of impact and provenance reports (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from lineage.analysis import LineageReport
from lineage.report.tables import print_table
from lineage.storage.base import Direction

KIND_COLOURS = {
    "Deployment": "bold red",
    "Model": "magenta",
    "Feature": "cyan",
    "Dataset": "green",
    "Run": "yellow",
    "CodeCommit": "blue",
}


def render(report: LineageReport, console: Console, *, max_rows: int = 200) -> None:
    impact = report.direction is Direction.DOWNSTREAM
    title = "Impact" if impact else "Provenance (bill of materials)"
    when = report.as_of.isoformat() if report.as_of else "now"
    summary = Text()
    summary.append(f"{title} of ", style="bold")
    summary.append(report.root.id, style=KIND_COLOURS.get(report.root.kind.value, ""))
    summary.append(f"\nas of {when}; {len(report.nodes)} nodes reached")
    if report.max_depth:
        summary.append(f" within depth {report.max_depth}")
    counts = ", ".join(f"{n} {k}" for k, n in report.counts().items())
    if counts:
        summary.append(f": {counts}")
    prod = report.production_deployments()
    if impact:
        if prod:
            summary.append(f"\n{len(prod)} PRODUCTION deployment(s) affected: ", style="bold red")
            summary.append(", ".join(p.node.id for p in prod), style="red")
        else:
            summary.append("\nno production deployment is affected", style="green")
    if report.truncated:
        summary.append("\nresult truncated at the node limit", style="bold yellow")
    console.print(Rule(style="dim"))
    console.print(summary)
    console.print(Rule(style="dim"))
    shown = 0
    for kind, members in report.groups():
        console.print(Text(f"\n{kind.value} ({len(members)})", style=KIND_COLOURS.get(kind.value, "bold")))
        for n in members:
            if shown >= max_rows:
                break
            shown += 1
            line = Text("  ")
            line.append(n.node.id, style="bold")
            if n.production:
                line.append("  PRODUCTION", style="bold red")
            line.append(f"  distance {n.distance}", style="dim")
            if n.node.owners:
                line.append(f"  owners: {', '.join(n.node.owners)}")
            console.print(line)
            console.print(Text(f"    via {_path(n.path[1:-1], n.via)}", style="dim"))
    if shown < len(report.nodes):
        console.print(f"... {len(report.nodes) - shown} more rows; use --format json for all of them")
    owners = report.owners()
    if owners and impact:
        table = Table(title="Owners to notify", title_justify="left")
        table.add_column("owner")
        table.add_column("affected", justify="right")
        table.add_column("production", justify="right")
        table.add_column("examples", overflow="fold")
        prod_ids = {p.node.id for p in prod}
        for owner, ids in owners.items():
            table.add_row(owner, str(len(ids)), str(len(set(ids) & prod_ids)), ", ".join(ids[:3]))
        print_table(console, table)


def _path(between: list[str], via: list[str]) -> str:
    """The hops of a path without its two ends, which the line already shows."""
    parts = []
    for edge, node in zip(via, [*between, ""], strict=True):
        parts.append(f"-{edge}->" + (f" {node}" if node else ""))
    return " ".join(parts) if between else f"-{via[0]}-> (direct)"
