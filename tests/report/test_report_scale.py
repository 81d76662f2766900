"""Reports on a 10,000-node impact stay readable: an aggregated drawing with edges and the paths to
production deployments, a short banner with the full list in a table, and Markdown that fits a
pull-request comment.

The graph is the benchmarks' synthetic ML platform (``bench/generate.py``); the start is a raw
dataset version whose downstream closure has about 10,000 nodes.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from lineage.report.data import Report, build_report
from lineage.report.drawing import FEATURED_PRODUCTION, diagram
from lineage.report.html import BANNER_NAMES, render_html
from lineage.report.markdown import MAX_CHARS, render_markdown
from lineage.storage import Direction, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.generate import LineageGraph, pick_starts

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    graph = LineageGraph(30_000, seed=7)
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('big') / 'big.db'}")
    try:
        for batch in graph.batches():
            store.register(batch, principal="generator")
        starts = pick_starts(graph, downstream=True, sizes=[10_000], per_size=3)[10_000]
        start = next(node for node, size in starts if node.startswith("dataset:") and size >= 9_000)
        yield build_report(store, start, Direction.DOWNSTREAM)
    finally:
        store.close()


def _prod(report: Report) -> list[str]:
    return [p.node.id for p in sorted(report.lineage.production_deployments(), key=lambda p: (p.distance, p.node.id))]


def test_the_drawing_aggregates_and_keeps_the_paths_to_production(big: Report) -> None:
    prod = _prod(big)
    assert len(big.lineage.nodes) >= 9_000 and len(prod) > FEATURED_PRODUCTION
    d = diagram(big, max_boxes=60)
    assert len(d.boxes) <= 60 and d.collapsed
    box_of = {m: b.key for b in d.boxes.values() for m in b.members}
    assert set(box_of) == set(big.records), "every node is in some box"
    links = {(a, b) for a, b, _ in d.links}
    for reached in sorted(big.lineage.production_deployments(), key=lambda p: (p.distance, p.node.id))[:5]:
        assert d.boxes[reached.node.id].production and d.boxes[reached.node.id].members == [reached.node.id]
        chain = [box_of[n] for n in reached.path]
        for a, b in pairwise(chain):
            assert a == b or (a, b) in links, f"the path to {reached.node.id} is drawn link by link"
    grouped_prod = [b for b in d.boxes.values() if b.production and len(b.members) > 1]
    assert sum(len(b.members) for b in grouped_prod) == len(prod) - FEATURED_PRODUCTION


def test_html_banner_table_and_drawing(big: Report) -> None:
    html = render_html(big)
    prod = _prod(big)
    banner = re.search(r'<p class="alert" id="banner">(.*?)</p>', html, re.S)
    assert banner is not None
    named = re.findall(r"<code>(deployment:[^<]+)</code>", banner.group(1))
    assert named == prod[:BANNER_NAMES] and f"{len(prod)} production deployment(s)" in banner.group(1)
    assert f"{len(prod) - BANNER_NAMES} more" in banner.group(1)
    table = html.split('<h2 id="production">', 1)[1].split("</table>", 1)[0]
    assert all(f"<code>{p}</code>" in table for p in prod)
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    edges = svg.split('<g class="edges"', 1)[1].split("</g>", 1)[0]
    assert edges.count("<path ") >= 20
    assert edges.count("arrow-hot") >= 5, "paths to production are drawn"
    assert svg.count('class="node production') >= FEATURED_PRODUCTION
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "impact-10k.html").write_text(html, encoding="utf-8")


def test_start_and_production_visible_at_1400_px(big: Report) -> None:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    OUTPUT.mkdir(exist_ok=True)
    page = OUTPUT / "impact-10k.html"
    page.write_text(render_html(big), encoding="utf-8")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--window-size=1400,1000",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        chrome.get(page.as_uri())
        rights = chrome.execute_script(
            "return [...document.querySelectorAll('#figure g.node.root, #figure g.node.production')]"
            ".map(g => g.getBoundingClientRect().right)"
        )
        width = chrome.execute_script("return document.documentElement.clientWidth")
        scroll = chrome.execute_script(
            "return document.getElementById('figure').scrollWidth - document.getElementById('figure').clientWidth"
        )
        chrome.save_screenshot(str(OUTPUT / "impact-10k.png"))
    finally:
        chrome.quit()
    assert len(rights) > FEATURED_PRODUCTION and max(rights) <= width
    assert scroll <= 1, "the drawing needs no horizontal scrolling"


def test_markdown_fits_a_pull_request_comment(big: Report) -> None:
    prod = _prod(big)
    full = render_markdown(big, max_chars=None)
    assert len(full) > MAX_CHARS, "the generated impact is big enough to need summarising"
    text = render_markdown(big)
    assert len(text) <= MAX_CHARS
    assert all(f"`{p}`" in text for p in prod[:5]) and f"{len(prod)} production deployment(s)" in text
    chart = text.split("```mermaid", 1)[1].split("```", 1)[0]
    assert 0 < len(re.findall(r'^\s+n\d+\["', chart, re.M)) <= 40 and "-->" in chart
    for limit in (200, 1_000, 5_000, 20_000):
        assert len(render_markdown(big, max_chars=limit)) <= limit
