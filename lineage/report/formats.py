"""One entry point for every file format of impact and provenance reports."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from lineage.report.data import Report
from lineage.report.html import render_html
from lineage.report.markdown import render_markdown
from lineage.report.prov import render_prov_json
from lineage.report.tabular import render_csv, render_json


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"
    csv = "csv"
    prov_json = "prov-json"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self]


MEDIA_TYPES = {
    ReportFormat.md: "text/markdown; charset=utf-8",
    ReportFormat.html: "text/html; charset=utf-8",
    ReportFormat.json: "application/json",
    ReportFormat.csv: "text/csv; charset=utf-8",
    ReportFormat.prov_json: "application/json",
}

RENDERERS: dict[ReportFormat, Callable[[Report], str]] = {
    ReportFormat.md: render_markdown,
    ReportFormat.html: render_html,
    ReportFormat.json: render_json,
    ReportFormat.csv: render_csv,
    ReportFormat.prov_json: render_prov_json,
}


def render(report: Report, fmt: ReportFormat | str) -> str:
    """The report as text in the format (``md``, ``html``, ``json``, ``csv``, ``prov-json``)."""
    return RENDERERS[ReportFormat(fmt)](report)
