"""`lineage migrate`: a store copied into another, in both directions, is the same store.

The history covers everything a copy must carry: property revisions, owners and tags added and
removed, retracted nodes (with their cascaded edges) and edges, tokens (one revoked), raw events and
the hash-chained audit log. A round trip SQLite -> Neo4j -> SQLite must give back every record
unchanged, and both copies must keep working: the next write continues the same chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage.cli import build_app
from lineage.errors import ConflictError
from lineage.model import parse_batch
from lineage.storage import AuditFilter, Direction, GraphStore, open_store
from lineage.storage.base import Section, TokenRecord
from lineage.storage.migrate import copy_store, verify_copy

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def ds(name: str, version: str = "1", **extra: Any) -> dict[str, Any]:
    return {"kind": "Dataset", "namespace": "wh", "name": name, "version": version, **extra}


def history(store: GraphStore) -> None:
    nodes = [
        ds("raw", owners=["alice"], properties={"rows": 1}),
        ds("clean"),
        {"kind": "Run", "namespace": "ci", "name": "etl", "version": "1"},
        {"kind": "Feature", "namespace": "fs", "name": "f", "version": "1"},
        {"kind": "Model", "namespace": "ml", "name": "m", "version": "1"},
        {"kind": "Deployment", "namespace": "prod", "name": "api"},
    ]
    edges = [
        {"from": "dataset:wh/raw@1", "type": "INPUT_TO", "to": "run:ci/etl@1"},
        {"from": "run:ci/etl@1", "type": "PRODUCED", "to": "dataset:wh/clean@1"},
        {"from": "dataset:wh/clean@1", "type": "FEEDS", "to": "feature:fs/f@1"},
        {"from": "feature:fs/f@1", "type": "FEEDS", "to": "deployment:prod/api"},
        {"from": "model:ml/m@1", "type": "DEPLOYED_AS", "to": "deployment:prod/api"},
        {"from": "dataset:wh/raw@1", "type": "FEEDS", "to": "dataset:wh/clean@1"},
    ]
    store.register(parse_batch({"nodes": nodes, "edges": edges}), principal="alice", source="ci")
    store.register(parse_batch({"nodes": [ds("raw", properties={"rows": 2})]}), principal="bob")
    store.register(parse_batch({"nodes": [ds("raw", properties={"rows": 1})]}), principal="bob")  # back again
    store.register(parse_batch({"nodes": [ds("clean", event_time="2026-03-01T00:00:00Z")]}), principal="bob")
    store.annotate("dataset:wh/raw@1", "tag", add=["pii", "gdpr"], principal="carol")
    store.annotate("dataset:wh/raw@1", "tag", remove=["gdpr"], principal="carol")
    store.annotate("dataset:wh/clean@1", "owner", add=["dave"], principal="carol")
    store.retract("dataset:wh/raw@1 -FEEDS-> dataset:wh/clean@1", reason="duplicate", principal="alice")
    store.register(
        parse_batch(
            {
                "nodes": [ds("clean", "2"), ds("other")],
                "edges": [{"from": "dataset:wh/other@1", "type": "FEEDS", "to": "dataset:wh/clean@2"}],
            }
        ),
        principal="alice",
    )
    store.retract("dataset:wh/other@1", reason="wrong source", principal="alice")
    store.record_token(TokenRecord("ci", "writer", ("wh",), "h1", T0, "alice"), principal="alice")
    store.record_token(TokenRecord("old", "reader", (), "h2", T0 + timedelta(seconds=1), "alice"), principal="alice")
    store.revoke_token("old", principal="alice")
    store.append_raw_event("openlineage", {"eventType": "START", "ü": [1, 2.5, None, {"x": "y"}]})
    store.append_raw_events("openlineage", [{"eventType": "COMPLETE"}, {"eventType": "FAIL"}])


def dump(store: GraphStore) -> dict[str, list[Any]]:
    return {s.value: [r for chunk in store.export_section(s, 3) for r in chunk] for s in Section}


def sqlite_url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture
def source(tmp_path: Path) -> Iterator[GraphStore]:
    st = open_store(sqlite_url(tmp_path, "source.db"))
    history(st)
    try:
        yield st
    finally:
        st.close()


def assert_keeps_working(store: GraphStore, previous_head: str) -> None:
    """A write after the copy continues the copied chain and is recorded after everything in it."""
    last = store.audit_entries(AuditFilter(limit=1_000_000))[-1]
    result = store.register(parse_batch({"nodes": [ds("after-copy")]}), principal="erin")
    entry = store.audit_entries(AuditFilter(after_seq=last.seq))[0]
    assert entry.seq == last.seq + 1 and entry.prev_hash == previous_head
    assert result.recorded_at is not None and result.recorded_at > last.at
    assert store.verify_audit().ok
    assert store.append_raw_event("x", {}) == store.counts()["raw_events"]


def test_sqlite_to_sqlite_copy_is_identical(source: GraphStore, tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path, "copy.db")) as target:
        seen: list[tuple[str, int, int | None]] = []
        report = copy_store(source, target, batch_size=2, progress=lambda s, d, t: seen.append((s.value, d, t)))
        assert report.copied["nodes"] == 8 and report.copied["audit"] == source.counts()["audit_entries"]
        assert ("nodes", 8, 8) in seen
        assert dump(target) == dump(source)
        assert verify_copy(source, target).ok
        assert_keeps_working(target, source.verify_audit().head)


def test_copy_refuses_a_store_that_is_not_empty(source: GraphStore, tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path, "busy.db")) as target:
        target.register(parse_batch({"nodes": [ds("x")]}), principal="p")
        with pytest.raises(ConflictError):
            copy_store(source, target)


def test_verification_finds_a_difference(source: GraphStore, tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path, "copy.db")) as target:
        copy_store(source, target)
        target.annotate("dataset:wh/clean@1", "tag", add=["changed-after-copy"], principal="mallory")
        report = verify_copy(source, target)
        assert not report.ok
        assert any("counts" in p or "audit" in p for p in report.problems)


@pytest.mark.neo4j
@pytest.mark.parametrize("backend", ["neo4j"])
def test_round_trip_through_neo4j(source: GraphStore, store: GraphStore, tmp_path: Path) -> None:
    before = dump(source)
    copy_store(source, store, batch_size=4)
    check = verify_copy(source, store)
    assert check.ok, check.problems
    assert dump(store) == before
    # as-of reads agree at every recorded time, both directions
    for entry in source.audit_entries(AuditFilter(limit=1000)):
        for node in ("dataset:wh/raw@1", "dataset:wh/clean@1", "deployment:prod/api"):
            assert source.get_nodes([node], entry.at) == store.get_nodes([node], entry.at)
            for d in Direction:
                a = source.get_nodes([node], entry.at) and source.reach(node, d, as_of=entry.at).nodes
                b = store.get_nodes([node], entry.at) and store.reach(node, d, as_of=entry.at).nodes
                assert a == b
    with open_store(sqlite_url(tmp_path, "back.db")) as back:
        copy_store(store, back, batch_size=3)
        assert verify_copy(store, back).ok
        assert dump(back) == before
    assert_keeps_working(store, source.verify_audit().head)


@pytest.mark.neo4j
@pytest.mark.parametrize("backend", ["neo4j"])
def test_cli_migrates_both_ways(source: GraphStore, store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    there = runner.invoke(
        build_app(), ["migrate", "--from", source.url, "--to", store_url, "--batch-size", "2", "--format", "json"]
    )
    assert there.exit_code == 0, there.output
    report = json.loads(there.stdout)
    assert report["ok"] and report["verified"] and report["copied"]["nodes"] == 8
    back_url = sqlite_url(tmp_path, "back.db")
    back = runner.invoke(build_app(), ["migrate", "--from", store_url, "--to", back_url])
    assert back.exit_code == 0, back.output
    assert "verified" in back.output
    again = runner.invoke(build_app(), ["migrate", "--from", store_url, "--to", back_url])
    assert again.exit_code == 2 and "not empty" in again.output
    verify = runner.invoke(build_app(), ["audit", "verify", "--store", back_url])
    assert verify.exit_code == 0, verify.output
