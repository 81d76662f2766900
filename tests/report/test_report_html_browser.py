"""The HTML report in a real headless browser: it renders, the drawing and legend are there.

Screenshots go to ``test-output/`` at the repository root (kept out of git). Needs Debian's
``chromium`` package; CI installs it (``.ci/run``), elsewhere the test skips when it is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

from lineage.demo import CORRUPTED, build_demo_batch
from lineage.governance.classifications import classify
from lineage.report.data import build_report
from lineage.report.html import render_html
from lineage.storage import Direction, GraphStore

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI needs Debian's chromium package for the HTML report test (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _run(args: list[str]) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _png_size_and_ink(path: Path) -> tuple[int, int, float]:
    """Width, height and the share of non-white bytes of the decoded image data."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat = b""
    pos = 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    ink = sum(1 for b in raw[:: max(1, len(raw) // 200_000)] if b < 200)
    return width, height, ink / max(1, len(raw[:: max(1, len(raw) // 200_000)]))


@pytest.fixture
def demo(sqlite_store: GraphStore) -> GraphStore:
    sqlite_store.register(build_demo_batch(), principal="demo")
    classify(sqlite_store, "dataset:raw/crm.customers@2026-11-03", ["pii.email"], column="email", principal="alice")
    return sqlite_store


@pytest.mark.parametrize(
    ("name", "node", "direction"),
    [
        ("impact-report", CORRUPTED, Direction.DOWNSTREAM),
        ("provenance-report", "deployment:prod/churn-api", Direction.UPSTREAM),
    ],
)
def test_html_report_renders_in_chromium(demo: GraphStore, name: str, node: str, direction: Direction) -> None:
    html = render_html(build_report(demo, node, direction))
    assert "<script" not in html and "<link" not in html and not re.search(r"(src|href)=\"https?:", html)
    OUTPUT.mkdir(exist_ok=True)
    page = OUTPUT / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    url = page.as_uri()

    dom = _run(["--dump-dom", "--virtual-time-budget=2000", url])
    assert re.search(r'<svg[^>]*id="lineage-graph"', dom)
    assert 'id="legend"' in dom and ">production deployment<" in dom
    assert dom.count('class="node') >= 10
    assert node in dom

    shot = OUTPUT / f"{name}.png"
    shot.unlink(missing_ok=True)
    _run([f"--screenshot={shot}", "--window-size=1800,1500", url])
    width, height, ink = _png_size_and_ink(shot)
    assert (width, height) == (1800, 1500)
    assert ink > 0.01, "the screenshot is blank"
