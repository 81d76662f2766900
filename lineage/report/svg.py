"""An inline SVG drawing of a report's subgraph: layered left to right, coloured by kind.

Production deployments have a red outline and a PROD badge; the start node a dark outline and a
START badge; edges on the explaining paths to production deployments are drawn in red. Every box has
a tooltip listing the node ids it stands for. A legend sits above the drawing. No scripts, no fonts
from the network: the SVG renders the same anywhere.
"""

from __future__ import annotations

from html import escape
from itertools import pairwise

from lineage.model import NodeKind
from lineage.report.data import Report
from lineage.report.drawing import Diagram, diagram
from lineage.report.layout import Layout, Point, layout

#: kind -> (accent, fill)
PALETTE: dict[NodeKind, tuple[str, str]] = {
    NodeKind.DATASET: ("#3b6ea8", "#e3edf8"),
    NodeKind.FEATURE: ("#3f8f4a", "#e2f2e4"),
    NodeKind.CODE_COMMIT: ("#7a5c45", "#f1e8e1"),
    NodeKind.RUN: ("#c7781a", "#fcefdc"),
    NodeKind.MODEL: ("#8a4f9e", "#f1e4f5"),
    NodeKind.DEPLOYMENT: ("#1f8a87", "#dff3f2"),
}
PROD = "#d62728"
ROOT = "#1b1f24"
EDGE = "#98a2b3"
LEGEND_H = 44.0
FONT = "font-family=\"-apple-system,'Segoe UI',Helvetica,Arial,sans-serif\""


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _curve(points: list[Point]) -> str:
    (x0, y0) = points[0]
    out = [f"M{x0:.1f},{y0:.1f}"]
    for (ax, ay), (bx, by) in pairwise(points):
        if abs(by - ay) < 0.5 or bx - ax < 1:
            out.append(f"L{bx:.1f},{by:.1f}")
        else:
            dx = (bx - ax) / 2
            out.append(f"C{ax + dx:.1f},{ay:.1f} {bx - dx:.1f},{by:.1f} {bx:.1f},{by:.1f}")
    return " ".join(out)


def _backward(points: list[Point]) -> str:
    (ax, ay), (bx, by) = points[0], points[-1]
    bend = max(abs(ax - bx), 120.0)
    return f"M{ax:.1f},{ay:.1f} C{ax + bend:.1f},{ay - 60:.1f} {bx - bend:.1f},{by - 60:.1f} {bx:.1f},{by:.1f}"


def legend(kinds: list[NodeKind], *, width: float) -> str:
    """The legend row: one swatch per kind present, then the markers."""
    parts = [f'<g id="legend" class="legend" transform="translate(16,10)" {FONT} font-size="12">']
    x = 0.0
    for kind in kinds:
        accent, fill = PALETTE[kind]
        parts.append(
            f'<rect x="{x:.0f}" y="0" width="18" height="18" rx="4" fill="{fill}" stroke="{accent}" '
            f'stroke-width="2"/><text x="{x + 24:.0f}" y="13" fill="#333">{kind.value}</text>'
        )
        x += 34 + 7.2 * len(kind.value)
    parts.append(
        f'<rect x="{x:.0f}" y="0" width="18" height="18" rx="4" fill="#fff" stroke="{PROD}" stroke-width="3"/>'
        f'<text x="{x + 24:.0f}" y="13" fill="#333">production deployment</text>'
    )
    x += 190
    parts.append(
        f'<rect x="{x:.0f}" y="0" width="18" height="18" rx="4" fill="#fff" stroke="{ROOT}" stroke-width="3"/>'
        f'<text x="{x + 24:.0f}" y="13" fill="#333">start node</text>'
    )
    x += 110
    parts.append(
        f'<path d="M{x:.0f},9 L{x + 28:.0f},9" stroke="{PROD}" stroke-width="2.2" fill="none"/>'
        f'<text x="{x + 34:.0f}" y="13" fill="#333">path to production</text>'
    )
    x += 160
    parts.append(f'<text x="{x:.0f}" y="13" fill="#555">&#215;N: versions or runs drawn as one box</text>')
    parts.append("</g>")
    return "".join(parts)


def render_svg(report: Report, *, max_boxes: int = 60) -> tuple[str, list[str]]:
    """The SVG element (no XML prolog), sized to its content, and the notes on what it leaves out."""
    d: Diagram = diagram(report, max_boxes=max_boxes)
    # aggregated drawings get narrower columns, so a start and its production deployments fit in a window
    size = {"box_w": 176.0, "narrow_w": 136.0, "gap_x": 34.0} if d.collapsed else {}
    lay: Layout = layout(d, align_end=not report.impact, **size)
    width = max(lay.width, 900.0)
    height = lay.height + LEGEND_H
    box_of = {m: b.key for b in d.boxes.values() for m in b.members}
    hot: set[tuple[str, str]] = set()
    for reached in report.lineage.production_deployments():
        keys = [box_of[p] for p in reached.path if p in box_of]
        hot.update((a, b) for a, b in pairwise(keys) if a != b)
    kinds = sorted({b.kind for b in d.boxes.values()}, key=lambda k: list(PALETTE).index(k))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="lineage-graph" role="img" '
        f'aria-label="{escape(report.title)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">',
        "<defs>"
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/></marker>'
        f'<marker id="arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{PROD}"/></marker>'
        "</defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        legend(kinds, width=width),
        f'<g transform="translate(0,{LEGEND_H:.0f})">',
        '<g class="edges" fill="none">',
    ]
    for route in sorted(lay.routes, key=lambda r: ((r.source, r.target) in hot, r.source, r.target)):
        is_hot = (route.source, route.target) in hot
        path = _backward(route.points) if route.backward else _curve(route.points)
        colour, width_px, marker = (PROD, 2.2, "arrow-hot") if is_hot else (EDGE, 1.3, "arrow")
        dash = ' stroke-dasharray="5,4"' if route.backward else ""
        out.append(
            f'<path d="{path}" stroke="{colour}" stroke-width="{width_px}" stroke-opacity="0.85"'
            f'{dash} marker-end="url(#{marker})"><title>{escape(route.edge_type)}</title></path>'
        )
    out.append("</g>")
    out.append(f'<g class="nodes" {FONT}>')
    for key in sorted(lay.boxes):
        p = lay.boxes[key]
        box = d.boxes[key]
        accent, fill = PALETTE[box.kind]
        stroke, stroke_w = accent, 1.2
        if box.production:
            stroke, stroke_w = PROD, 3.0
        elif box.root:
            stroke, stroke_w = ROOT, 3.0
        tip = "\n".join(box.members[:30]) + (f"\n… {len(box.members) - 30} more" if len(box.members) > 30 else "")
        classes = "node" + (" production" if box.production else "") + (" root" if box.root else "")
        out.append(
            f'<g class="{classes}" data-kind="{box.kind.value}"><title>{escape(box.kind.value)}: {escape(tip)}'
            f'</title><rect x="{p.x:.1f}" y="{p.y:.1f}" width="{p.w:.0f}" height="{p.h:.0f}" rx="7" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_w}"/>'
            f'<rect x="{p.x + 1:.1f}" y="{p.y + 6:.1f}" width="5" height="{p.h - 12:.0f}" rx="2" fill="{accent}"/>'
        )
        badge = "PROD" if box.production else ("START" if box.root else "")
        bw = 9 + 7 * len(badge)
        # the title has the whole width; the badge sits on the subtitle line
        title_limit = int((p.w - 20) / 6.9)
        sub_limit = int((p.w - 20 - (bw + 4 if badge else 0)) / 6.1)
        out.append(
            f'<text x="{p.x + 12:.1f}" y="{p.y + 21:.1f}" font-size="12.5" font-weight="600" fill="#1b1f24">'
            f"{escape(_fit(box.title, title_limit))}</text>"
            f'<text x="{p.x + 12:.1f}" y="{p.y + 39:.1f}" font-size="11" fill="#4a5260">'
            f"{escape(_fit(box.subtitle, sub_limit))}</text>"
        )
        if badge:
            colour = PROD if box.production else ROOT
            out.append(
                f'<rect x="{p.x + p.w - bw - 6:.1f}" y="{p.y + p.h - 22:.1f}" width="{bw}" height="16" rx="8" '
                f'fill="{colour}"/><text x="{p.x + p.w - bw / 2 - 6:.1f}" y="{p.y + p.h - 10:.1f}" font-size="10" '
                f'font-weight="700" fill="#fff" text-anchor="middle">{badge}</text>'
            )
        out.append("</g>")
    out.append("</g></g></svg>")
    return "".join(out), d.notes
