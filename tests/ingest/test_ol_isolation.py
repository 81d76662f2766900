"""One bad OpenLineage event fails alone: never another client's event in a shared commit, never the
other events of its batch.

Events of concurrent requests share commits (group commit). A member the store cannot keep (a lone
UTF-16 surrogate is valid JSON but not storable text) or cannot map must be answered with its own
4xx, while every valid event, of every client, is stored and acknowledged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from lineage_server import Served, serve
from ol_support import ds, run_event, run_id

from lineage.api.openlineage import PATH, build_openlineage_router
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.ingest.openlineage_events import parse_event
from lineage.storage import GraphStore, open_store
from lineage.storage.base import AuditFilter


@dataclass(frozen=True)
class _Writer:
    id: str = "token:test-writer"

    def allow(self, namespaces: list[str]) -> None:
        return None


def body(event: Any) -> bytes:
    """JSON as a client sends it; a lone surrogate goes out as the valid JSON escape ``\\ud800``."""
    return json.dumps(event, ensure_ascii=True).encode()


def poisoned(n: int) -> dict[str, Any]:
    """A well-formed RunEvent whose output dataset name holds a lone surrogate."""
    return run_event("poison", run_id(90_000 + n), "START", n, outputs=[ds("wh", f"bad\ud800{n}")])


def valid(client: int, n: int) -> list[dict[str, Any]]:
    """START and COMPLETE of one run of one client, reading and writing tables of its own."""
    rid = run_id(client * 1_000 + n)
    job = f"client{client}.job{n}"
    io = {"inputs": [ds("wh", f"c{client}.in{n}")], "outputs": [ds("wh", f"c{client}.out{n}")]}
    return [run_event(job, rid, "START", n, **io), run_event(job, rid, "COMPLETE", n + 1, **io)]


@pytest.fixture
def router_store(tmp_path: Path) -> Iterator[GraphStore]:
    store = open_store(f"sqlite:///{tmp_path / 'router.db'}")
    yield store
    store.close()


@pytest.fixture
def http(router_store: GraphStore) -> Iterator[TestClient]:
    async def writer(request: Request) -> _Writer:
        return _Writer()

    app = FastAPI()
    app.include_router(build_openlineage_router(lambda request: router_store, writer))
    with TestClient(app) as client:
        yield client


def test_a_poisoned_event_alone_is_a_4xx_naming_the_problem(http: TestClient, router_store: GraphStore) -> None:
    before = router_store.counts()
    response = http.post(PATH, content=body(poisoned(1)), headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert "BAD_INPUT" in response.text and "surrogate" in response.text.lower()
    assert router_store.counts() == before


@pytest.mark.parametrize("bad", ["poisoned", "invalid"])
def test_a_batch_with_one_bad_event_stores_the_others_and_answers_207(
    http: TestClient, router_store: GraphStore, bad: str
) -> None:
    good = [*valid(1, 1), valid(1, 2)[0]]
    wrong = poisoned(2) if bad == "poisoned" else {**valid(1, 3)[0], "eventTime": "soon"}
    events = [good[0], good[1], wrong, good[2]]
    response = http.post(f"{PATH}/batch", content=body(events), headers={"content-type": "application/json"})
    assert response.status_code == 207, response.text
    answer = response.json()
    assert answer["received"] == 4 and answer["failed"] == 1
    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["ok", "ok", "error", "ok"]
    assert answer["results"][2]["code"] == "BAD_INPUT"
    if bad == "invalid":
        assert "[2]" in answer["results"][2]["message"] and "eventTime" in answer["results"][2]["message"]
    assert router_store.get_node(f"run:pipelines/client1.job1@{run_id(1_001)}").properties["status"] == "COMPLETE"
    assert router_store.get_node(f"run:pipelines/client1.job2@{run_id(1_002)}").properties["status"] == "START"
    assert router_store.counts()["raw_events"] == 3


def test_the_ingester_fails_only_the_bad_member_of_a_group(router_store: GraphStore, tmp_path: Path) -> None:
    """A member that passed validation but that the store refuses (here a lone surrogate put into an
    already validated event, as a future mapping bug or a store limit could) fails alone."""
    clean = [*valid(2, 1), valid(2, 3)[0], *valid(2, 2)]
    events = [parse_event(e) for e in clean]
    object.__setattr__(events[2].outputs[0], "name", "bad\ud800")
    payloads = [*clean[:2], poisoned(3), *clean[3:]]
    results = OpenLineageIngester(router_store, principal="test").apply_many(events, payloads=payloads)
    assert [type(r).__name__ for r in results] == ["Outcome", "Outcome", "ValidationError", "Outcome", "Outcome"]
    assert "surrogate" in str(results[2])
    with open_store(f"sqlite:///{tmp_path / 'reference.db'}") as reference:
        OpenLineageIngester(reference, principal="test").ingest_many([*valid(2, 1), *valid(2, 2)])
        assert router_store.counts()["nodes"] == reference.counts()["nodes"]
        assert router_store.counts()["edges"] == reference.counts()["edges"]
    assert router_store.counts()["raw_events"] == 4


# -- end to end: concurrent clients of a real server ----------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("isolation")
    url = f"sqlite:///{folder / 'served.db'}"
    open_store(url).close()
    with serve(url, folder) as server:
        yield server


def test_valid_events_of_every_client_land_while_others_send_poisoned_ones(served: Served) -> None:
    clients, runs, poison_every = 6, 12, 3
    answers: dict[int, list[tuple[bool, int]]] = {c: [] for c in range(clients)}
    failures: list[str] = []
    barrier = threading.Barrier(clients)

    def work(client: int) -> None:
        headers = {"authorization": f"Bearer {served.token}", "content-type": "application/json"}
        with httpx.Client(base_url=served.url, headers=headers, timeout=60) as http:
            barrier.wait()
            for n in range(runs):
                sends = [(True, e) for e in valid(client, n)]
                if n % poison_every == client % poison_every:
                    sends.insert(1, (False, poisoned(client * 100 + n)))
                for good, event in sends:
                    try:
                        status = http.post(PATH, content=body(event)).status_code
                    except httpx.TransportError as exc:  # a reset connection is a failure too
                        failures.append(f"client {client}: {exc!r}")
                        continue
                    answers[client].append((good, status))

    threads = [threading.Thread(target=work, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    sent = [a for per in answers.values() for a in per]
    assert sum(1 for good, _ in sent if not good) >= clients  # the poison was really sent alongside
    assert all(status == 201 for good, status in sent if good), sorted({s for g, s in sent if g})
    assert all(400 <= status < 500 for good, status in sent if not good), sorted({s for g, s in sent if not g})
    with open_store(served.store) as store:
        for client in range(clients):
            for n in range(runs):
                node = store.get_node(f"run:pipelines/client{client}.job{n}@{run_id(client * 1_000 + n)}")
                assert node.properties["status"] == "COMPLETE"
        assert store.counts()["raw_events"] == clients * runs * 2
        assert store.verify_audit().ok


# -- the group committer on an event loop ----------------------------------------------------------


def test_requests_waiting_on_one_loop_share_commits_and_each_gets_its_own_answer(router_store: GraphStore) -> None:
    import asyncio

    from lineage.ingest.openlineage_group import GroupCommitter

    committer = GroupCommitter(OpenLineageIngester(router_store, principal="test"))
    sent = [e for n in range(12) for e in valid(3, n)]

    async def main() -> list[Any]:
        async def one(payload: dict[str, Any]) -> Any:
            return (await committer.submit_async([payload], [parse_event(payload)], "token:test"))[0]

        return await asyncio.gather(*(one(p) for p in sent))

    results = asyncio.run(main())
    assert [type(r).__name__ for r in results] == ["Outcome"] * 24
    assert sorted(r.raw_seq for r in results) == list(range(1, 25))  # each its own raw event
    assert {r.subject for r in results} == {f"run:pipelines/client3.job{n}@{run_id(3_000 + n)}" for n in range(12)}
    landings = router_store.audit_entries(AuditFilter(action="land", limit=1_000))
    assert len(landings) < 24  # landed by fewer commits than requests: they were grouped


def test_a_request_cancelled_while_waiting_is_still_committed(router_store: GraphStore) -> None:
    """A client that leaves does not take back its event: it is landed and mapped all the same."""
    import asyncio

    from lineage.ingest.openlineage_group import GroupCommitter

    committer = GroupCommitter(OpenLineageIngester(router_store, principal="test"))
    payloads = valid(5, 1)

    async def main() -> None:
        tasks = [
            asyncio.ensure_future(committer.submit_async([p], [parse_event(p)], "token:test")) for p in payloads
        ]
        await asyncio.sleep(0)
        tasks[0].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        while committer._draining:  # the drain task finishes the queue
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert router_store.counts()["raw_events"] == 2
    node = router_store.get_node(f"run:pipelines/client5.job1@{run_id(5_001)}")
    assert node.properties["status"] == "COMPLETE"
