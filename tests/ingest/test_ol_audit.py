"""What the audit log says about mapped OpenLineage events: one entry per event that changed the
graph, naming the event by its landing-zone number, with facts that prove every row written."""

from __future__ import annotations

from ol_support import ds, run_event, run_id

from lineage.ingest.openlineage import OpenLineageIngester
from lineage.storage import GraphStore
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
