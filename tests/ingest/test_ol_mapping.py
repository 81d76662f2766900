"""Mapping OpenLineage events into the graph: runs, dataset versions, commits, parents, owners,
facets, run state, and a final graph that depends neither on arrival order nor on repeats."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ol_support import ds, edges_of, run_event, run_id, snapshot

from lineage.errors import LineageError, ValidationError
from lineage.ingest.openlineage import OpenLineageIngester, replay
from lineage.model import NodeKind
from lineage.storage import GraphStore, open_store
from lineage.storage.base import AuditFilter

RUN1, RUN2, RUN3 = run_id(1), run_id(2), run_id(3)


def ingest_all(store: GraphStore, events: list[dict[str, object]]) -> OpenLineageIngester:
    ingester = OpenLineageIngester(store, principal="token:airflow")
    for event in events:
        ingester.ingest(event)
    return ingester


def test_run_event_becomes_run_with_versions_commit_owners_and_facets(store: GraphStore) -> None:
    schema = {"fields": [{"name": "id", "type": "INT"}, {"name": "email", "type": "TEXT", "tags": ["PII"]}]}
    event = run_event(
        "orders.clean",
        RUN1,
        "START",
        0,
        inputs=[ds("postgres://db:5432", "raw.orders")],
        outputs=[
            ds(
                "postgres://db:5432",
                "clean.orders",
                schema=schema,
                ownership={"owners": [{"name": "team-orders", "type": "MAINTAINER"}]},
                dataSource={"name": "db", "uri": "postgres://etl:s3cret@db:5432/shop"},
            )
        ],
        run_facets={"nominalTime": {"nominalStartTime": "2026-03-01T06:00:00Z"}},
        job_facets={
            "sourceCodeLocation": {
                "type": "git",
                "url": "https://github.com/acme/pipes/blob/abc/dags/orders.py",
                "repoUrl": "git@github.com:acme/pipes.git",
                "path": "dags/orders.py",
                "version": "4f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b",
                "branch": "main",
            },
            "ownership": {"owners": [{"name": "team-data", "type": "MAINTAINER"}]},
            "jobType": {"processingType": "BATCH", "integration": "AIRFLOW", "jobType": "TASK"},
            "sql": {"query": "insert into clean.orders select * from raw.orders"},
        },
    )
    outcome = OpenLineageIngester(store, principal="token:airflow").ingest(event)
    run = f"run:pipelines/orders.clean@{RUN1}"
    out = f"dataset:postgres:%2F%2Fdb:5432/clean.orders@run-{RUN1}"
    placeholder = "dataset:postgres:%2F%2Fdb:5432/raw.orders@observed"
    commit = "codecommit:git/github.com/acme/pipes@4f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b"
    assert outcome.subject == run and outcome.raw_seq == 1

    node = store.get_node(run)
    assert node.kind is NodeKind.RUN and node.namespace == "pipelines" and node.name == "orders.clean"
    assert node.properties["status"] == "START" and node.properties["job_namespace"] == "pipelines"
    assert node.properties["started_at"].startswith("2026-03-01T06:00:00")
    assert node.properties["nominal_start_time"] == "2026-03-01T06:00:00Z"
    assert node.properties["job_type"]["integration"] == "AIRFLOW"
    assert node.properties["sql"].startswith("insert into")
    assert node.properties["source_code_location"]["path"] == "dags/orders.py"
    assert node.owners == ("team-data",)

    output = store.get_node(out)
    assert output.properties["schema"][1] == {"name": "email", "type": "TEXT", "tags": ["PII"]}
    assert output.properties["produced_by"] == [run]
    assert output.properties["data_source"]["uri"] == "postgres://etl:***@db:5432/shop"
    assert output.owners == ("team-orders",)
    assert store.get_node(placeholder).properties["placeholder"] is True
    assert store.get_node(commit).properties["repository"] == "https://github.com/acme/pipes"

    assert edges_of(store, run, "INPUT_TO", into=True) == {placeholder}
    assert edges_of(store, run, "PRODUCED", into=False) == {out}
    assert edges_of(store, run, "EXECUTED_IN", into=True) == {commit}


def test_state_precedence_and_times_do_not_depend_on_arrival_order(store: GraphStore) -> None:
    start = run_event("job", RUN1, "START", 0)
    running = run_event("job", RUN1, "RUNNING", 5)
    complete = run_event("job", RUN1, "COMPLETE", 10)
    ingest_all(store, [complete, running, start, start])
    props = store.get_node(f"run:pipelines/job@{RUN1}").properties
    assert props["status"] == "COMPLETE"
    assert props["started_at"].startswith("2026-03-01T06:00:00")
    assert props["ended_at"].startswith("2026-03-01T06:10:00")
    assert props["event_types"] == ["COMPLETE", "RUNNING", "START"]


def test_failure_records_the_error_and_the_latest_terminal_state_wins(store: GraphStore) -> None:
    failed = run_event(
        "job",
        RUN2,
        "FAIL",
        3,
        run_facets={
            "errorMessage": {"message": "Table not found", "programmingLanguage": "python", "stackTrace": "Traceback"}
        },
    )
    ingest_all(store, [failed, run_event("job", RUN2, "START", 0)])
    props = store.get_node(f"run:pipelines/job@{RUN2}").properties
    assert props["status"] == "FAIL" and props["error_message"] == "Table not found"
    ingest_all(store, [run_event("job", RUN2, "COMPLETE", 7)])  # a later retry of the same run succeeded
    assert store.get_node(f"run:pipelines/job@{RUN2}").properties["status"] == "COMPLETE"


def test_duplicates_change_nothing(store: GraphStore) -> None:
    events = [
        run_event("job", RUN1, "START", 0, inputs=[ds("wh", "a")], outputs=[ds("wh", "b")]),
        run_event("job", RUN1, "COMPLETE", 4, inputs=[ds("wh", "a")], outputs=[ds("wh", "b")]),
    ]
    ingester = ingest_all(store, events)
    before = snapshot(store)
    def mapped() -> int:  # entries other than the landing of raw events (each landing is audited)
        return sum(e.action != "land" for e in store.audit_entries(AuditFilter(limit=1000)))

    audit = mapped()
    for event in events:
        outcome = ingester.ingest(event)
        assert not outcome.changed
    assert snapshot(store) == before
    assert mapped() == audit
    assert store.counts()["raw_events"] == 4  # every received event is kept raw


def test_inputs_resolve_to_the_version_current_at_the_event_time(store: GraphStore) -> None:
    ingest_all(
        store,
        [
            run_event("produce", RUN1, "COMPLETE", 0, outputs=[ds("wh", "orders")]),
            run_event("produce", RUN2, "COMPLETE", 60, outputs=[ds("wh", "orders")]),
            run_event("consume", RUN3, "START", 30, inputs=[ds("wh", "orders")]),
            run_event("consume", run_id(4), "START", 90, inputs=[ds("wh", "orders")]),
            run_event("consume", run_id(5), "START", -10, inputs=[ds("wh", "orders")]),
        ],
    )
    assert edges_of(store, f"run:pipelines/consume@{RUN3}", "INPUT_TO", into=True) == {f"dataset:wh/orders@run-{RUN1}"}
    assert edges_of(store, f"run:pipelines/consume@{run_id(4)}", "INPUT_TO", into=True) == {
        f"dataset:wh/orders@run-{RUN2}"
    }
    assert edges_of(store, f"run:pipelines/consume@{run_id(5)}", "INPUT_TO", into=True) == {
        "dataset:wh/orders@observed"
    }


def test_late_producer_relinks_readers_and_retracts_the_old_link_with_a_reason(store: GraphStore) -> None:
    ingest_all(store, [run_event("consume", RUN2, "START", 30, inputs=[ds("wh", "orders")])])
    reader = f"run:pipelines/consume@{RUN2}"
    assert edges_of(store, reader, "INPUT_TO", into=True) == {"dataset:wh/orders@observed"}
    ingest_all(store, [run_event("produce", RUN1, "START", 0, outputs=[ds("wh", "orders")])])
    assert edges_of(store, reader, "INPUT_TO", into=True) == {f"dataset:wh/orders@run-{RUN1}"}
    old = [e for e in store.node_edges(reader, include_retracted=True) if e.retracted_at is not None]
    assert [e.source for e in old] == ["dataset:wh/orders@observed"]
    assert "re-linked by OpenLineage" in (old[0].retract_reason or "")


def test_version_facet_pins_versions_and_folds_a_provisional_output(tmp_path: Path) -> None:
    start = run_event(
        "merge",
        RUN1,
        "START",
        0,
        inputs=[ds("s3", "events", version={"datasetVersion": "41"})],
        outputs=[ds("s3", "events_clean", schema={"fields": [{"name": "a"}]})],
    )
    complete = run_event(
        "merge", RUN1, "COMPLETE", 5, outputs=[ds("s3", "events_clean", version={"datasetVersion": "7"})]
    )
    reader = run_event("report", RUN2, "START", 10, inputs=[ds("s3", "events_clean")])
    run = f"run:pipelines/merge@{RUN1}"
    pinned = "dataset:s3/events_clean@7"
    graphs = []
    for order in ([start, reader, complete], [complete, start, reader], [reader, complete, start]):
        with open_store(f"sqlite:///{tmp_path}/fold-{len(graphs)}.db") as st:
            ingest_all(st, order)
            assert edges_of(st, run, "PRODUCED", into=False) == {pinned}
            assert edges_of(st, run, "INPUT_TO", into=True) == {"dataset:s3/events@41"}
            assert edges_of(st, f"run:pipelines/report@{RUN2}", "INPUT_TO", into=True) == {pinned}
            assert st.get_node(pinned).properties["schema"] == [{"name": "a"}]
            graphs.append(snapshot(st))
    assert graphs[0] == graphs[1] == graphs[2]


def _scenario() -> list[dict[str, object]]:
    """Two producers and three readers of one table, a chain, a parent run, repeated mentions."""
    parent = {"parent": {"run": {"runId": run_id(9)}, "job": {"namespace": "airflow", "name": "dag"}}}
    out = []
    for i, (t0, t1) in enumerate(((0, 5), (40, 45))):
        rid = run_id(10 + i)
        o = [ds("wh", "orders", schema={"fields": [{"name": "id"}, {"name": f"v{i}"}]})]
        out += [
            run_event("load", rid, "START", t0, outputs=o, run_facets=parent),
            run_event("load", rid, "COMPLETE", t1, outputs=o, run_facets=parent),
        ]
    for i, t in enumerate((3, 20, 50)):
        rid = run_id(20 + i)
        cl = {"fields": {"total": {"inputFields": [{"namespace": "wh", "name": "orders", "field": "id"}]}}}
        o = [ds("wh", "daily", columnLineage=cl)]
        out += [
            run_event("aggregate", rid, "START", t, inputs=[ds("wh", "orders")], outputs=o),
            run_event("aggregate", rid, "COMPLETE", t + 2, inputs=[ds("wh", "orders")], outputs=o),
        ]
    out += [
        run_event("report", run_id(30), "START", 60, inputs=[ds("wh", "daily")]),
        run_event("dag", run_id(9), "COMPLETE", 70, namespace="airflow"),
    ]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_final_graph_does_not_depend_on_order_or_repeats(tmp_path: Path, seed: int) -> None:
    events = _scenario()
    with open_store(f"sqlite:///{tmp_path / 'ordered.db'}") as st:
        ingest_all(st, events)
        expected = snapshot(st)
    rng = random.Random(seed)
    shuffled = events + rng.sample(events, 5)
    rng.shuffle(shuffled)
    with open_store(f"sqlite:///{tmp_path / 'shuffled.db'}") as st:
        ingester = OpenLineageIngester(st, principal="token:airflow")
        if seed % 2:
            for event in shuffled:
                ingester.ingest(event)
        else:
            for i in range(0, len(shuffled), 4):  # groups share one transaction
                ingester.ingest_many(shuffled[i : i + 4])
        assert snapshot(st) == expected
    readers = {f"run:pipelines/aggregate@{run_id(20 + i)}": v for i, v in enumerate((10, 10, 11))}
    with open_store(f"sqlite:///{tmp_path / 'shuffled.db'}") as st:
        for reader, producer in readers.items():
            assert edges_of(st, reader, "INPUT_TO", into=True) == {f"dataset:wh/orders@run-{run_id(producer)}"}
        child = st.get_node(f"run:pipelines/load@{run_id(10)}")
        assert child.properties["parent_run"] == f"run:airflow/dag@{run_id(9)}"
        assert st.get_node(f"run:airflow/dag@{run_id(9)}").properties["status"] == "COMPLETE"


def test_replay_into_a_fresh_store_gives_the_same_graph(tmp_path: Path) -> None:
    b = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as a:
        ingest_all(a, _scenario())
        summary = replay(a, b, principal="user:replayer")
        assert summary.events == summary.mapped == len(_scenario()) and not summary.errors
        assert snapshot(b) == snapshot(a)
        assert b.counts()["raw_events"] == a.counts()["raw_events"]
        again = replay(b, b, principal="user:replayer")  # re-mapping in place changes nothing
        assert again.mapped == len(_scenario()) and snapshot(b) == snapshot(a)
        assert b.counts()["raw_events"] == a.counts()["raw_events"]
        # a raw event that no longer validates is reported; the others are still mapped
        a.append_raw_event("openlineage", {"eventType": "COMPLETE", "job": {"namespace": "x", "name": "y"}})
        a.append_raw_event("something-else", {"kept": True})
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as a, open_store(f"sqlite:///{tmp_path / 'c.db'}") as c:
        summary = replay(a, c, principal="user:replayer", group=3)
        assert summary.mapped == len(_scenario()) and summary.skipped == 1
        assert len(summary.errors) == 1 and "field required" in summary.errors[0]
        assert snapshot(c) == snapshot(b)
    b.close()


@pytest.mark.parametrize("reverse", [False, True])
def test_same_timestamp_cycle_is_broken_the_same_way_in_any_order(tmp_path: Path, reverse: bool) -> None:
    """Two runs at the same instant, each reading what the other writes: one link is left out."""
    events = [
        run_event("a", RUN1, "START", 0, inputs=[ds("wh", "y")], outputs=[ds("wh", "x")]),
        run_event("b", RUN2, "START", 0, inputs=[ds("wh", "x")], outputs=[ds("wh", "y")]),
    ]
    with open_store(f"sqlite:///{tmp_path / 'cycle.db'}") as st:
        ingester = OpenLineageIngester(st, principal="token:airflow")
        outcomes = [ingester.ingest(e) for e in (reversed(events) if reverse else events)]
        assert [o.dropped_edges for o in outcomes if o.dropped_edges] == [
            [f"dataset:wh/y@run-{RUN2} -INPUT_TO-> run:pipelines/a@{RUN1}"]
        ]
        assert edges_of(st, f"run:pipelines/b@{RUN2}", "INPUT_TO", into=True) == {f"dataset:wh/x@run-{RUN1}"}
        assert edges_of(st, f"run:pipelines/a@{RUN1}", "INPUT_TO", into=True) == {"dataset:wh/y@observed"}


def test_dataset_and_job_events(store: GraphStore) -> None:
    ingester = OpenLineageIngester(store, principal="token:catalog")
    ingester.ingest(
        {
            "eventTime": "2026-03-01T00:00:00Z",
            "producer": "p",
            "dataset": {
                "namespace": "wh",
                "name": "customers",
                "facets": {"schema": {"fields": [{"name": "id"}]}, "ownership": {"owners": [{"name": "team-crm"}]}},
            },
        }
    )
    node = store.get_node("dataset:wh/customers@observed")
    assert node.properties["schema"] == [{"name": "id"}] and node.owners == ("team-crm",)
    ingester.ingest(
        {
            "eventTime": "2026-03-01T00:00:00Z",
            "producer": "p",
            "job": {"namespace": "dbt", "name": "m"},
            "inputs": [{"namespace": "wh", "name": "customers"}],
            "outputs": [{"namespace": "wh", "name": "customer_360"}],
        }
    )
    assert edges_of(store, "dataset:wh/customer_360@observed", "FEEDS", into=True) == {"dataset:wh/customers@observed"}
    assert store.get_node("dataset:wh/customer_360@observed").properties["declared_by_jobs"] == ["dbt/m"]


def test_invalid_event_stores_nothing(store: GraphStore) -> None:
    ingester = OpenLineageIngester(store, principal="token:airflow")
    good = run_event("job", RUN1, "START", 0)
    bad = run_event("job", RUN2, "START", 0)
    del bad["run"]["runId"]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match=r"\[1\]: invalid OpenLineage RunEvent: run.runId"):
        ingester.ingest_many([good, bad])
    assert store.counts()["raw_events"] == 0 and store.counts()["nodes"] == 0


def test_cache_notices_writes_by_another_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with open_store(url) as mine, open_store(url) as theirs:
        ingester = OpenLineageIngester(mine, principal="token:a")
        ingester.ingest(run_event("consume", RUN1, "START", 0, inputs=[ds("wh", "t")]))
        OpenLineageIngester(theirs, principal="token:b").ingest(
            run_event("produce", RUN2, "START", -5, outputs=[ds("wh", "t")])
        )
        ingester.ingest(run_event("consume", RUN3, "START", 10, inputs=[ds("wh", "t")]))
        assert edges_of(mine, f"run:pipelines/consume@{RUN3}", "INPUT_TO", into=True) == {f"dataset:wh/t@run-{RUN2}"}
        assert edges_of(mine, f"run:pipelines/consume@{RUN1}", "INPUT_TO", into=True) == {f"dataset:wh/t@run-{RUN2}"}


def test_a_tiny_version_cache_gives_the_same_graph(tmp_path: Path) -> None:
    from lineage.ingest.openlineage_resolve import VersionCache

    with open_store(f"sqlite:///{tmp_path / 'big.db'}") as big, open_store(f"sqlite:///{tmp_path / 'tiny.db'}") as tiny:
        ingest_all(big, _scenario())
        ingester = OpenLineageIngester(tiny, principal="token:airflow")
        ingester.cache = VersionCache(max_versions=2)
        for event in _scenario():
            ingester.ingest(event)
        assert snapshot(tiny) == snapshot(big)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_two_writers_on_one_file_give_the_same_graph_as_one(tmp_path: Path, seed: int) -> None:
    """Two ingesters (two server processes) share a file: each catches its cache up with the other's
    writes from the audit log, and the graph is the one a single ingester builds."""
    events = _scenario()
    with open_store(f"sqlite:///{tmp_path / 'one.db'}") as st:
        ingest_all(st, events)
        expected = snapshot(st)
    rng = random.Random(seed)
    shuffled = rng.sample(events, len(events))
    url = f"sqlite:///{tmp_path / 'two.db'}"
    with open_store(url) as a, open_store(url) as b:
        writers = [OpenLineageIngester(a, principal="token:a"), OpenLineageIngester(b, principal="token:b")]
        at = 0
        while at < len(shuffled):
            size = rng.randint(1, 3)
            writers[rng.randint(0, 1)].ingest_many(shuffled[at : at + size])
            at += size
        assert snapshot(a) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_groups_of_any_size_and_order_give_the_graph_of_one_event_at_a_time(tmp_path: Path, data: Any) -> None:
    """Groups are mapped in event-time order (fewer re-links): the graph is the same for any arrival
    order and any split into groups, including the intake mapper's large ones."""
    events = _scenario()
    order = data.draw(st.permutations(range(len(events))), label="arrival order")
    cuts = sorted(data.draw(st.sets(st.integers(1, len(events) - 1), max_size=6), label="group boundaries"))
    name = uuid.uuid4().hex
    with open_store(f"sqlite:///{tmp_path / f'one-{name}.db'}") as st_one:
        ingest_all(st_one, events)
        expected = snapshot(st_one)
    arrived = [events[i] for i in order]
    with open_store(f"sqlite:///{tmp_path / f'groups-{name}.db'}") as grouped:
        ingester = OpenLineageIngester(grouped, principal="token:airflow")
        for start, end in zip([0, *cuts], [*cuts, len(arrived)], strict=True):
            results = ingester.ingest_many(arrived[start:end])
            assert not [r for r in results if isinstance(r, LineageError)]
        assert snapshot(grouped) == expected
