"""Report files over HTTP: ``GET /reports/impact/{id}.{fmt}`` and ``/reports/provenance/{id}.{fmt}``.

Formats: ``md``, ``html``, ``json``, ``csv`` and, for provenance, ``prov-json``; ``?asOf=`` pins the
time (ISO 8601), ``?depth=`` limits the hops, ``?maxChars=`` caps Markdown (default 65,536). The
bytes are those of ``lineage impact|provenance --format FMT``: the same as-of time gives the same
file. Reading needs the same access as GraphQL reads; errors are the coded JSON bodies of the rest
of the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from lineage.api.auth import get_context
from lineage.errors import BadInputError, NotFoundError
from lineage.model.batch import as_utc
from lineage.report.data import build_report
from lineage.report.formats import ReportFormat, render
from lineage.report.markdown import MAX_CHARS, render_markdown
from lineage.storage import Direction

_SUFFIXES = sorted((f.value for f in ReportFormat), key=len, reverse=True)


def split_target(path: str) -> tuple[str, ReportFormat]:
    """``dataset:raw/x@v1.html`` -> (``dataset:raw/x@v1``, html); BadInputError without a known suffix."""
    for suffix in _SUFFIXES:
        if path.endswith("." + suffix) and len(path) > len(suffix) + 1:
            return path[: -len(suffix) - 1], ReportFormat(suffix)
    raise BadInputError(f"end the path with the report format: .{', .'.join(_SUFFIXES)}")


def build_reports_router() -> APIRouter:
    router = APIRouter(prefix="/reports", tags=["reports"])

    @router.get("/{question}/{target:path}")
    async def report(
        request: Request,
        question: str,
        target: str,
        as_of: Annotated[datetime | None, Query(alias="asOf")] = None,
        depth: Annotated[int | None, Query(ge=1)] = None,
        max_chars: Annotated[int, Query(alias="maxChars", ge=200)] = MAX_CHARS,
    ) -> Response:
        if question not in ("impact", "provenance"):
            raise NotFoundError(f"no report {question!r}: use /reports/impact/... or /reports/provenance/...")
        node_id, fmt = split_target(target)
        direction = Direction.DOWNSTREAM if question == "impact" else Direction.UPSTREAM
        if fmt is ReportFormat.prov_json and direction is Direction.DOWNSTREAM:
            raise BadInputError("prov-json describes provenance; use /reports/provenance/{id}.prov-json")
        ctx = await get_context(request)
        ctx.reader()
        settings = ctx.services.settings
        built = await ctx.traverse(
            build_report,
            ctx.store,
            node_id,
            direction,
            as_of=as_utc(as_of),
            max_depth=depth,
            depth_limit=settings.max_depth,
            max_nodes=settings.max_nodes,
            budget=ctx.work,
        )
        ctx.spend(len(built.lineage.nodes))
        body = render_markdown(built, max_chars=max_chars) if fmt is ReportFormat.md else render(built, fmt)
        headers = {"X-Lineage-As-Of": built.as_of, "X-Lineage-Digest": built.digest}
        return Response(body, media_type=fmt.media_type, headers=headers)

    return router
