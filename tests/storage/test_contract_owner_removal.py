"""Owners: an explicit removal wins over an unchanged re-declaration (contract, every backend).

A CI job registers the same batch on every run; once an owner has been removed from a node, those
re-registrations must not put it back (nor write an audit entry each time). Adding it explicitly
does, and a new version of the node starts with the owners its batch declares.
"""

from __future__ import annotations

from contract_support import all_audit, ds, nid, reg

from lineage.storage import GraphStore


def _owners(store: GraphStore, node_id: str) -> list[str]:
    return sorted(store.get_node(node_id).owners)


def test_removed_owner_is_not_re_added_by_re_registration(store: GraphStore) -> None:
    spec = {**ds("orders", "7"), "owners": ["team-a", "team-b"]}
    node = nid(spec)
    reg(store, [spec])
    store.annotate(node, "owner", remove=["team-b"], principal="user:alice", source="test")
    entries = len(all_audit(store))
    for _ in range(3):  # CI re-runs with the unchanged lineage.yaml
        result = reg(store, [spec])
        assert result.nodes_updated == 0 and result.audit_seq is None
    assert _owners(store, node) == ["team-a"]
    assert len(all_audit(store)) == entries  # nothing written, nothing audited
    # a newly declared owner is still added; the removed one stays removed
    reg(store, [{**spec, "owners": ["team-a", "team-b", "team-c"]}])
    assert _owners(store, node) == ["team-a", "team-c"]


def test_replace_counts_as_removal_and_explicit_add_brings_an_owner_back(store: GraphStore) -> None:
    spec = {**ds("orders", "8"), "owners": ["team-a", "team-b"]}
    node = nid(spec)
    reg(store, [spec])
    store.annotate(node, "owner", replace=["team-z"], principal="user:alice", source="test")
    reg(store, [spec])
    assert _owners(store, node) == ["team-z"]
    store.annotate(node, "owner", add=["team-a"], principal="user:alice", source="test")
    reg(store, [spec])
    assert _owners(store, node) == ["team-a", "team-z"]
    # another version of the dataset is another node: it gets what its batch declares
    newer = {**ds("orders", "9"), "owners": ["team-a", "team-b"]}
    reg(store, [newer])
    assert _owners(store, nid(newer)) == ["team-a", "team-b"]
