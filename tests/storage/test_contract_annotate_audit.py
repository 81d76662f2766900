"""Contract: owners and tags through ``annotate``; one audit entry per write, chained and verifiable."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from contract_support import PRINCIPAL, all_audit, ds, edge, nid, reg, run, snapshot

from lineage.audit import GENESIS, digest
from lineage.errors import NotFoundError, ValidationError
from lineage.storage import AuditFilter, GraphStore

NODE = ds("orders")
ID = nid(NODE)


def owners(store: GraphStore) -> list[str]:
    return sorted(store.get_node(ID).owners)


def test_annotate_add_remove_replace(store: GraphStore) -> None:
    reg(store, [NODE])
    r1 = store.annotate(ID, "owner", add=["team-a", "team-b"], principal="user:ann")
    assert r1.changed and owners(store) == ["team-a", "team-b"]
    r2 = store.annotate(ID, "owner", remove=["team-a", "not-there"], principal="user:bob")
    assert r2.changed and owners(store) == ["team-b"]
    r3 = store.annotate(ID, "owner", replace=["team-c", "team-d"], principal="user:ann")
    assert r3.changed and owners(store) == ["team-c", "team-d"]
    r4 = store.annotate(ID, "tag", add=["pii"], principal="user:ann")
    assert r4.changed and store.get_node(ID).tags == ("pii",)
    assert owners(store) == ["team-c", "team-d"]  # tags do not touch owners

    entries = all_audit(store)
    assert [e.action for e in entries] == ["register", "annotate.owner", "annotate.owner", "annotate.owner",
                                           "annotate.tag"]
    assert [e.principal for e in entries[1:]] == ["user:ann", "user:bob", "user:ann", "user:ann"]
    assert entries[1].payload["added"] == ["team-a", "team-b"] and entries[1].payload["removed"] == []
    assert entries[2].payload["removed"] == ["team-a"]
    assert sorted(entries[3].payload["added"]) == ["team-c", "team-d"] and entries[3].payload["removed"] == [
        "team-b"
    ]
    assert all(ID in e.subjects for e in entries)
    assert [r.audit_seq for r in (r1, r2, r3, r4)] == [2, 3, 4, 5]

    # the full history is kept: nothing removed, only retracted
    history = store.annotations(ID)
    assert sorted(a.value for a in history if a.key == "owner") == ["team-a", "team-b", "team-c", "team-d"]
    gone = {a.value for a in history if a.retracted_at is not None}
    assert gone == {"team-a", "team-b"}
    assert {a.value for a in store.annotations(ID, include_retracted=False)} == {"team-c", "team-d", "pii"}
    assert store.nodes_with_annotation("owner", "team-c") == [ID]
    assert store.nodes_with_annotation("owner", "team-a") == []
    assert store.verify_audit().ok


def test_annotate_without_change_writes_nothing(store: GraphStore) -> None:
    reg(store, [{**NODE, "owners": ["team-a"]}])
    state = snapshot(store)
    for kwargs in ({"add": ["team-a"]}, {"remove": ["team-z"]}, {"replace": ["team-a"]}, {"add": []}):
        result = store.annotate(ID, "owner", principal=PRINCIPAL, **kwargs)  # type: ignore[arg-type]
        assert not result.changed and result.audit_seq is None
    assert snapshot(store) == state


def test_annotate_refusals(store: GraphStore) -> None:
    reg(store, [NODE])
    state = snapshot(store)
    with pytest.raises(ValidationError):
        store.annotate(ID, "colour", add=["red"], principal=PRINCIPAL)
    with pytest.raises(ValidationError):
        store.annotate(ID, "owner", add=[" "], principal=PRINCIPAL)
    with pytest.raises(ValidationError):
        store.annotate(ID, "owner", add=["x" * 201], principal=PRINCIPAL)
    with pytest.raises(NotFoundError):
        store.annotate(nid(ds("ghost")), "owner", add=["team"], principal=PRINCIPAL)
    with pytest.raises(ValidationError):
        store.annotate("ghost", "owner", add=["team"], principal=PRINCIPAL)
    assert snapshot(store) == state


def test_every_write_appends_one_chained_entry(store: GraphStore) -> None:
    a, r, b = ds("a"), run("r"), ds("b")
    results = [
        reg(store, [a], principal="user:one"),
        reg(store, [r, b], [edge(a, "INPUT_TO", r), edge(r, "PRODUCED", b)], principal="ci:two"),
        reg(store, [a], principal="user:one"),  # repeat: no entry
        store.annotate(nid(a), "owner", add=["team"], principal="user:one"),
        store.retract(nid(b), reason="bad", principal="user:three"),
    ]
    entries = all_audit(store)
    changed = [res for res in results if res.changed]
    assert len(entries) == len(changed) == 4
    assert [e.seq for e in entries] == [1, 2, 3, 4] == [res.audit_seq for res in changed]
    assert [e.at for e in entries] == [res.recorded_at for res in changed]
    assert all(x.at < y.at for x, y in itertools.pairwise(entries))
    # each entry hashes its payload and points at the previous one
    prev = GENESIS
    for e in entries:
        assert e.prev_hash == prev
        assert e.payload_digest == digest(e.payload)
        assert e.hash == digest(e.header())
        prev = e.hash
    assert [e.action for e in entries] == ["register", "register", "annotate.owner", "retract"]
    assert [e.principal for e in entries] == ["user:one", "ci:two", "user:one", "user:three"]
    assert all(e.source == "test" for e in entries[:2])
    assert set(entries[1].subjects) == {nid(a), nid(r), nid(b)}
    assert entries[1].payload["summary"]["nodes_created"] == 2
    assert entries[1].payload["summary"]["edges_created"] == 2

    verification = store.verify_audit()
    assert verification.ok and verification.entries == 4 and verification.head == entries[-1].hash
    assert verification.first_bad_seq is None
    assert store.verify_audit(expect_head=entries[-1].hash).ok
    bad = store.verify_audit(expect_head=entries[-2].hash)
    assert not bad.ok and bad.first_bad_seq == 5


def test_audit_filters(store: GraphStore) -> None:
    a, b = ds("a"), ds("b")
    r1 = reg(store, [a], principal="user:ann")
    r2 = reg(store, [b], principal="user:bob")
    r3 = store.annotate(nid(a), "owner", add=["x"], principal="user:bob")
    assert r1.recorded_at and r2.recorded_at and r3.recorded_at

    def seqs(**kw: object) -> list[int]:
        return [e.seq for e in store.audit_entries(AuditFilter(**kw))]  # type: ignore[arg-type]

    assert seqs() == [1, 2, 3]
    assert seqs(principal="user:bob") == [2, 3]
    assert seqs(principal="nobody") == []
    assert seqs(subject=nid(a)) == [1, 3]
    assert seqs(subject=nid(a), after_seq=1) == [3]
    assert seqs(subject=nid(a), limit=1) == [1]
    assert seqs(subject=nid(b)) == [2]
    assert seqs(action="register") == [1, 2]
    assert seqs(since=r2.recorded_at) == [2, 3]
    assert seqs(until=r2.recorded_at) == [1, 2]
    assert seqs(since=r2.recorded_at, until=r2.recorded_at) == [2]
    assert seqs(until=r1.recorded_at - timedelta(microseconds=1)) == []
    assert seqs(after_seq=1, limit=1) == [2]
    assert [e.seq for e in store.iter_audit()] == [1, 2, 3]
    assert store.history(nid(a))["audit"] == store.audit_entries(AuditFilter(subject=nid(a)))
