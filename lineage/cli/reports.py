"""Report output for ``lineage impact`` and ``lineage provenance``: every format, to stdout or a file."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console

from lineage.analysis import impact, provenance
from lineage.errors import ValidationError
from lineage.model import EdgeType, NodeKind
from lineage.report.data import build_report
from lineage.report.formats import ReportFormat, render
from lineage.report.markdown import MAX_CHARS, render_markdown
from lineage.report.text import render as render_text
from lineage.settings import Settings
from lineage.storage import Direction, GraphStore


class ReportFmt(StrEnum):
    text = "text"
    json = "json"
    md = "md"
    html = "html"
    csv = "csv"
    prov_json = "prov-json"


ReportFmtOpt = Annotated[
    ReportFmt,
    typer.Option("--format", "-f", help="text (terminal), json, md (pull requests), html, csv, prov-json (W3C PROV)."),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report to this file instead of stdout.", show_default=False),
]


MaxCharsOpt = Annotated[
    int,
    typer.Option(
        "--max-chars",
        min=200,
        help="md: the most characters the report may have (a GitHub pull-request comment takes 65,536); "
        "longer reports are summarised.",
    ),
]


def emit_report(
    st: GraphStore,
    settings: Settings,
    node_id: str,
    direction: Direction,
    *,
    fmt: ReportFmt,
    output: Path | None,
    depth: int | None,
    kinds: tuple[NodeKind, ...],
    as_of: datetime | None,
    edge_types: tuple[EdgeType, ...] = (),
    max_chars: int = MAX_CHARS,
) -> None:
    """Render the report in the format; file formats are pinned to an as-of time and carry a digest."""
    when = as_of
    if fmt is ReportFmt.prov_json and direction is Direction.DOWNSTREAM:
        raise ValidationError("--format prov-json describes provenance; use it with `lineage provenance`")
    if fmt is ReportFmt.text:
        question = impact if direction is Direction.DOWNSTREAM else provenance
        lineage = question(st, node_id, max_depth=depth, kinds=kinds, as_of=when,
                           depth_limit=settings.max_depth, max_nodes=settings.max_nodes, edge_types=edge_types)
        if output is None:
            render_text(lineage, Console(soft_wrap=True))
        else:
            with _open(output) as handle:
                render_text(lineage, Console(file=handle, soft_wrap=True, no_color=True, width=160))
        return
    report = build_report(st, node_id, direction, as_of=when, max_depth=depth, kinds=kinds,
                          depth_limit=settings.max_depth, max_nodes=settings.max_nodes, edge_types=edge_types)
    if fmt is ReportFmt.md:
        text = render_markdown(report, max_chars=max_chars)
    else:
        text = render(report, ReportFormat(fmt.value))
    if output is None:
        sys.stdout.write(text)
    else:
        with _open(output) as handle:
            handle.write(text)
        Console(stderr=True, soft_wrap=True).print(f"wrote {output} ({report.stamp()})", highlight=False)


def _open(path: Path) -> TextIO:
    try:
        return path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc}") from None
