"""Contract: a batch large enough to write its rows while its audit entry is computed keeps every rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from contract_support import PRINCIPAL, ds, edge, nid, reg, run

from lineage.model import parse_batch
from lineage.storage import AuditFilter, GraphStore
from lineage.storage import writes as write_rules


def chain(length: int, tag: str = "") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs and datasets alternating: d0 -> r0 -> d1 -> r1 -> ..., with a property on each dataset."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    prev = None
    for i in range(length):
        d = ds(f"t{tag}{i}", "v1", rows=i, note="é")
        r = run(f"job{tag}{i}", f"r{i}")
        nodes += [d, r]
        if prev is not None:
            edges.append(edge(prev, "PRODUCED", d))
        edges.append(edge(d, "INPUT_TO", r))
        prev = r
    return nodes, edges


def large(tag: str = "") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes, edges = chain(write_rules.OVERLAP_MIN // 3 + 10, tag)
    assert len(nodes) + len(edges) >= write_rules.OVERLAP_MIN
    return nodes, edges


def test_large_batch_is_written_whole_and_verifies(store: GraphStore) -> None:
    nodes, edges = large()
    result = reg(store, nodes, edges)
    assert (result.nodes_created, result.edges_created) == (len(nodes), len(edges))
    counts = store.counts()
    assert (counts["nodes"], counts["edges"], counts["audit_entries"]) == (len(nodes), len(edges), 1)
    assert store.get_node(nid(nodes[0])).properties == {"rows": 0, "note": "é"}
    verification = store.verify_store()
    assert verification.ok, verification.to_dict()
    again = reg(store, nodes, edges)
    assert not again.changed
    assert store.counts()["audit_entries"] == 1


def test_large_batch_audit_entry_reads_back_whole(store: GraphStore) -> None:
    nodes, edges = large("p")
    reg(store, nodes, edges)
    reg(store, [ds("tp0", "v1", rows=1, note="changed")], [])
    first = store.audit_entries()[0]
    assert len(first.payload_text()) > 64 * 1024  # a bulk entry, the size stores may keep compressed
    assert first.payload["batch"]["nodes"][-1]["name"] == nodes[-1]["name"]
    assert len(first.payload["batch"]["edges"]) == len(edges)
    by_subject = store.audit_entries(AuditFilter(subject=nid(nodes[0])))
    assert [e.seq for e in by_subject] == [1, 2]
    assert by_subject[0] == first
    assert [e.seq for e in store.audit_entries(AuditFilter(subject=nid(nodes[-1])))] == [1]
    assert list(store.iter_audit()) == store.audit_entries()
    verification = store.verify_store()
    assert verification.ok, verification.to_dict()


def test_large_batch_that_fails_while_its_entry_is_computed_writes_nothing(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg(store, [ds("before")], [])
    before = store.counts()

    def broken(*_args: Any) -> Any:
        raise RuntimeError("digest failed")

    monkeypatch.setattr(write_rules, "_registered", broken)
    nodes, edges = large()
    with pytest.raises(RuntimeError, match="digest failed"):
        reg(store, nodes, edges)
    monkeypatch.undo()
    assert store.counts() == before
    assert store.get_nodes([nid(nodes[0])]) == {}
    # the store is still usable, and the rows arrive whole once the write succeeds
    result = reg(store, nodes, edges)
    assert result.nodes_created == len(nodes)
    assert store.verify_store().ok


def test_large_batch_that_fails_while_writing_rows_writes_nothing(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = store.counts()
    real = write_rules._stage

    def half(tx: Any, plan: Any, at: Any, principal: str) -> Callable[[], None]:
        real(tx, plan, at, principal)  # staged as usual, never sent

        def nodes_then_fail() -> None:  # on the write thread, as the real rows go
            tx.stage_nodes(plan.new_nodes, at, principal)()
            raise RuntimeError("connection lost")

        return nodes_then_fail

    monkeypatch.setattr(write_rules, "_stage", half)
    nodes, edges = large()
    with pytest.raises(RuntimeError, match="connection lost"):
        store.register(parse_batch({"nodes": nodes, "edges": edges}), principal=PRINCIPAL, source="test")
    monkeypatch.setattr(write_rules, "_stage", real)
    assert store.counts() == before
    assert store.get_nodes([nid(nodes[-1])]) == {}
