"""The Neo4j store answers exactly like the embedded store.

One scripted history (registrations, property revisions, owners and tags, retractions of nodes and
edges, tokens, raw events) is applied to both backends; then every read of the contract is asked on
both, at every point in time the history passed through, and the answers must be equal. Recording
times differ between the two runs, so each time is replaced by the audit entry it belongs to.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import pytest

from lineage.model import EdgeType, NodeKind, parse_batch
from lineage.storage import AuditFilter, Direction, GraphStore, NodeFilter
from lineage.storage.base import TokenRecord

pytestmark = [pytest.mark.neo4j, pytest.mark.parametrize("backend", ["neo4j"])]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ds(name: str, version: str = "1", ns: str = "wh", **extra: Any) -> dict[str, Any]:
    return {"kind": "Dataset", "namespace": ns, "name": name, "version": version, **extra}


def scenario(store: GraphStore) -> None:
    """The history applied to both stores, in the same order."""
    store.register(
        parse_batch(
            {
                "nodes": [
                    ds("Orders_Raw", owners=["team-data", "alice"], properties={"rows": 10, "fmt": "csv"}),
                    ds("customers", event_time="2026-01-01T10:00:00Z"),
                    ds("Émissions", ns="geo"),
                    ds("café", ns="geo"),
                    {
                        "kind": "Run",
                        "namespace": "ci",
                        "name": "etl",
                        "version": "r1",
                        "properties": {"status": "COMPLETE"},
                    },
                    {"kind": "CodeCommit", "namespace": "git", "name": "repo", "version": "abc123"},
                    ds("orders_clean"),
                    {"kind": "Feature", "namespace": "fs", "name": "orders_30d", "version": "v1"},
                    {"kind": "Model", "namespace": "ml", "name": "churn", "version": "3", "owners": ["ml-team"]},
                    {"kind": "Deployment", "namespace": "prod", "name": "churn-api"},
                ],
                "edges": [
                    {"from": "dataset:wh/Orders_Raw@1", "type": "INPUT_TO", "to": "run:ci/etl@r1"},
                    {"from": "dataset:wh/customers@1", "type": "INPUT_TO", "to": "run:ci/etl@r1"},
                    {"from": "codecommit:git/repo@abc123", "type": "EXECUTED_IN", "to": "run:ci/etl@r1"},
                    {"from": "run:ci/etl@r1", "type": "PRODUCED", "to": "dataset:wh/orders_clean@1"},
                    {"from": "dataset:wh/orders_clean@1", "type": "FEEDS", "to": "feature:fs/orders_30d@v1"},
                    {"from": "feature:fs/orders_30d@v1", "type": "FEEDS", "to": "deployment:prod/churn-api"},
                    {"from": "model:ml/churn@3", "type": "DEPLOYED_AS", "to": "deployment:prod/churn-api"},
                    {"from": "dataset:wh/customers@1", "type": "FEEDS", "to": "dataset:wh/orders_clean@1"},
                    {"from": "dataset:geo/Émissions@1", "type": "FEEDS", "to": "dataset:geo/café@1"},
                ],
            }
        ),
        principal="alice",
        source="cli",
    )
    time.sleep(0.002)
    # A repeat changes nothing; a property change is a new revision; new owners are added.
    store.register(parse_batch({"nodes": [ds("customers", event_time="2026-01-01T10:00:00Z")]}), principal="bob")
    store.register(
        parse_batch(
            {
                "nodes": [
                    ds("Orders_Raw", owners=["carol"], properties={"rows": 12}, event_time="2026-01-02T00:00:00Z"),
                    ds("orders_clean", version="2"),
                ],
                "edges": [{"from": "run:ci/etl@r1", "type": "PRODUCED", "to": "dataset:wh/orders_clean@2"}],
            }
        ),
        principal="bob",
        source="api",
    )
    store.annotate("dataset:wh/Orders_Raw@1", "tag", add=["pii", "gdpr"], principal="carol")
    store.annotate("dataset:wh/orders_clean@1", "tag", add=["pii"], principal="carol")
    store.annotate("dataset:wh/Orders_Raw@1", "owner", replace=["alice", "dave"], principal="carol")
    store.retract("dataset:wh/customers@1 -FEEDS-> dataset:wh/orders_clean@1", reason="wrong link", principal="alice")
    store.annotate("dataset:wh/Orders_Raw@1", "tag", remove=["gdpr"], principal="carol")
    store.retract("dataset:wh/orders_clean@1", reason="corrupt", principal="alice")
    store.register(
        parse_batch(
            {
                "nodes": [
                    {"kind": "Model", "namespace": "ml", "name": "churn", "version": "3", "properties": {"auc": 0.91}}
                ],
                "edges": [{"from": "dataset:wh/orders_clean@2", "type": "FEEDS", "to": "feature:fs/orders_30d@v1"}],
            }
        ),
        principal="alice",
    )
    token = TokenRecord("ci", "writer", ("wh",), "hash-1", T0, "alice")
    store.record_token(token, principal="alice")
    store.record_token(
        TokenRecord("reader", "reader", (), "hash-2", T0 + timedelta(seconds=1), "alice"), principal="alice"
    )
    store.revoke_token("ci", principal="alice")
    store.append_raw_event("openlineage", {"eventType": "START", "run": {"runId": "r1"}, "ü": [1, 2.5, None]})
    store.append_raw_event("openlineage", {"eventType": "COMPLETE"})


class Normaliser:
    """Replace each recording time by the audit entry that recorded it, so runs compare."""

    def __init__(self, store: GraphStore) -> None:
        self.labels = {e.at: f"T{e.seq}" for e in store.iter_audit()}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return self.labels.get(value, value.isoformat())
        if isinstance(value, Enum):
            return value.value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: self(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")
            }
        if isinstance(value, dict):
            return {str(self(k)): self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


def snapshot(store: GraphStore) -> dict[str, Any]:
    norm = Normaliser(store)
    entries = list(store.iter_audit())
    ids = sorted({n.id for n in store.list_nodes(NodeFilter(), limit=1000)} | {s for e in entries for s in e.subjects})
    times: list[datetime | None] = [None, entries[0].at - timedelta(microseconds=1)]
    for e in entries:
        times += [e.at - timedelta(microseconds=1), e.at]
    out: dict[str, Any] = {"counts": store.counts(), "verify": store.verify_audit().ok}
    for i, t in enumerate(times):
        snap: dict[str, Any] = {"nodes": norm(store.get_nodes(ids, t))}
        for node in ids:
            for d in Direction:
                try:
                    reach = store.reach(node, d, as_of=t)
                except Exception as exc:
                    snap[f"reach {node} {d}"] = type(exc).__name__
                    continue
                snap[f"reach {node} {d}"] = [(norm(r), reach.path_ids(r.id)) for r in reach.nodes]
            snap[f"edges {node}"] = norm(store.node_edges(node, as_of=t))
        for text in ["orders", "ORDERS", "raw", "é", "É", "café", "wh/", "", "zzz", "o_", "%"]:
            snap[f"search {text}"] = [n.id for n in store.search(text, as_of=t)]
            snap[f"search {text} ds"] = [n.id for n in store.search(text, kinds=[NodeKind.DATASET], limit=2, as_of=t)]
        filters = [
            NodeFilter(),
            NodeFilter(kinds=(NodeKind.DATASET, NodeKind.MODEL)),
            NodeFilter(namespace="wh"),
            NodeFilter(name_prefix="ORD"),
            NodeFilter(name_prefix="o_"),
            NodeFilter(tag="pii"),
            NodeFilter(owner="alice"),
            NodeFilter(owner="carol", kinds=(NodeKind.DATASET,)),
            NodeFilter(recorded_since=entries[1].at if len(entries) > 1 else None),
            NodeFilter(recorded_until=entries[0].at),
        ]
        for j, filt in enumerate(filters):
            pages, after = [], None
            while True:
                page = store.list_nodes(filt, after=after, limit=3, as_of=t)
                pages.append(norm(page))
                if len(page) < 3:
                    break
                after = page[-1].id
            snap[f"list {j}"] = pages
        for key, value in [("tag", "pii"), ("tag", "gdpr"), ("owner", "alice"), ("owner", "carol")]:
            snap[f"with {key}={value}"] = store.nodes_with_annotation(key, value, as_of=t)
        out[f"as_of {i}"] = snap
    for node in ids:
        out[f"any {node}"] = norm(store.get_node_any(node))
        out[f"revisions {node}"] = norm(store.revisions(node))
        out[f"annotations {node}"] = norm(store.annotations(node))
        out[f"annotations current {node}"] = norm(store.annotations(node, include_retracted=False))
        all_edges = store.node_edges(node, include_retracted=True)
        out[f"all edges {node}"] = norm(all_edges)
        for e in all_edges:
            out[f"edge {e.id}"] = norm(store.get_edge_any((e.source, e.type, e.target)))
        out[f"audit subject {node}"] = [e.seq for e in store.audit_entries(AuditFilter(subject=node))]
    out["edge missing"] = store.get_edge_any(("dataset:wh/x@1", EdgeType.FEEDS, "dataset:wh/y@1"))
    audit_filters = [
        AuditFilter(),
        AuditFilter(principal="alice"),
        AuditFilter(action="retract"),
        AuditFilter(action="annotate.tag", principal="carol"),
        AuditFilter(since=entries[2].at, until=entries[5].at),
        AuditFilter(after_seq=3, limit=2),
        AuditFilter(subject="dataset:wh/Orders_Raw@1", after_seq=1, limit=3),
    ]
    for j, af in enumerate(audit_filters):
        out[f"audit {j}"] = [
            {k: v for k, v in norm(e).items() if k not in ("hash", "prev_hash")} for e in store.audit_entries(af)
        ]
    out["tokens"] = norm(store.tokens())
    out["find token"] = norm(store.find_token("hash-2"))
    out["find token missing"] = store.find_token("nope")
    out["raw"] = [(e.seq, e.source, e.payload) for e in store.iter_raw_events()]
    out["raw after 1"] = [e.seq for e in store.iter_raw_events(1)]
    return out


def test_neo4j_answers_like_sqlite(store: GraphStore, sqlite_store: GraphStore) -> None:
    scenario(sqlite_store)
    scenario(store)
    expected = snapshot(sqlite_store)
    actual = snapshot(store)
    assert expected["verify"] is True
    assert actual.keys() == expected.keys()
    for key in expected:
        assert actual[key] == expected[key], key


def test_strictly_increasing_recording_times(store: GraphStore) -> None:
    for i in range(20):
        store.register(parse_batch({"nodes": [ds(f"n{i}")]}), principal="p")
    ats = [e.at for e in store.iter_audit()]
    assert len(ats) == 20
    assert all(b > a for a, b in itertools.pairwise(ats))
