"""The web UI in a real browser: Debian's chromium driven by Selenium against a real `lineage serve`.

One walk through the demo as a newcomer would take it: search -> node page -> lineage explorer ->
expand -> select a production deployment and see its path -> as-of change -> impact view ->
download -> audit -> governance -> offline GraphiQL. Each step leaves a screenshot in
``test-output/``; the test fails on any browser console error (CSP violations included) and on any
request to a host other than the server. Timings (first paint, explorer, expand) are written to
``test-output/ui-timings.json``; they are measured, not asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lineage.demo import CORRUPTED
from lineage.model.batch import Batch
from lineage.storage import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lineage_server import Served, run_cli, serve

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def extra_id_of() -> str:
    return f"dataset:scratch/{MARKUP}@1"


MARKUP = "<img/src=x/onerror=document.body.dataset.pwned=1>"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--window-size=1400,900",
]


def _binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI needs Debian's chromium and chromium-driver packages (see .ci/run)")
        pytest.skip("chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """The demo store, then (a second later) a dataset whose name is markup, served with GraphiQL on."""
    root = tmp_path_factory.mktemp("ui")
    store = f"sqlite:///{root / 'demo.db'}"
    done = run_cli("demo", "--store", store)
    assert done.returncode == 0, done.stderr
    time.sleep(1.2)
    between = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    time.sleep(1.2)
    columns = {
        "fields": {
            "amount_eur": {
                "inputFields": [
                    {
                        "namespace": "raw",
                        "name": "payments.transactions",
                        "field": "amount",
                        "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}],
                    }
                ]
            }
        }
    }
    node = {"kind": "Dataset", "namespace": "scratch", "name": MARKUP, "version": "1", "owners": ["<b>mallory</b>"]}
    st = open_store(store)
    try:
        for rows in (10, 12):  # registered twice with other properties: two revisions
            batch = {
                "nodes": [{**node, "properties": {"rows": rows, "column_lineage": columns}}],
                "edges": [{"from": CORRUPTED, "type": "FEEDS", "to": f"dataset:scratch/{MARKUP}@1"}],
            }
            st.register(Batch.model_validate(batch), principal="tester", source="cli")
    finally:
        st.close()
    with serve(store, root, options=("--graphiql",)) as server:
        yield server, between


class Browser:
    def __init__(self, driver: Any, base: str) -> None:
        self.driver = driver
        self.base = base
        self.shots: list[str] = []

    def wait(self, condition: Callable[[Any], Any], timeout: float = 20, what: str = "") -> Any:
        try:
            return WebDriverWait(self.driver, timeout).until(condition)
        except TimeoutException:
            self.shot("failed")
            raise AssertionError(f"timed out waiting for {what}; page says: {self.text()[:1500]}") from None

    def css(self, selector: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def ready(self, what: str) -> None:
        """Wait for the view the route names to have rendered (the app marks body[data-ready])."""
        before = self.js("return document.body.dataset.ready || ''")
        self.wait(lambda d: self.js("return document.body.dataset.ready || ''") not in ("", before), what=what)

    def go(self, route: str) -> None:
        before = self.js("return document.body.dataset.ready || ''")
        self.js("location.hash = arguments[0]", route)
        self.wait(lambda d: self.js("return document.body.dataset.ready || ''") != before, what=route)

    def shot(self, name: str) -> None:
        OUTPUT.mkdir(exist_ok=True)
        path = OUTPUT / f"ui-{len(self.shots) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.shots.append(path.name)

    def graph_click(self, node_id: str) -> None:
        """Zoom in on a node, as a user would, then a real mouse click on it in the Cytoscape canvas."""
        pos = self.js(
            """const cy = window.lineageExplorer.cy; const n = cy.getElementById(arguments[0]);
            cy.zoom(1.2); cy.center(n); return n.renderedPosition();""",
            node_id,
        )
        graph = self.css("#graph")
        rect = self.js("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", graph)
        ActionChains(self.driver).move_to_element_with_offset(
            graph, round(pos["x"] - rect[0] / 2), round(pos["y"] - rect[1] / 2)
        ).click().perform()


@pytest.fixture(scope="module")
def browser(served: tuple[Served, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary, chromedriver = _binaries()
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("profile")
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield Browser(driver, served[0].url)
    finally:
        driver.quit()


def _foreign_requests(driver: Any, base: str) -> list[str]:
    allowed = urlsplit(base).netloc
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        url = message["params"]["request"]["url"]
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about", "chrome", "devtools"):
            continue
        if parts.netloc != allowed:
            out.append(url)
    return out


def _console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_walk_through_the_demo(browser: Browser, served: tuple[Served, str]) -> None:
    server, between = served
    d = browser.driver
    timings: dict[str, Any] = {}
    problems: list[str] = []

    def check_logs(step: str) -> None:
        problems.extend(f"{step}: console: {m}" for m in _console_errors(d))
        problems.extend(f"{step}: request to another host: {u}" for u in _foreign_requests(d, server.url))

    # start page: deployments, production first
    d.get(server.url + "/")
    browser.wait(lambda _: browser.js("return document.body.dataset.ready"), what="the start page")
    browser.wait(
        lambda _: (
            "deployment:prod/churn-api"
            in browser.js("return [...document.querySelectorAll('#search-results a')].map(a => a.dataset.id).join(' ')")
        ),
        what="start list",
    )
    timings["first_contentful_paint_ms"] = browser.js(
        "const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : null"
    )
    timings["start_view_ready_ms"] = browser.js(
        "const m = performance.getEntriesByName('lineage:view-ready')[0]; return m ? m.startTime : null"
    )
    browser.shot("start")
    check_logs("start")

    # search as you type, keyboard to open
    box = browser.css("#search-input")
    box.send_keys("payments.transactions")
    browser.wait(
        lambda _: (
            CORRUPTED
            in browser.js("return [...document.querySelectorAll('#search-results a')].map(a => a.dataset.id).join(' ')")
        ),
        what="results",
    )
    browser.shot("search")
    ids = browser.js("return [...document.querySelectorAll('#search-results a')].map(a => a.dataset.id)")
    for _ in range(ids.index(CORRUPTED)):
        box.send_keys(Keys.ARROW_DOWN)
    before = browser.js("return document.body.dataset.ready")
    box.send_keys(Keys.ENTER)
    browser.wait(
        lambda _: (
            browser.js("return document.body.dataset.ready") != before
            and browser.js("return location.hash").startswith("#/node/")
        ),
        what="node page",
    )

    # node page: owners, neighbours, versions, audit history; markup shown as text
    body = browser.text()
    assert CORRUPTED in body and "Neighbours" in body and "History" in body
    assert MARKUP in body, "a node name with markup is shown as its text"
    assert not browser.js("return document.body.dataset.pwned"), "markup in a name must never run"
    assert browser.js("return document.querySelectorAll('main img').length") == 0
    browser.wait(
        lambda _: (
            browser.js("return !!document.querySelector('#older-version, #newer-version')")
            or "Versions" in browser.text()
        ),
        what="versions",
    )
    browser.shot("node-page")
    check_logs("node page")

    # a dataset with column lineage and two revisions
    browser.go(f"#/node/{extra_id_of()}")
    body = browser.text()
    assert "Column lineage" in body and "amount_eur" in body and "payments.transactions amount" in body
    assert "Revision history (2)" in body and "rows" in body
    assert MARKUP in body and "<b>mallory</b>" in body and not browser.js("return document.body.dataset.pwned")
    browser.shot("columns-and-revisions")
    browser.go(f"#/node/{CORRUPTED}")

    # explorer: drawn left to right from the node
    before = browser.js("return document.body.dataset.ready")
    browser.css("#open-explorer").click()
    browser.wait(lambda _: "drawn in" in browser.css("#explorer-stats").text, what="explorer")
    timings["explorer_draw_ms"] = browser.js(
        "return performance.getEntriesByName('lineage:explorer').slice(-1)[0].duration"
    )
    cy_nodes = browser.js("return window.lineageExplorer.cy.nodes().length")
    assert cy_nodes > 5
    centre_x = browser.js(f"return window.lineageExplorer.cy.getElementById({json.dumps(CORRUPTED)}).position().x")
    down_x = browser.js("""const e = window.lineageExplorer;
        const xs = e.cy.nodes().filter(n => e.side.get(n.id()) === 'down').map(n => n.position().x);
        return xs.length ? Math.min(...xs) : null""")
    assert down_x is not None and down_x > centre_x, "downstream nodes are drawn to the right of the centre"
    browser.shot("explorer")
    check_logs("explorer")

    # expand a downstream node by clicking it
    target = browser.js("""const e = window.lineageExplorer;
        const n = e.cy.nodes('.expandable').filter(n => e.side.get(n.id()) === 'down' && !e.expanded.has(n.id())
            && n.data('kind') === 'RUN')[0];
        return n ? n.id() : null""")
    assert target, "some downstream node can be expanded"
    before_count = cy_nodes
    browser.graph_click(target)
    browser.wait(lambda _: "last expand" in browser.css("#explorer-stats").text, what="expand")
    timings["expand_ms"] = browser.js("return performance.getEntriesByName('lineage:expand').slice(-1)[0].duration")
    assert browser.js("return window.lineageExplorer.cy.nodes().length") > before_count
    browser.shot("expanded")

    # deeper: the production deployments appear; select one and see the path that explains it
    browser.js("const s = document.getElementById('depth'); s.value = '8'; s.dispatchEvent(new Event('change'))")
    browser.wait(
        lambda _: (
            "depth=8" in browser.js("return location.hash")
            and "drawn in" in browser.css("#explorer-stats").text
            and browser.js("return !!window.lineageExplorer && window.lineageExplorer.cy.nodes('.prod').length > 0")
        ),
        what="production deployments in the graph",
    )
    browser.wait(lambda _: "drawn in" in browser.css("#explorer-stats").text, what="redraw")
    timings["explorer_depth8_nodes"] = browser.js("return window.lineageExplorer.cy.nodes().length")
    timings["explorer_depth8_ms"] = browser.js(
        "return performance.getEntriesByName('lineage:explorer').slice(-1)[0].duration"
    )
    prod = browser.js("return window.lineageExplorer.cy.nodes('.prod')[0].id()")
    browser.graph_click(prod)
    browser.wait(lambda _: browser.js("return document.body.dataset.pathShown") == prod, what="explaining path")
    on_path = browser.js("return window.lineageExplorer.cy.nodes('.on-path').map(n => n.id())")
    assert on_path[0] == CORRUPTED or CORRUPTED in on_path
    assert prod in on_path and len(on_path) >= 3
    assert browser.js("return window.lineageExplorer.cy.edges('.on-path').length") == len(on_path) - 1
    panel = browser.css("#panel").text
    assert prod in panel or prod.split("/")[-1] in panel
    browser.shot("production-path")
    check_logs("path")

    # as of a time before the markup dataset was recorded: it is not in the graph; now it is
    extra_id = f"dataset:scratch/{MARKUP}@1"
    browser.go(f"#/explore/{CORRUPTED}?depth=1")
    browser.wait(lambda _: "drawn in" in browser.css("#explorer-stats").text, what="explorer now")
    assert browser.js("return window.lineageExplorer.cy.getElementById(arguments[0]).nonempty()", extra_id)
    browser.js(
        "const i = document.getElementById('asof'); i.value = arguments[0]; i.dispatchEvent(new Event('change'))",
        between,
    )
    browser.wait(
        lambda _: (
            "asOf=" in browser.js("return location.hash")
            and "drawn in" in browser.css("#explorer-stats").text
            and browser.js("return window.lineageExplorer.asOf") is not None
        ),
        what="as-of explorer",
    )
    assert browser.js("return window.lineageExplorer.cy.getElementById(arguments[0]).empty()", extra_id)
    browser.shot("as-of")
    browser.css("#asof-clear").click()
    browser.wait(lambda _: "asOf=" not in browser.js("return location.hash"), what="back to now")

    # impact view: production first, owners, downloads
    browser.go(f"#/impact/{CORRUPTED}")
    banner = browser.css("#prod-banner").text
    assert "production deployment" in banner
    assert "Owners to notify" in browser.text()
    browser.shot("impact")
    browser.css('button[data-format="md"]').click()
    browser.wait(lambda _: browser.js("return document.body.dataset.downloaded || ''").endswith(".md"), what="download")
    files = d.downloads
    browser.wait(lambda _: any(p.suffix == ".md" for p in files.iterdir()), what="the downloaded file")
    md = next(p for p in files.iterdir() if p.suffix == ".md").read_text(encoding="utf-8")
    assert CORRUPTED in md and len(md) <= 65_536
    check_logs("impact")

    # audit and governance
    browser.go("#/audit")
    browser.wait(lambda _: "Chain verified" in browser.css("#audit-verify").text, what="audit verification")
    assert "register" in browser.text()
    browser.css("#verify-graph").click()
    browser.wait(lambda _: "Chain and stored graph verified" in browser.css("#audit-verify").text, what="graph check")
    browser.shot("audit")
    browser.go("#/governance")
    browser.wait(lambda _: browser.js("return !!document.getElementById('policy-result')"), what="policy result")
    browser.shot("governance")
    check_logs("audit/governance")

    # GraphiQL, from the package only, runs a query
    d.get(server.url + "/graphiql")
    browser.wait(lambda _: browser.js("return !!document.querySelector('.graphiql-execute-button')"), what="GraphiQL")
    browser.css(".graphiql-execute-button").click()
    browser.wait(
        lambda _: (
            '"total"' in browser.js("const r = document.querySelector('.result-window'); return r ? r.textContent : ''")
        ),
        what="GraphiQL result",
    )
    browser.shot("graphiql")
    check_logs("graphiql")

    OUTPUT.mkdir(exist_ok=True)
    timings["screenshots"] = browser.shots
    (OUTPUT / "ui-timings.json").write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    print("UI timings:", json.dumps(timings))
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo store served with anonymous reads off: every read needs a token."""
    root = tmp_path_factory.mktemp("locked")
    store = f"sqlite:///{root / 'demo.db'}"
    done = run_cli("demo", "--store", store)
    assert done.returncode == 0, done.stderr
    with serve(store, root, options=("--no-anonymous-read",)) as server:
        yield server


def test_token_prompt_keeps_the_token_in_the_tab_only(browser: Browser, locked: Served) -> None:
    d = browser.driver
    d.get(locked.url + "/")
    browser.wait(lambda _: browser.js("return document.getElementById('token-dialog').open"), what="the token prompt")
    assert "token needed" in browser.css("#viewer").text
    browser.shot("token-prompt")
    browser.css("#token-input").send_keys(locked.token)
    browser.css("#token-save").click()
    browser.wait(lambda _: "ci-tests" in browser.css("#viewer").text, what="signed in")
    browser.wait(
        lambda _: (
            "deployment:prod/churn-api"
            in browser.js("return [...document.querySelectorAll('#search-results a')].map(a => a.dataset.id).join(' ')")
        ),
        what="deployments listed with the token",
    )
    assert browser.js("return sessionStorage.getItem('lineage.token')") == locked.token
    stored = browser.js("return JSON.stringify(Object.assign({}, localStorage))")
    assert locked.token not in stored and locked.token not in browser.js("return document.cookie")
    browser.shot("signed-in")
    errors = _console_errors(d)
    assert not errors, errors
    assert not _foreign_requests(d, locked.url)
