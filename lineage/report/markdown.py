"""Markdown for a pull-request comment: summary, Mermaid diagram, owners, tables by kind.

GitHub renders the ```mermaid block as a diagram. Large subgraphs are collapsed and capped (see
:mod:`lineage.report.drawing`) with a note under the diagram, and tables are capped per kind. The
whole comment always fits ``max_chars`` (65,536 by default, GitHub's limit for a pull-request
comment): when the full rendering is longer, it is rendered again with fewer rows, paths and boxes,
summarising and pointing at the JSON and CSV formats, which list everything.
"""

from __future__ import annotations

import re

from lineage.model import NodeKind
from lineage.report.data import Report
from lineage.report.drawing import Box, diagram
from lineage.report.svg import PALETTE, PROD, ROOT

MERMAID_BOXES = 40
ROWS_PER_KIND = 50
#: GitHub refuses pull-request comments longer than this many characters.
MAX_CHARS = 65_536
#: Production deployments named in the summary line; the table lists more.
BANNER_NAMES = 5
#: (diagram boxes, rows per kind, production rows, owner rows) tried in turn until the text fits.
TIERS = ((MERMAID_BOXES, ROWS_PER_KIND, 200, 100), (MERMAID_BOXES, 20, 50, 30), (30, 10, 20, 15), (20, 5, 10, 10),
         (12, 0, 5, 5), (0, 0, 0, 0))


_MD_PUNCT = frozenset("\\`*_{}[]()#!|~")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _text(text: str) -> str:
    """User text as inert Markdown: no HTML, no emphasis, links, headings or table breaks."""
    out = []
    for ch in " ".join(text.splitlines()):
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch in _MD_PUNCT:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _cell(text: str) -> str:
    """A table cell: pipes escaped (GitHub splits cells on them even inside code spans)."""
    return " ".join(text.splitlines()).replace("|", "\\|")


def _code(text: str) -> str:
    """A code span that holds any text, backticks included (the fence is longer than any run inside)."""
    text = " ".join(text.splitlines())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _label(text: str) -> str:
    """Text inside a Mermaid quoted label: quotes and angle brackets as entities."""
    text = " ".join(text.splitlines())
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
        .replace("`", "#96;")
    )


def mermaid(report: Report, max_boxes: int = MERMAID_BOXES) -> tuple[str, list[str]]:
    """A Mermaid flowchart (left to right) of the report's subgraph and the notes on what it omits."""
    d = diagram(report, max_boxes=max_boxes)
    ids = {key: f"n{i}" for i, key in enumerate(sorted(d.boxes))}
    lines = ["flowchart LR"]
    for key in sorted(d.boxes):
        box: Box = d.boxes[key]
        text = f"{_label(box.title)}<br/>{_label(box.subtitle)}"
        if box.production:
            text = "PROD · " + text
        lines.append(f'  {ids[key]}["{text}"]')
    for a, b, _t in d.links:
        lines.append(f"  {ids[a]} --> {ids[b]}")
    for kind in NodeKind:
        members = [ids[k] for k, b in sorted(d.boxes.items()) if b.kind is kind]
        if members:
            accent, fill = PALETTE[kind]
            lines.append(f"  classDef {kind.value.lower()} fill:{fill},stroke:{accent},color:#1b1f24")
            lines.append(f"  class {','.join(members)} {kind.value.lower()}")
    prod = [ids[k] for k, b in sorted(d.boxes.items()) if b.production]
    if prod:
        lines.append(f"  classDef production stroke:{PROD},stroke-width:3px")
        lines.append(f"  class {','.join(prod)} production")
    root = [ids[k] for k, b in d.boxes.items() if b.root and not b.production]
    if root:
        lines.append(f"  classDef start stroke:{ROOT},stroke-width:3px")
        lines.append(f"  class {','.join(root)} start")
    return "\n".join(lines), d.notes


def render_markdown(
    report: Report,
    *,
    max_boxes: int = MERMAID_BOXES,
    rows_per_kind: int = ROWS_PER_KIND,
    max_chars: int | None = MAX_CHARS,
) -> str:
    """The Markdown report, at most ``max_chars`` characters (None: no limit)."""
    tiers = [(max_boxes, rows_per_kind, *TIERS[0][2:]), *(t for t in TIERS[1:] if t[0] <= max_boxes)]
    for boxes, rows, prod_rows, owner_rows in tiers:
        text = _render(report, max_boxes=boxes, rows_per_kind=rows, prod_rows=prod_rows, owner_rows=owner_rows,
                       shortened=tiers.index((boxes, rows, prod_rows, owner_rows)) > 0)
        if max_chars is None or len(text) <= max_chars:
            return text
    assert max_chars is not None
    cut = f"\n\n_Cut at {max_chars} characters; `--format json` or `csv` has everything._\n"
    return text[: max(0, max_chars - len(cut))] + cut[: max_chars]


def _render(
    report: Report, *, max_boxes: int, rows_per_kind: int, prod_rows: int, owner_rows: int, shortened: bool
) -> str:
    lin = report.lineage
    out: list[str] = [f"## {'Impact' if report.impact else 'Provenance'} of {_code(report.root.id)}", ""]
    out.append(
        f"As of **{report.as_of}** · audit head #{report.state.head_seq} `{report.state.head_hash[:16]}` · "
        f"graph digest `{report.digest}`"
    )
    out.append("")
    counts = ", ".join(f"{len(m)} {k.value}" for k, m in report.groups())
    out.append(f"**{len(lin.nodes)} nodes reached**" + (f": {counts}" if counts else "") + ".")
    prod = sorted(lin.production_deployments(), key=lambda p: (p.distance, p.node.id))
    if report.impact:
        out.append("")
        if prod:
            named = ", ".join(_code(p.node.id) for p in prod[:BANNER_NAMES])
            more = f" and {len(prod) - BANNER_NAMES} more (listed below)" if len(prod) > BANNER_NAMES else ""
            out.append(f"> [!WARNING]\n> **{len(prod)} production deployment(s) affected:** {named}{more}")
        else:
            out.append("No production deployment is affected.")
    if lin.truncated:
        out += ["", "> [!CAUTION]\n> The traversal stopped at the node limit: the result is incomplete."]
    if shortened:
        out += ["", f"_Summarised to fit a pull-request comment: {_code(report.command('json'))} or `--format csv` "
                "lists every node and path._"]

    cls = report.classifications
    if cls.effective or cls.removed:
        out += ["", f"### Classifications of {_code(report.root.id)}", ""]
        for e in cls.effective:
            line = f"- **{_text(e.classification)}**: {_text(e.origin.text())}"
            if not e.direct:
                line += f"; arrived via {' → '.join(_code(p) for p in e.path)}"
            out.append(line)
        for rm in cls.removed:
            out.append(
                f"- ~~{_text(rm.classification)}~~ removed at {_code(rm.removed_at)} "
                f"(removes {_text(', '.join(rm.removes))})"
            )

    if prod and report.impact and prod_rows:
        out += ["", f"### Production deployments ({len(prod)})", ""]
        out.append("| deployment | distance | owners |")
        out.append("|---|---:|---|")
        for p in prod[:prod_rows]:
            out.append(f"| {_cell(_code(p.node.id))} | {p.distance} | {_text(', '.join(p.node.owners) or '-')} |")
        if len(prod) > prod_rows:
            out.append(f"\n_{len(prod) - prod_rows} more; `--format csv` lists every deployment._")

    if report.notify and owner_rows:
        out += ["", "### Owners to notify" if report.impact else "### Owners", ""]
        out.append("| owner | contact | nodes | production | examples |")
        out.append("|---|---|---:|---:|---|")
        for n in report.notify[:owner_rows]:
            more = f" +{len(n.nodes) - 3}" if len(n.nodes) > 3 else ""
            examples = ", ".join(_code(i) for i in n.nodes[:3]) + more
            out.append(
                f"| {_text(n.owner.name)} | {_text(n.owner.contact or '-')} | {len(n.nodes)} | "
                f"{len(n.production)} | {_cell(examples)} |"
            )
        if len(report.notify) > owner_rows:
            out.append(f"\n_{len(report.notify) - owner_rows} more owners; `--format json` lists them all._")

    if max_boxes:
        chart, notes = mermaid(report, max_boxes=max_boxes)
        out += ["", "### Diagram", "", "```mermaid", chart, "```"]
        for note in notes:
            out.append(f"_{note}_")

    if rows_per_kind:
        out += ["", "### Reached nodes by kind"]
        for kind, members in report.groups():
            out += ["", f"<details{' open' if kind is NodeKind.DEPLOYMENT else ''}>",
                    f"<summary><b>{kind.value}</b> ({len(members)})</summary>", ""]
            out.append("| node | distance | owners | via |")
            out.append("|---|---:|---|---|")
            for r in members[:rows_per_kind]:
                prod_mark = " **PROD**" if r.production else ""
                via = _cell(_code(r.path[-2])) if len(r.path) > 1 else ""
                out.append(
                    f"| {_cell(_code(r.node.id))}{prod_mark} | {r.distance} | "
                    f"{_text(', '.join(r.node.owners) or '-')} | {r.via[-1] if r.via else ''} from {via} |"
                )
            if len(members) > rows_per_kind:
                out.append(f"\n_{len(members) - rows_per_kind} more; `--format csv` lists every node._")
            out += ["", "</details>"]

    if prod and report.impact and prod_rows:
        out += ["", "<details>", "<summary>Explanation paths to production deployments</summary>", ""]
        for p in prod[:prod_rows]:
            out.append(f"- {' → '.join(_code(x) for x in p.path)}")
        if len(prod) > prod_rows:
            out.append(f"\n_{len(prod) - prod_rows} more paths; `--format json` has one per node._")
        out += ["", "</details>"]
    out += ["", f"<sub>Reproduce: {_code(report.command('md'))}</sub>", ""]
    return "\n".join(out)
