"""What the audit log says about mapped OpenLineage events (one entry per event that changed the
graph, naming the event by its landing-zone number), and how the mapper's cache follows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from ol_support import ds, run_event, run_id

from lineage.errors import LineageError, ValidationError
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.ingest.openlineage_resolve import VersionCache
from lineage.model import Batch, NodeKind, NodeSpec
from lineage.storage import GraphStore, open_store
from lineage.storage.base import AuditFilter


def test_each_mapped_event_has_its_own_entry_naming_its_raw_event(store: GraphStore) -> None:
    ingester = OpenLineageIngester(store, principal="token:airflow")
    events = [
        run_event("etl", run_id(1), "START", 0, inputs=[ds("pg", "raw")], outputs=[ds("pg", "clean")]),
        run_event("etl", run_id(1), "COMPLETE", 5, inputs=[ds("pg", "raw")], outputs=[ds("pg", "clean")]),
    ]
    outcomes = ingester.ingest_many(events)
    seqs = [o.raw_seq for o in outcomes]  # type: ignore[union-attr]
    assert all(isinstance(s, int) for s in seqs) and len(set(seqs)) == 2
    registered = [e for e in store.audit_entries(AuditFilter(limit=100)) if e.action == "register"]
    assert [e.payload["openlineage"]["raw_seq"] for e in registered] == seqs
    for entry, outcome in zip(registered, outcomes, strict=True):
        assert entry.payload["openlineage"]["subject"] == outcome.subject  # type: ignore[union-attr]
        assert entry.payload["openlineage"]["event"] == "RunEvent"
        assert "batch" not in entry.payload and entry.principal == "token:airflow"
        assert entry.writes is not None and entry.writes["rows"] > 0
    assert store.verify_store().ok


def test_an_event_mapped_without_landing_names_no_raw_event(store: GraphStore) -> None:
    ingester = OpenLineageIngester(store, principal="replay")
    ingester.ingest(run_event("etl", run_id(2), "START", 0, outputs=[ds("pg", "t")]), land=False)
    registered = [e for e in store.audit_entries(AuditFilter(limit=100)) if e.action == "register"]
    assert [e.payload["openlineage"]["raw_seq"] for e in registered] == [None]


def test_kept_run_properties_are_dropped_when_another_writer_changes_the_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with open_store(url) as ours, open_store(url) as theirs:
        cache = VersionCache()
        first, second = "run:pipelines/a@1", "run:pipelines/b@2"

        def transaction() -> None:
            with ours.write() as tx:
                cache.begin(tx.audit_head(), ours)
                cache.end(tx.audit_head())

        transaction()
        cache.keep_run(first, {"status": "START"})
        cache.keep_run(second, {"status": "START"})
        run_a = NodeSpec(kind=NodeKind.RUN, namespace="pipelines", name="a", version="1")
        theirs.register(Batch(nodes=[run_a]), principal="other")
        transaction()  # catches up with the other writer's entry, which names run a
        assert cache.run(first) is None
        assert cache.run(second) == {"status": "START"}
        cache.forget([second])
        assert cache.run(second) is None


def test_kept_runs_are_bounded_oldest_first() -> None:
    cache = VersionCache(max_runs=2)
    for i in range(3):
        cache.keep_run(f"run:p/j@{i}", {"i": i})
    assert cache.run("run:p/j@0") is None and cache.run("run:p/j@2") == {"i": 2}


def test_what_the_mapping_cannot_store_is_refused_naming_the_rule(sqlite_store: GraphStore) -> None:
    ingester = OpenLineageIngester(sqlite_store, principal="sdk")
    nan_facet = run_event("etl", run_id(3), "START", 0, outputs=[ds("pg", "t", custom={"score": float("nan")})])
    too_long = ds("pg", "t", version={"datasetVersion": "v" * 600})
    long_version = run_event("etl", run_id(4), "START", 0, outputs=[too_long])
    good = run_event("etl", run_id(5), "START", 0, outputs=[ds("pg", "t")])
    # A version facet too long to be an id part is refused with the event, naming the field.
    with pytest.raises(ValidationError, match=r"\[1\]: .*outputs\[0\]\.facets\.version: version is longer"):
        ingester.ingest_many([good, long_version])
    results = ingester.ingest_many([nan_facet, good])
    assert isinstance(results[0], LineageError) and "NaN" in results[0].message
    assert not isinstance(results[1], LineageError) and results[1].nodes_created >= 2
