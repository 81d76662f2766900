"""OpenLineage answered once landed (``lineage serve --openlineage-ack landed``): events are kept in the
intake file, answered 202, and mapped in the background by a process of its own, into the same graph
as the synchronous endpoint; nothing acknowledged is lost or landed twice, even when processes are
killed."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from lineage_server import CLI, Served, clean_env, free_port, run_cli, serve
from ol_support import ds, run_event, run_id, snapshot

from lineage.errors import BackendUnavailableError
from lineage.ingest.openlineage import SOURCE, OpenLineageIngester
from lineage.ingest.openlineage_events import parse_event
from lineage.ingest.openlineage_intake import Intake, IntakeMapper, map_all
from lineage.settings import Settings
from lineage.storage import GraphStore, open_store

INTAKE = "/api/v1/lineage/intake"
LINEAGE = "/api/v1/lineage"


def workload(runs: int, seed: int = 3) -> list[dict[str, Any]]:
    """START and COMPLETE of ``runs`` runs of 8 jobs, each reading up to two earlier jobs' tables."""
    rng = random.Random(seed)
    deps = {j: rng.sample(range(j), min(j, 2)) for j in range(8)}
    events = []
    for n in range(runs):
        job = n % 8
        inputs = [ds("wh", f"t{d}") for d in deps[job]] or [ds("raw", f"src{job}")]
        for kind, minute in (("START", 10 * n), ("COMPLETE", 10 * n + 5)):
            events.append(run_event(f"job{job}", run_id(n), kind, minute, inputs=inputs, outputs=[ds("wh", f"t{job}")]))
    return events


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_drained(served: Served, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = httpx.get(served.url + INTAKE, headers=headers(served.token), timeout=10).json()
        if status["waiting"] == 0:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def post_all(served: Served, events: list[dict[str, Any]], threads: int = 8) -> list[httpx.Response]:
    with httpx.Client(timeout=30, headers=headers(served.token)) as http, ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda e: http.post(served.url + LINEAGE, json=e), events))


def store_with_intake(path: Path, events: list[dict[str, Any]]) -> tuple[str, Intake]:
    """A new store at ``path`` (its URL) and its intake beside it, holding ``events`` from one writer."""
    url = f"sqlite:///{path}"
    open_store(url).close()
    intake = Intake(path.with_name(path.name + ".intake"))
    intake.land(["token:w"] * len(events), events)
    return url, intake


def direct_snapshot(events: list[dict[str, Any]], folder: Path) -> Any:
    with open_store(f"sqlite:///{folder / 'direct.db'}") as direct:
        OpenLineageIngester(direct, principal="p").ingest_many(events)
        return snapshot(direct)


@pytest.fixture
def landed(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'landed.db'}"
    open_store(url).close()
    with serve(url, tmp_path, options=("--openlineage-ack", "landed")) as server:
        yield server


def test_events_are_answered_202_and_mapped_into_the_same_graph(landed: Served, tmp_path: Path) -> None:
    events = workload(60)
    shuffled = random.Random(5).sample(events, len(events))
    responses = post_all(landed, shuffled)
    assert [r.status_code for r in responses] == [202] * len(events), responses[0].text
    seqs = sorted(r.json()["intake_seq"] for r in responses)
    assert seqs == list(range(seqs[0], seqs[0] + len(events)))  # one number each, none reused
    assert all(r.json()["status"] == "accepted" for r in responses)
    status = wait_drained(landed)
    assert status["failed"] == 0
    with open_store(landed.store) as st:
        graph = snapshot(st)
        assert sum(1 for _ in st.iter_raw_events()) == len(events)  # each landed once
    assert graph == direct_snapshot(events, tmp_path)


def test_the_real_client_is_answered_and_a_bad_event_is_refused_before_the_intake(landed: Served) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config = {"url": landed.url, "timeout": 10, "auth": {"type": "api_key", "apiKey": landed.token}}
    transport = OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config))).transport
    assert transport.emit(run_event("etl", run_id(1), "START", 0, outputs=[ds("wh", "t")])).status_code == 202
    bad = run_event("etl", run_id(2), "START", 0)
    del bad["eventTime"]
    refused = httpx.post(landed.url + LINEAGE, json=bad, headers=headers(landed.token), timeout=10)
    assert refused.status_code == 400 and "eventTime" in refused.text
    unauthorised = httpx.post(landed.url + LINEAGE, json=run_event("x", run_id(3), "START", 0), timeout=10)
    assert unauthorised.status_code == 401
    wait_drained(landed)
    with open_store(landed.store) as st:
        assert [r.payload["run"]["runId"] for r in st.iter_raw_events()] == [run_id(1)]
        assert st.get_node(f"run:pipelines/etl@{run_id(1)}").properties["status"] == "START"


def test_batch_answers_each_event_and_a_scoped_writer_is_mapped_before_the_answer(landed: Served) -> None:
    batch = [run_event("b", run_id(10), "START", 0), {"eventType": "START"}]
    answer = httpx.post(landed.url + LINEAGE + "/batch", json=batch, headers=headers(landed.token), timeout=10)
    assert answer.status_code == 207
    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "error"]
    made = run_cli("token", "create", "team-a", "--role", "writer", "--namespace", "team-a", "--store", landed.store)
    assert made.returncode == 0, made.stderr
    limited = made.stdout.strip()
    mine = httpx.post(
        landed.url + LINEAGE, json=run_event("a", run_id(11), "START", 0, namespace="team-a"), headers=headers(limited)
    )
    assert mine.status_code == 201 and mine.json()["status"] == "ok"  # its scope is checked where it is mapped
    other = httpx.post(
        landed.url + LINEAGE, json=run_event("b", run_id(12), "START", 0, namespace="team-b"), headers=headers(limited)
    )
    assert other.status_code == 403
    wait_drained(landed)


def test_an_event_that_fails_to_map_fails_alone_and_is_kept_with_its_error(landed: Served) -> None:
    subject = f"run:pipelines/gone@{run_id(20)}"
    first = httpx.post(
        landed.url + LINEAGE, json=run_event("gone", run_id(20), "START", 0), headers=headers(landed.token)
    )
    assert first.status_code == 202
    wait_drained(landed)
    retracted = run_cli("retract", subject, "--reason", "mistake", "--store", landed.store)
    assert retracted.returncode == 0, retracted.stderr
    late = run_event("gone", run_id(20), "COMPLETE", 5)
    fine = run_event("kept", run_id(21), "START", 5)
    answers = post_all(landed, [late, fine], threads=1)
    assert [r.status_code for r in answers] == [202, 202]
    status = wait_drained(landed)
    late_seq, fine_seq = (r.json()["intake_seq"] for r in answers)
    where = [httpx.get(f"{landed.url}{INTAKE}/{n}", headers=headers(landed.token)).json() for n in (late_seq, fine_seq)]
    assert [w["state"] for w in where] == ["failed", "mapped"] and subject in where[0]["message"]
    unknown = httpx.get(f"{landed.url}{INTAKE}/{fine_seq + 100}", headers=headers(landed.token))
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert status["failed"] == 1
    failure = status["latest_failures"][0]
    assert failure["code"] and subject in failure["message"]
    metrics = httpx.get(landed.url + "/metrics", timeout=10).text
    assert "lineage_openlineage_intake_failed 1.0" in metrics
    assert "lineage_openlineage_intake_waiting 0.0" in metrics
    assert "lineage_openlineage_intake_stalled_seconds 0.0" in metrics
    assert httpx.get(landed.url + INTAKE, headers=headers(landed.token), timeout=10).json()["stalled"] is None
    with open_store(landed.store) as st:
        assert st.get_node(f"run:pipelines/kept@{run_id(21)}").properties["status"] == "START"


def test_a_mapper_stopped_after_its_commit_does_not_land_the_group_twice(
    store_factory: Callable[[], GraphStore], tmp_path: Path
) -> None:
    events = workload(10)
    expected_store = store_factory()
    OpenLineageIngester(expected_store, principal="p").ingest_many(events)
    expected = snapshot(expected_store)
    store = store_factory()  # a fresh one (the first is closed)
    intake = Intake(tmp_path / "store.intake")
    assert (tmp_path / "store.intake").stat().st_mode & 0o077 == 0  # this user's only
    intake.land(["token:w"] * len(events), events)
    mapper = IntakeMapper(store, intake, group=8)
    assert mapper.step() == 8  # a first group, mapped and taken out
    rows = intake.waiting(8)
    # The next group commits to the store, then the process stops before the intake hears of it.
    mapper.ingester.apply_many(
        [parse_event(e) for e in events[8:16]], principals=["token:w"] * 8, payloads=events[8:16]
    )
    assert [r.seq for r in intake.waiting(8)] == [r.seq for r in rows]
    again = IntakeMapper(store, intake, group=8)
    assert again.recover() == 8
    while again.step():
        pass
    assert intake.backlog() == 0
    assert [r.payload for r in store.iter_raw_events()] == events  # each once, in order
    assert snapshot(store) == expected
    intake.close()


def test_events_landed_but_not_mapped_when_the_mapper_stopped_are_mapped_once(
    store_factory: Callable[[], GraphStore], tmp_path: Path
) -> None:
    """Where the store lands an event in a transaction of its own before mapping it (Neo4j), a
    mapper can stop in between: recovery maps what it finds landed instead of dropping it."""
    events = workload(10)
    expected_store = store_factory()
    OpenLineageIngester(expected_store, principal="p").ingest_many(events)
    expected = snapshot(expected_store)
    store = store_factory()
    intake = Intake(tmp_path / "store.intake")
    intake.land(["token:w"] * len(events), events)
    mapper = IntakeMapper(store, intake, group=8)
    assert mapper.step() == 8
    store.append_raw_events(SOURCE, events[8:16], principal="token:w")  # landed; the mapper stops here
    again = IntakeMapper(store, intake, group=8)
    assert again.recover() == 8
    while again.step():
        pass
    assert intake.counts() == (0, 0)
    assert [r.payload for r in store.iter_raw_events()] == events  # each once, in order
    assert snapshot(store) == expected
    intake.close()


def test_an_unavailable_store_fails_no_event_and_mapping_resumes_when_it_is_back(tmp_path: Path) -> None:
    events = workload(12)
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    intake = Intake(tmp_path / "busy.db.intake")
    intake.land(["token:w"] * len(events), events)
    with open_store(url, busy_timeout_s=0.2) as store:
        blocker = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        mapper = IntakeMapper(store, intake, group=8)
        with pytest.raises(BackendUnavailableError):
            mapper.step()
        assert intake.counts() == (len(events), 0)  # nothing failed, nothing left
        stop = threading.Event()
        worker = threading.Thread(target=mapper.run, args=(stop,))
        worker.start()
        try:
            deadline = time.monotonic() + 30
            while (stall := intake.status()["stalled"]) is None:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert stall["code"] == "BACKEND_UNAVAILABLE" and "busy" in stall["message"]
            assert intake.counts() == (len(events), 0)
            blocker.execute("ROLLBACK")
            while intake.counts()[0] or intake.stall() is not None:
                assert time.monotonic() < deadline, intake.status()
                time.sleep(0.05)
        finally:
            stop.set()
            worker.join()
            blocker.close()
        assert intake.counts() == (0, 0)
        assert [r.payload for r in store.iter_raw_events()] == events
        assert snapshot(store) == direct_snapshot(events, tmp_path)
    intake.close()


def test_an_unavailable_store_refuses_a_group_untried_and_whole(tmp_path: Path) -> None:
    events = workload(3)
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    with open_store(url, busy_timeout_s=0.1) as store:
        tries = []
        write = store.write

        def counted() -> Any:  # the store's own write, counted
            tries.append(1)
            return write()

        store.write = counted  # type: ignore[method-assign]
        blocker = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            results = OpenLineageIngester(store, principal="p").ingest_many(events)
        finally:
            blocker.close()
        assert [type(r) for r in results] == [BackendUnavailableError] * len(events)
        assert len(tries) == 1  # the group's try only: no event is retried alone against a locked store
        assert sum(1 for _ in store.iter_raw_events()) == 0


def test_db_intake_shows_failures_puts_them_back_and_maps_them(tmp_path: Path) -> None:
    """An older release recorded an outage as failures: the operator sees them and puts them back."""
    events = workload(4)
    url, intake = store_with_intake(tmp_path / "ops.db", events)
    rows = intake.waiting(100)
    outage = BackendUnavailableError("store 'ops.db' is busy or unavailable: database is locked")
    intake.done(rows[:3], {r.seq: outage for r in rows[:3]}, None)
    intake.close()

    shown = run_cli("db", "intake", "--store", url, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert (status["waiting"], status["failed"], status["stalled"]) == (len(events) - 3, 3, None)
    assert {f["code"] for f in status["latest_failures"]} == {"BACKEND_UNAVAILABLE"}
    text = run_cli("db", "intake", "--store", url)
    assert text.returncode == 0 and "failed: 3" in text.stdout and "database is locked" in text.stdout

    fixed = run_cli("db", "intake", "--store", url, "--retry-failed", "--map", "--format", "json")
    assert fixed.returncode == 0, fixed.stderr
    after = json.loads(fixed.stdout)
    assert (after["requeued"], after["mapped_now"], after["waiting"], after["failed"]) == (3, len(events), 0, 0)
    with open_store(url) as st:
        assert snapshot(st) == direct_snapshot(events, tmp_path)
        assert sorted(json.dumps(r.payload, sort_keys=True) for r in st.iter_raw_events()) == sorted(
            json.dumps(e, sort_keys=True) for e in events
        )

    missing = run_cli("db", "intake", "--intake", str(tmp_path / "nowhere.intake"), "--store", url)
    assert missing.returncode != 0 and "no OpenLineage intake" in missing.stderr
    assert not (tmp_path / "nowhere.intake").exists()


def test_a_mapped_mode_server_maps_what_a_landed_one_left(tmp_path: Path) -> None:
    events = workload(5)
    url, intake = store_with_intake(tmp_path / "left.db", events)
    intake.close()
    # A server answering once mapped maps the leftovers at start.
    with serve(url, tmp_path) as server, open_store(server.store) as st:
        assert sum(1 for _ in st.iter_raw_events()) == len(events)
    assert map_all(Settings(store=url), tmp_path / "left.db.intake") == 0


def test_killed_server_and_mapper_lose_nothing_acknowledged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    open_store(url).close()
    events = workload(150)
    port = free_port()
    token = run_cli("token", "create", "w", "--role", "writer", "--store", url).stdout.strip()
    log = (tmp_path / "serve.log").open("w")
    command = ["serve", "--port", str(port), "--store", url, "--openlineage-ack", "landed", "--log-level", "warning"]
    proc = subprocess.Popen(
        [*CLI, *command], stdout=log, stderr=subprocess.STDOUT, env=clean_env()
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        acked = [e for e, r in zip(events, post_all(Served(base, token, url), events), strict=True)
                 if r.status_code == 202]
        assert len(acked) == len(events)
    finally:
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        for pid in [proc.pid, *map(int, children)]:  # the server and its mapper, mid-work
            os.kill(pid, signal.SIGKILL)
        proc.wait()
        log.close()
    with serve(url, tmp_path, options=("--openlineage-ack", "landed")) as again:
        wait_drained(Served(again.url, again.token, url))
        with open_store(url) as st:
            assert sorted(r.payload["eventTime"] + r.payload["run"]["runId"] for r in st.iter_raw_events()) == sorted(
                e["eventTime"] + e["run"]["runId"] for e in acked
            )
            graph = snapshot(st)
    assert graph == direct_snapshot(events, tmp_path)


def test_landed_with_a_neo4j_store_needs_an_intake_file() -> None:
    done = run_cli("serve", "--store", "bolt://127.0.0.1:1", "--openlineage-ack", "landed")
    assert done.returncode == 2
    assert "LINEAGE_OPENLINEAGE_INTAKE" in done.stderr and "Traceback" not in done.stderr


def test_two_workers_share_one_mapper_that_is_started_again_when_killed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    open_store(url).close()
    events = workload(40)
    with serve(url, tmp_path, workers=2, options=("--openlineage-ack", "landed")) as server:
        assert {r.status_code for r in post_all(server, events[:40])} == {202}
        wait_drained(server)
        mappers = subprocess.run(
            ["pgrep", "-f", f"lineage.ingest.openlineage_intake {tmp_path / 'two.db.intake'}"],
            capture_output=True,
            text=True,
        ).stdout.split()
        assert len(mappers) == 2  # one per worker: one maps, the other waits on the lock file
        for pid in mappers:
            os.kill(int(pid), signal.SIGKILL)
        assert {r.status_code for r in post_all(server, events[40:])} == {202}  # still answered
        wait_drained(server)  # the mappers were started again
        with open_store(url) as st:
            assert sum(1 for _ in st.iter_raw_events()) == len(events)
            graph = snapshot(st)
    assert graph == direct_snapshot(events, tmp_path)


def test_a_commit_the_intake_refuses_is_503_for_its_requests_and_leaves_it_usable(tmp_path: Path) -> None:
    import asyncio

    from lineage.api.openlineage_landing import Lander
    from lineage.errors import BackendUnavailableError
    from lineage.ingest.openlineage_intake import Accepted

    intake = Intake(tmp_path / "x.intake")
    # A file that refuses a commit (a full disk, say): here a trigger aborts one insert.
    intake._db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON intake WHEN NEW.payload LIKE '%refuse-me%' "
        "BEGIN SELECT RAISE(ABORT, 'no space left'); END"
    )
    lander = Lander(intake, limit=100)

    async def send() -> tuple[list[Any], list[Any]]:
        same_turn = await asyncio.gather(
            lander.submit([run_event("refuse-me", run_id(1), "START", 0)], "token:w"),
            lander.submit([run_event("ok", run_id(2), "START", 0)], "token:w"),
            return_exceptions=True,
        )
        later = await lander.submit([run_event("later", run_id(3), "START", 0)], "token:w")
        return list(same_turn), later

    same_turn, later = asyncio.run(send())
    assert all(isinstance(r, BackendUnavailableError) and "no space left" in r.message for r in same_turn)
    assert isinstance(later[0], Accepted)  # no transaction was left open
    assert [_loads_job(w.text) for w in intake.waiting(10)] == ["later"]  # nothing of the refused commit
    intake.close()


def _loads_job(text: str) -> str:
    import json

    name: str = json.loads(text)["job"]["name"]
    return name


def test_an_emptied_intake_gives_its_pages_back(tmp_path: Path) -> None:
    intake = Intake(tmp_path / "burst.intake")
    big = [run_event(f"job{i}", run_id(i), "START", i, run_facets={"f": {"_producer": "p", "_schemaURL": "u",
                                                                        "blob": "x" * 4000}}) for i in range(1500)]
    intake.land(["token:w"] * len(big), big)
    pages = intake._db.execute("PRAGMA page_count").fetchone()[0]
    assert pages > 1_500
    rows = intake.waiting(len(big))
    intake.done(rows[:-1], {}, None)  # not empty yet: nothing is given back
    assert intake._db.execute("PRAGMA page_count").fetchone()[0] == pages
    intake.done(rows[-1:], {}, None)
    assert intake._db.execute("PRAGMA page_count").fetchone()[0] < pages // 10
    assert (tmp_path / "burst.intake").stat().st_size < pages * 4096 // 10  # the file itself shrank
    assert intake.backlog() == 0 and intake.land(["token:w"], big[:1]) == [len(big) + 1]  # numbers go on
    intake.close()


def test_an_intake_of_an_earlier_release_gains_the_stall_record(tmp_path: Path) -> None:
    path = tmp_path / "old.intake"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE intake (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, "
        "principal TEXT NOT NULL, payload TEXT NOT NULL);"
        "CREATE TABLE failed (seq INTEGER PRIMARY KEY, received_at REAL NOT NULL, principal TEXT NOT NULL, "
        "payload TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, failed_at REAL NOT NULL);"
        "CREATE TABLE mark (id INTEGER PRIMARY KEY CHECK (id = 1), raw_seq INTEGER NOT NULL);"
    )
    db.execute("INSERT INTO intake (received_at, principal, payload) VALUES (1.0, 'token:w', '{}')")
    db.commit()
    db.close()
    intake = Intake(path)
    assert intake.status()["stalled"] is None and intake.backlog() == 1
    intake.stalled(BackendUnavailableError("store down"))
    intake.stalled(BackendUnavailableError("store still down"))
    stall = intake.stall()
    assert stall is not None and stall["code"] == "BACKEND_UNAVAILABLE" and stall["message"] == "store still down"
    intake.stalled(None)
    assert intake.stall() is None
    intake.close()


def test_a_new_intake_is_anchored_where_the_landing_zone_ends(tmp_path: Path) -> None:
    """Recovery reads the landing zone from the intake's mark: a new intake starts at the end of
    what the store already holds, and an intake that holds events is never re-anchored."""
    events = workload(3)  # six events
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        OpenLineageIngester(store, principal="p").ingest_many(events[:5])  # the synchronous endpoint's
        intake = Intake(tmp_path / "a.db.intake")
        mapper = IntakeMapper(store, intake)
        mapper.anchor()
        assert intake.mark() == 5
        assert intake.anchor(0) is False  # once only
        intake.land(["token:w"], events[5:])
        assert mapper.step() == 1
        assert intake.mark() == 6
        assert [r.payload for r in store.iter_raw_events()] == events
        intake.close()
        waiting = Intake(tmp_path / "b.intake")
        waiting.land(["token:w"], events[:1])
        IntakeMapper(store, waiting).anchor()
        assert waiting.mark() == 0  # it holds an event: the store may already hold it
        waiting.close()


def test_a_group_of_large_events_is_cut_by_size_and_every_event_is_mapped(tmp_path: Path) -> None:
    """Events of up to max_body_bytes each: a group holds as many as its character budget allows
    (at least one), so the mapper's memory stays bounded whatever the senders send."""
    big = {"_producer": "p", "_schemaURL": "https://x", "blob": "b" * 200_000}
    events = [run_event(f"job{n}", run_id(n), "COMPLETE", n, run_facets={"big": big}, outputs=[ds("wh", f"t{n}")])
              for n in range(7)]
    intake = Intake(tmp_path / "big.intake")
    intake.land(["token:w"] * len(events), events)
    assert len(intake.waiting(100, max_chars=450_000)) == 2
    assert len(intake.waiting(100, max_chars=10)) == 1  # never empty while something waits
    with open_store(f"sqlite:///{tmp_path / 'big.db'}") as store:
        mapper = IntakeMapper(store, intake, group_chars=450_000)
        sizes = []
        while n := mapper.step():
            sizes.append(n)
        assert sizes == [2, 2, 2, 1]
        assert intake.counts() == (0, 0)
        assert [r.payload for r in store.iter_raw_events()] == events
    intake.close()
