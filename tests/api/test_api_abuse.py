"""Abuse against a real `lineage serve` over HTTP, every request with a client timeout: each attack
is answered with a coded error within a bound, and ``/healthz`` keeps answering within a second
while the attacks run (expensive work never runs on the event loop).

Attacks: ``paths`` floods on a ladder of diamonds (30 aliases, several clients at once), a YAML alias
bomb in ``policyReport``, a field flood, bodies nested 100,000 deep (GraphQL variables and
OpenLineage), long search text. The figures (worst answer time per attack, worst /healthz latency)
are printed for the record; run with ``-s`` to see them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from lineage_server import Served, serve

from lineage.storage import open_store
from tests.api.test_api_bad_documents import _alias_bomb, _deep
from tests.api.test_api_work_limits import END, START, ladder

#: Client timeout of every attack request.
TIMEOUT = 60.0
#: Most seconds an attack may take to be answered (server work budget 5 s, plus queueing on 2 cores).
BOUND = 30.0


class HealthMonitor:
    """Polls /healthz from its own thread while attacks run; keeps the worst latency."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.worst = 0.0
        self.samples = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = client.get(f"{self.url}/healthz")
                    if response.status_code != 200:
                        self.failures.append(f"status {response.status_code}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.worst = max(self.worst, time.monotonic() - started)
                self.samples += 1
                self._stop.wait(0.1)

    def __enter__(self) -> HealthMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("abuse") / "lineage.db"
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        ladder(store)
    with serve(url, path.parent) as server:
        yield server


def _gql(client: httpx.Client, url: str, query: str, variables: dict[str, Any] | None = None) -> tuple[float, int, Any]:
    started = time.monotonic()
    response = client.post(f"{url}/graphql", json={"query": query, "variables": variables or {}})
    return time.monotonic() - started, response.status_code, response.json()


def _codes(body: Any) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors") or []}


def test_attacks_are_answered_in_bounded_time_and_healthz_stays_responsive(served: Served) -> None:
    url = served.url
    paths_flood = "{ " + " ".join(
        f'p{i}: paths(from: "{START}", to: "{END}", max: 500) {{ more }}' for i in range(30)
    ) + " }"
    field_flood = "{ " + " ".join(["viewer { name }"] * 1_200) + " }"
    figures: dict[str, float] = {}

    def attack(name: str, run: Any) -> None:
        started = time.monotonic()
        run()
        figures[name] = max(figures.get(name, 0.0), time.monotonic() - started)

    def paths() -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            _, status, body = _gql(client, url, paths_flood)
            assert status == 200 and _codes(body) == {"LIMIT_EXCEEDED"}, body

    def bomb() -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            _, _, body = _gql(client, url, "query($p: String!) { policyReport(policy: $p) { ok } }",
                                   {"p": _alias_bomb()})
            assert _codes(body) == {"LIMIT_EXCEEDED"}, body

    def fields() -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            _, _, body = _gql(client, url, field_flood)
            assert _codes(body) == {"LIMIT_EXCEEDED"}, body

    def search() -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            _, _, body = _gql(client, url, "query($t: String!) { search(text: $t) { id } }", {"t": "a" * 60_000})
            assert _codes(body) == {"BAD_INPUT"}, body

    def deep() -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            body = '{"query": "query($v: JSON) { __typename }", "variables": {"v": ' + _deep(100_000) + "}}"
            response = client.post(f"{url}/graphql", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 400 and _codes(response.json()) == {"BAD_INPUT"}
            assert response.headers.get("connection", "").lower() != "close"
            event = '{"eventType": "START", "run": {"runId": "x", "facets": {"d": ' + _deep(100_000) + "}}}"
            response = client.post(
                f"{url}/api/v1/lineage", content=event,
                headers={"content-type": "application/json", "authorization": f"Bearer {served.token}"},
            )
            assert response.status_code == 400 and _codes(response.json()) == {"BAD_INPUT"}
            # the same keep-alive connection still serves the next request
            assert client.get(f"{url}/healthz").status_code == 200

    attacks = [("paths flood x30 aliases", paths)] * 3 + [
        ("YAML alias bomb", bomb),
        ("field flood x1200", fields),
        ("search text 60k", search),
        ("nesting 100k (GraphQL, OpenLineage)", deep),
    ]
    with HealthMonitor(url) as health, ThreadPoolExecutor(len(attacks)) as pool:
        time.sleep(0.3)
        futures = [pool.submit(attack, name, run) for name, run in attacks]
        for future in futures:
            future.result(timeout=TIMEOUT * 2)
    print("\nabuse figures (seconds to a coded answer):", json.dumps({k: round(v, 2) for k, v in figures.items()}))
    print(f"/healthz under abuse: worst {health.worst:.3f} s over {health.samples} probes")
    assert not health.failures, health.failures
    assert health.samples > 5
    assert health.worst < 1.0, health.worst
    for name, seconds in figures.items():
        assert seconds < BOUND, (name, seconds)


def test_server_still_answers_real_work_after_the_attacks(served: Served) -> None:
    with httpx.Client(timeout=TIMEOUT) as client:
        _, status, body = _gql(client, served.url, f'{{ paths(from: "{START}", to: "{END}", max: 5) {{ more }} }}')
        assert status == 200 and not body.get("errors") and body["data"]["paths"]["more"]


def test_abuse_module_needs_no_shared_state(tmp_path: Path) -> None:
    """The ladder helper builds the same graph every time (the attacks above depend on its shape)."""
    with open_store(f"sqlite:///{tmp_path / 'l.db'}") as store:
        ladder(store, diamonds=3)
        assert store.counts()["nodes"] == 4 + 6 and store.counts()["edges"] == 12
