"""A self-contained HTML report: summary, inline SVG drawing with legend, tables, explanation paths.

One file with inline CSS and SVG, no scripts and nothing fetched from the network, so it can be
attached to a ticket, archived with an audit, or opened offline. The content depends only on the
report (and therefore on the as-of time): re-rendering gives the same bytes.
"""

from __future__ import annotations

from html import escape

from lineage.analysis import ReachedNode
from lineage.report.data import Report
from lineage.report.svg import PALETTE, PROD, render_svg

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1f24;
       background: #f6f7f9; }
main { max-width: 1400px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; word-break: break-all; }
h2 { font-size: 17px; margin: 28px 0 10px; }
h3 { font-size: 15px; margin: 20px 0 8px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.stamp { color: #555; font-size: 12.5px; margin: 0 0 14px; word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 20px; }
.card span { color: #555; font-size: 12px; }
.alert { border-left: 5px solid #d62728; background: #fdecec; padding: 10px 14px; border-radius: 6px; }
.ok { border-left: 5px solid #2e8b57; background: #e8f5ee; padding: 10px 14px; border-radius: 6px; }
.figure { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; overflow: auto;
          width: calc(100vw - 48px); margin-left: calc(50% - 50vw + 24px); }
.figure svg { display: block; height: auto; }
.note { color: #555; font-size: 12.5px; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #dde1e7; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eceef2; vertical-align: top; }
th { background: #f0f2f5; font-size: 12.5px; }
td.path { font-size: 12px; color: #444; word-break: break-all; }
.kind { display: inline-block; width: 10px; height: 10px; border-radius: 3px; margin-right: 6px; }
.prod { color: #fff; background: #d62728; border-radius: 8px; padding: 0 7px; font-size: 11px; font-weight: 700; }
.arrow { color: #888; }
footer { margin-top: 32px; color: #666; font-size: 12px; }
"""


def _path(n: ReachedNode) -> str:
    parts = [f"<code>{escape(n.path[0])}</code>"]
    for edge, node in zip(n.via, n.path[1:], strict=True):
        parts.append(f'<span class="arrow"> -{escape(edge)}→ </span><code>{escape(node)}</code>')
    return "".join(parts)


#: Production deployments named in the banner; the table below the drawing lists them all.
BANNER_NAMES = 5


def render_html(report: Report, *, max_boxes: int = 60, max_rows: int = 1000) -> str:
    lin = report.lineage
    svg, notes = render_svg(report, max_boxes=max_boxes)
    prod = lin.production_deployments()
    h: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="stamp" id="stamp">As of <b>{escape(report.as_of)}</b> · audit head '
        f"#{report.state.head_seq} <code>{escape(report.state.head_hash[:16])}</code> · graph digest "
        f"<code>{escape(report.digest)}</code></p>",
        '<div class="cards">',
        f'<div class="card"><b>{len(lin.nodes)}</b><span>nodes reached</span></div>',
    ]
    for kind, members in report.groups():
        accent = PALETTE[kind][0]
        h.append(
            f'<div class="card"><b>{len(members)}</b><span><i class="kind" style="background:{accent}"></i>'
            f"{escape(kind.value)}</span></div>"
        )
    h.append("</div>")
    if report.impact:
        if prod:
            first = sorted(prod, key=lambda p: (p.distance, p.node.id))[:BANNER_NAMES]
            items = ", ".join(f"<code>{escape(p.node.id)}</code>" for p in first)
            more = (
                f' and <a href="#production">{len(prod) - len(first)} more</a>' if len(prod) > len(first) else ""
            )
            h.append(
                f'<p class="alert" id="banner"><b>{len(prod)} production deployment(s) affected:</b> {items}{more}'
                ' (<a href="#production">table below</a>)</p>'
            )
        else:
            h.append('<p class="ok">No production deployment is affected.</p>')
    elif prod or report.root.kind.value == "Deployment":
        h.append(f'<p class="note">{escape(report.root.id)} and its bill of materials, as recorded.</p>')
    if lin.truncated:
        h.append('<p class="alert">The traversal stopped at the node limit: the result is incomplete.</p>')

    h.append("<h2>Lineage graph</h2>")
    natural = float(svg.split('width="', 1)[1].split('"', 1)[0])
    # shrink to the window, but never below 65% of the natural size: past that, scroll instead;
    # an aggregated drawing (big reports) always fits the window, start to production deployments
    low = 0.0 if len(report.records) > max_boxes else natural * 0.65
    style = f"width: clamp({low:.0f}px, 100%, {natural:.0f}px)"
    svg = svg.replace("<svg ", f'<svg style="{style}" ', 1)
    h.append(f'<div class="figure" id="figure">{svg}</div>')
    for note in notes:
        h.append(f'<p class="note">{escape(note)}</p>')

    if prod and report.impact:
        h.append(f'<h2 id="production">Production deployments ({len(prod)})</h2>')
        h.append("<table><thead><tr><th>deployment</th><th>distance</th><th>owners</th>"
                 "<th>explanation path</th></tr></thead><tbody>")
        for p in sorted(prod, key=lambda p: (p.distance, p.node.id)):
            h.append(
                f"<tr><td><code>{escape(p.node.id)}</code></td><td>{p.distance}</td>"
                f"<td>{escape(', '.join(p.node.owners) or '-')}</td><td class=\"path\">{_path(p)}</td></tr>"
            )
        h.append("</tbody></table>")

    cls = report.classifications
    if cls.effective or cls.removed:
        h.append(f"<h2>Classifications of {escape(report.root.id)}</h2><ul>")
        for e in cls.effective:
            h.append(f"<li><b>{escape(e.classification)}</b>: {escape(e.origin.text())}")
            if not e.direct:
                h.append(f'<br><span class="mono">{escape(e.path_text())}</span>')
            h.append("</li>")
        for rm in cls.removed:
            h.append(f"<li><b>{escape(rm.classification)}</b> removed: {escape(rm.text())}</li>")
        h.append("</ul>")

    if report.notify:
        title = "Owners to notify" if report.impact else "Owners"
        h.append(f"<h2>{title}</h2><table><thead><tr><th>owner</th><th>contact</th><th>nodes</th>"
                 "<th>production</th><th>examples</th></tr></thead><tbody>")
        for n in report.notify:
            examples = ", ".join(f"<code>{escape(i)}</code>" for i in n.nodes[:3])
            more = f" … +{len(n.nodes) - 3}" if len(n.nodes) > 3 else ""
            h.append(
                f"<tr><td>{escape(n.owner.name)}</td><td>{escape(n.owner.contact or '-')}</td>"
                f"<td>{len(n.nodes)}</td><td>{len(n.production)}</td><td>{examples}{more}</td></tr>"
            )
        h.append("</tbody></table>")

    h.append("<h2>Reached nodes by kind</h2>")
    shown = 0
    for kind, members in report.groups():
        accent = PALETTE[kind][0]
        h.append(f'<h3 id="kind-{kind.value}"><i class="kind" style="background:{accent}"></i>'
                 f"{escape(kind.value)} ({len(members)})</h3>")
        h.append("<table><thead><tr><th>node</th><th>distance</th><th>owners</th>"
                 "<th>explanation path</th></tr></thead><tbody>")
        for r in members:
            if shown >= max_rows:
                break
            shown += 1
            badge = ' <span class="prod">PROD</span>' if r.production else ""
            h.append(
                f"<tr><td><code>{escape(r.node.id)}</code>{badge}</td><td>{r.distance}</td>"
                f"<td>{escape(', '.join(r.node.owners) or '-')}</td><td class=\"path\">{_path(r)}</td></tr>"
            )
        h.append("</tbody></table>")
    if shown < len(lin.nodes):
        h.append(f'<p class="note">{len(lin.nodes) - shown} more rows not shown; use --format csv or json.</p>')
    h.append(
        f"<footer>Reproduce: <code>{escape(report.command('html'))}</code>. The digest covers every reached "
        "node and edge and the audit head as of "
        f'that time; the same as-of time gives the same report. <span style="color:{PROD}">■</span> '
        "marks production.</footer>"
    )
    h.append("</main></body></html>\n")
    return "\n".join(h)
