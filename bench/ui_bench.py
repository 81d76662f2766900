"""Web UI timings in a real browser (Debian's chromium through Selenium) against a real `lineage serve`.

What a person waits for, measured in the page with the Performance API:

- **first paint**: ``first-contentful-paint`` of ``/`` and the moment the start view has its data
  (``lineage:view-ready``), cold (first load) and warm (assets cached);
- **explorer**: from opening ``#/explore/<id>`` to the laid-out graph (``lineage:explorer``);
- **expand**: a click on a node of the explorer until the graph is laid out again
  (``lineage:expand``), and opening a collapsed group ("+ 480 runs") of a large neighbourhood.

The demo store is built on the fly; ``--big N`` also generates a synthetic platform of N nodes
(``bench/generate.py``) and measures a hub whose neighbourhood has several hundred nodes. Prints
median and p95 per figure with the load average; asserts nothing.

    python bench/ui_bench.py --repeat 7 --big 30000
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]
MARK = "performance.getEntriesByName('%s')[0].startTime"
DEMO_CENTRE = "dataset:raw/payments.transactions@2026-11-03"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(store: str, log: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    with log.open("w") as out:
        proc = subprocess.Popen([*CLI, "serve", "--store", store, "--port", str(port), "--log-level", "warning"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def browser(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1400,900",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)


def wait(driver: Any, script: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"{script}\npage: {driver.find_element('tag name', 'body').text[:800]}")


def last(driver: Any, name: str) -> float:
    return float(driver.execute_script(f"return performance.getEntriesByName('{name}').slice(-1)[0].duration"))


def open_explorer(driver: Any, base: str, node: str, depth: int, group: str = "kind") -> tuple[float, int]:
    driver.get(f"{base}/")  # a fresh page each time, so every figure starts from the same state
    wait(driver, "return document.body.dataset.ready")
    driver.execute_script("location.hash = arguments[0]", f"#/explore/{node}?depth={depth}&group={group}")
    wait(driver, "const s = document.getElementById('explorer-stats'); return s && s.textContent.includes('drawn in')",
         120)
    count = int(driver.execute_script("return window.lineageExplorer.cy.nodes().length"))
    return last(driver, "lineage:explorer"), count


def tap(driver: Any, node: str) -> tuple[float, int]:
    """Click (tap) a node in the explorer and wait for the graph to be laid out again."""
    before = driver.execute_script("return performance.getEntriesByName('lineage:expand').length")
    driver.execute_script("window.lineageExplorer.cy.getElementById(arguments[0]).emit('tap')", node)
    wait(driver, f"return performance.getEntriesByName('lineage:expand').length > {before}", 120)
    return last(driver, "lineage:expand"), int(driver.execute_script("return window.lineageExplorer.cy.nodes().length"))


def summary(name: str, values: list[float], extra: str = "") -> None:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    print(f"{name:<58} median {statistics.median(values):7.0f} ms   p95 {p95:7.0f} ms   n={len(values)}  {extra}")


def bench_demo(base: str, profile: Path, repeat: int) -> None:
    driver = browser(profile)
    try:
        fcp, ready = [], []
        for i in range(repeat):
            driver.get(base + "/")
            wait(driver, "return document.body.dataset.ready")
            wait(driver, "return document.querySelectorAll('#search-results li').length > 0")
            wait(driver, "return performance.getEntriesByName('first-contentful-paint').length")
            fcp.append(driver.execute_script(f"return {MARK % 'first-contentful-paint'}"))
            ready.append(driver.execute_script(f"return {MARK % 'lineage:view-ready'}"))
            if i == 0:
                print(f"{'start page, cold: first contentful paint':<58} {fcp[0]:7.0f} ms; data {ready[0]:.0f} ms")
        summary("start page, warm: first contentful paint", fcp[1:] or fcp)
        summary("start page, warm: data shown (view-ready)", ready[1:] or ready)
        draws, expands, sizes = [], [], []
        for _ in range(repeat):
            took, count = open_explorer(driver, base, DEMO_CENTRE, 3)
            draws.append(took)
            frontier = driver.execute_script("""const e = window.lineageExplorer;
                return e.cy.nodes('.expandable').filter(n => e.side.get(n.id()) === 'down' && !e.expanded.has(n.id()))
                    .map(n => n.id()).slice(0, 4)""")
            for node in frontier:
                took, after = tap(driver, node)
                expands.append(took)
                sizes.append(after)
        summary("demo explorer (depth 3): open to laid out", draws, f"{count} nodes")
        summary("demo explorer: expand a node on click", expands, f"graph of {min(sizes)}-{max(sizes)} nodes")
    finally:
        driver.quit()


def bench_big(base: str, profile: Path, repeat: int) -> None:
    hubs = ["dataset:warehouse/clickstream.hub1@2026-01-30", "dataset:labels/crm.labels@v3"]
    driver = browser(profile)
    try:
        for hub, group in [(h, "kind") for h in hubs] + [(hubs[0], "namespace")]:
            draws, opens, sizes = [], [], []
            for _ in range(repeat):
                took, count = open_explorer(driver, base, hub, 1, group)
                draws.append(took)
                biggest = driver.execute_script("""const g = window.lineageExplorer.cy.nodes('.group')
                    .sort((a, b) => window.lineageExplorer.groups.get(b.id()).items.length
                                  - window.lineageExplorer.groups.get(a.id()).items.length)[0];
                    return g ? [g.id(), window.lineageExplorer.groups.get(g.id()).items.length] : null""")
                if biggest:
                    took, after = tap(driver, biggest[0])
                    opens.append(took)
                    sizes.append(after)
            summary(f"explorer on {hub.split('/')[-1]} (depth 1, by {group})", draws, f"{count} boxes after collapsing")
            if opens:
                summary("  open its largest group (+N members)", opens, f"graph of {max(sizes)} nodes")
        root = "dataset:raw/payments.tickets@2026-01-28"  # ~10,000 downstream in --big 30000 (seed 7)
        known = httpx.post(base + "/graphql", json={"query": "query($id: ID!) { node(id: $id) { id } }",
                                                    "variables": {"id": root}}).json()
        shown = []
        for _ in range(repeat if (known.get("data") or {}).get("node") else 0):
            driver.get(f"{base}/")
            wait(driver, "return document.body.dataset.ready")
            before = driver.execute_script("return document.body.dataset.ready")
            started = time.perf_counter()
            driver.execute_script("location.hash = arguments[0]", f"#/impact/{root}")
            done = f"return document.body.dataset.ready !== '{before}' && !!document.getElementById('prod-banner')"
            wait(driver, done, 120)
            shown.append((time.perf_counter() - started) * 1000)
        if shown:
            total = driver.execute_script("return document.querySelector('.summary strong').textContent")
            summary("impact view of a 10k-node impact (first page, banner)", shown, f"{total} nodes reached")
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big", type=int, default=0, help="also generate a synthetic platform of this many nodes")
    parser.add_argument("--big-store", help="reuse a store generated before (sqlite URL)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        demo = f"sqlite:///{root / 'demo.db'}"
        subprocess.run([*CLI, "demo", "--store", demo], check=True, capture_output=True)
        with served(demo, root / "demo.log") as base:
            bench_demo(base, root / "p1", args.repeat)
        big = args.big_store
        if args.big and not big:
            from bench.generate import LineageGraph
            from lineage.storage import open_store

            big = f"sqlite:///{root / 'big.db'}"
            store = open_store(big)
            for batch in LineageGraph(args.big, seed=7).batches():
                store.register(batch, principal="generator")
            store.close()
        if big:
            with served(big, root / "big.log") as base:
                bench_big(base, root / "p2", args.repeat)
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
