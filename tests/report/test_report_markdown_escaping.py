"""The Markdown report is posted as a pull-request comment and rendered by a forge: no user-controlled
string (owners, contacts, ids, classifications) may turn into HTML, links, emphasis, a broken code
span, a new table cell or the end of the Mermaid block."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from lineage.governance.classifications import classify
from lineage.model import parse_batch
from lineage.report.data import build_report
from lineage.report.formats import render
from lineage.report.markdown import _code, _text
from lineage.storage import Direction, GraphStore

HOSTILE_OWNER = "<script>alert(1)</script>"
TICK_NAME = "orders`x`"
LINKY = "[click](https://evil.example/x) **bold** | cell"

_md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def _seed(store: GraphStore) -> str:
    store.register(
        parse_batch(
            {
                "nodes": [
                    {"kind": "Dataset", "namespace": "raw", "name": TICK_NAME, "version": "1",
                     "owners": [LINKY]},
                    {"kind": "Dataset", "namespace": "raw", "name": "clean|`y", "version": "1",
                     "owners": [HOSTILE_OWNER, "<img src=x onerror=alert(2)>", LINKY]},
                ],
                "edges": [
                    {"from": f"dataset:raw/{TICK_NAME}@1", "type": "FEEDS", "to": "dataset:raw/clean|`y@1"},
                ],
            }
        ),
        principal="alice",
    )
    classify(store, f"dataset:raw/{TICK_NAME}@1", ["pii"], principal="<i>mallory</i>")
    return f"dataset:raw/{TICK_NAME}@1"


def test_owners_ids_and_classifications_render_inert(store: GraphStore) -> None:
    root = _seed(store)
    text = render(build_report(store, root, Direction.DOWNSTREAM), "md")
    html = _md.render(text)
    # no element the report did not write itself
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html))
    assert tags <= {"h2", "h3", "p", "strong", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
                    "details", "summary", "b", "sub", "ul", "li", "em", "del", "blockquote"}, tags
    assert "<script" not in html and "onerror" not in html.replace("onerror=alert(2)&gt;", "")
    assert "<a " not in html
    # the owner is shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # ids with backticks stay whole inside one code span
    assert f"<code>{root}</code>" in html
    assert "<code>dataset:raw/clean|`y@1</code>" in html
    # the Mermaid block is one block, closed where the report closes it
    assert html.count('<pre><code class="language-mermaid">') == 1


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_text_renders_as_itself(value: str) -> None:
    html = _md.render(f"| a |\n|---|\n| {_text(value)} |\n")
    assert "<a " not in html and "<em>" not in html and "<strong>" not in html
    assert not re.search(r"<(?!/?(table|thead|tbody|tr|th|td|p)\b)[a-zA-Z/]", html), html
    assert html.count("<td") <= 1


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30))
def test_any_text_stays_one_code_span(value: str) -> None:
    html = _md.render(f"x {_code(value)} y\n")
    assert html.count("<code>") == 1, html
