"""Contract: retraction hides without deleting; as-of queries give exactly the graph recorded then."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from contract_support import PRINCIPAL, all_audit, dep, ds, edge, eid, feat, model, nid, reg, run, snapshot

from lineage.errors import ConflictError, NotFoundError, ValidationError
from lineage.model import EdgeType
from lineage.storage import Direction, GraphStore, NodeFilter

US = timedelta(microseconds=1)

A_NODES = [ds("raw"), run("etl"), ds("clean")]
A_EDGES = [edge(A_NODES[0], "INPUT_TO", A_NODES[1]), edge(A_NODES[1], "PRODUCED", A_NODES[2])]
B_NODES = [feat("f"), run("train"), model("m"), dep("svc")]
B_EDGES = [
    edge(A_NODES[2], "FEEDS", B_NODES[0]),
    edge(B_NODES[0], "INPUT_TO", B_NODES[1]),
    edge(B_NODES[1], "PRODUCED", B_NODES[2]),
    edge(B_NODES[2], "DEPLOYED_AS", B_NODES[3]),
]
ROOT = nid(A_NODES[0])


def down(store: GraphStore, start: str, as_of: datetime | None = None) -> set[str]:
    return {r.id for r in store.reach(start, Direction.DOWNSTREAM, as_of=as_of).nodes}


def visible(store: GraphStore, as_of: datetime | None = None) -> set[str]:
    return {n.id for n in store.list_nodes(NodeFilter(), limit=10_000, as_of=as_of)}


def test_retract_node_hides_it_and_its_edges(store: GraphStore) -> None:
    reg(store, A_NODES + B_NODES, A_EDGES + B_EDGES)
    target = nid(B_NODES[0])  # the feature, in the middle
    before = down(store, ROOT)
    result = store.retract(target, reason="computed from a bad snapshot", principal="user:ann")
    assert result.changed and result.audit_seq == 2 and result.recorded_at is not None

    with pytest.raises(NotFoundError) as info:
        store.get_node(target)
    assert info.value.code == "NOT_FOUND" and target in info.value.message
    assert target not in store.get_nodes([target])
    assert target not in visible(store)
    assert target not in {n.id for n in store.search("f")}
    # downstream of the root now stops before the feature: the rest is reachable only through it
    assert down(store, ROOT) == before - {nid(n) for n in B_NODES}
    # its edges are gone from current queries, both directions
    assert {e.id for e in store.node_edges(nid(A_NODES[2]))} == {eid(A_EDGES[1])}
    assert all(target not in (e.source, e.target) for e in store.node_edges(nid(B_NODES[1])))

    # ... but kept, with who, when and why
    rec = store.get_node_any(target)
    assert rec is not None
    assert rec.retracted_at == result.recorded_at and rec.retracted_by == "user:ann"
    assert rec.retract_reason == "computed from a bad snapshot"
    touching = store.node_edges(target, include_retracted=True)
    assert {e.id for e in touching} == {eid(B_EDGES[0]), eid(B_EDGES[1])}
    assert all(e.retracted_at == result.recorded_at for e in touching)
    counts = store.counts()
    assert counts["nodes"] == len(A_NODES + B_NODES) and counts["current_nodes"] == counts["nodes"] - 1
    assert counts["edges"] == len(A_EDGES + B_EDGES) and counts["current_edges"] == counts["edges"] - 2

    # as of just before the retraction, everything is still there
    just_before = result.recorded_at - US
    assert store.get_node(target, as_of=just_before).id == target
    assert store.get_node(target, as_of=just_before).retracted_at is None
    assert down(store, ROOT, as_of=just_before) == before

    entry = all_audit(store)[-1]
    assert (entry.seq, entry.action, entry.principal) == (2, "retract", "user:ann")
    assert target in entry.subjects and entry.payload["reason"] == "computed from a bad snapshot"
    assert store.verify_audit().ok


def test_retract_edge(store: GraphStore) -> None:
    reg(store, A_NODES + B_NODES, A_EDGES + B_EDGES)
    e = B_EDGES[0]
    key = (e["from"], EdgeType(e["type"]), e["to"])
    result = store.retract(eid(e), reason="wrong input", principal=PRINCIPAL)
    assert result.changed

    assert down(store, ROOT) == {nid(n) for n in A_NODES[1:]}
    # both nodes stay
    assert set(store.get_nodes([e["from"], e["to"]])) == {e["from"], e["to"]}
    rec = store.get_edge_any(key)
    assert rec is not None and rec.retracted_at == result.recorded_at and rec.retract_reason == "wrong input"
    assert result.recorded_at is not None
    assert down(store, ROOT, as_of=result.recorded_at - US) == {nid(n) for n in A_NODES[1:] + B_NODES}
    assert store.counts()["current_edges"] == len(A_EDGES + B_EDGES) - 1


def test_retracting_twice_is_a_conflict(store: GraphStore) -> None:
    reg(store, A_NODES, A_EDGES)
    store.retract(nid(A_NODES[2]), reason="bad", principal=PRINCIPAL)
    store.retract(eid(A_EDGES[0]), reason="bad", principal=PRINCIPAL)
    state = snapshot(store)
    with pytest.raises(ConflictError) as info:
        store.retract(nid(A_NODES[2]), reason="again", principal=PRINCIPAL)
    assert info.value.code == "CONFLICT" and "already retracted" in info.value.message
    with pytest.raises(ConflictError):
        store.retract(eid(A_EDGES[0]), reason="again", principal=PRINCIPAL)
    # the edge to the retracted node went with it
    with pytest.raises(ConflictError):
        store.retract(eid(A_EDGES[1]), reason="again", principal=PRINCIPAL)
    assert snapshot(store) == state


def test_retracting_unknown_things_is_not_found(store: GraphStore) -> None:
    reg(store, A_NODES, A_EDGES)
    state = snapshot(store)
    with pytest.raises(NotFoundError):
        store.retract(nid(ds("nope")), reason="x", principal=PRINCIPAL)
    with pytest.raises(NotFoundError):
        store.retract(eid(edge(A_NODES[0], "INPUT_TO", run("other"))), reason="x", principal=PRINCIPAL)
    with pytest.raises(ValidationError):
        store.retract("not an id", reason="x", principal=PRINCIPAL)
    with pytest.raises(ValidationError):
        store.retract(nid(A_NODES[0]), reason="  ", principal=PRINCIPAL)
    assert snapshot(store) == state


def test_annotating_a_retracted_node_is_not_found(store: GraphStore) -> None:
    reg(store, A_NODES, A_EDGES)
    store.retract(nid(A_NODES[0]), reason="x", principal=PRINCIPAL)
    with pytest.raises(NotFoundError):
        store.annotate(nid(A_NODES[0]), "owner", add=["team"], principal=PRINCIPAL)


def test_as_of_gives_exactly_the_graph_recorded_then(store: GraphStore) -> None:
    """A at t1, B at t2, a retraction at t3: every time in between sees exactly its state."""
    a = reg(store, A_NODES, A_EDGES)
    b = reg(store, B_NODES, B_EDGES)
    c = store.retract(nid(B_NODES[1]), reason="the training run used a bad config", principal=PRINCIPAL)
    t1, t2, t3 = a.recorded_at, b.recorded_at, c.recorded_at
    assert t1 is not None and t2 is not None and t3 is not None
    assert t1 < t2 < t3

    ids_a = {nid(n) for n in A_NODES}
    ids_b = {nid(n) for n in B_NODES}
    retracted = nid(B_NODES[1])
    # what should be downstream of the root at each stage, computed from the edge lists
    stage_a = {nid(n) for n in A_NODES[1:]}
    stage_b = stage_a | ids_b
    stage_c = stage_a | {nid(B_NODES[0])}  # the run is gone, so the model and deployment are cut off

    expectations = [
        (t1 - US, set(), None),
        (t1, ids_a, stage_a),
        (t2 - US, ids_a, stage_a),
        (t2, ids_a | ids_b, stage_b),
        (t3 - US, ids_a | ids_b, stage_b),
        (t3, (ids_a | ids_b) - {retracted}, stage_c),
        (None, (ids_a | ids_b) - {retracted}, stage_c),
    ]
    for when, nodes, reach in expectations:
        assert visible(store, when) == nodes, when
        assert set(store.get_nodes(sorted(ids_a | ids_b), as_of=when)) == nodes, when
        found = {n.id for n in store.search("", limit=1000, as_of=when)}
        assert found == nodes, when
        if reach is None:
            with pytest.raises(NotFoundError):
                store.reach(ROOT, Direction.DOWNSTREAM, as_of=when)
        else:
            assert down(store, ROOT, when) == reach, when
        # the deployment's provenance, when it exists
        svc = nid(B_NODES[3])
        if svc in nodes:
            up = {r.id for r in store.reach(svc, Direction.UPSTREAM, as_of=when).nodes}
            assert up == ({nid(B_NODES[2])} if retracted not in nodes else (ids_a | ids_b) - {svc}), when

    # the retracted run is visible, unretracted, as of any time before the retraction
    assert store.get_node(retracted, as_of=t3 - US).retracted_at is None
    with pytest.raises(NotFoundError):
        store.get_node(retracted, as_of=t3)

    # the same as-of query answers the same after later writes
    early = [r.id for r in store.reach(ROOT, Direction.DOWNSTREAM, as_of=t2).nodes]
    reg(store, [ds("later")], [edge(A_NODES[2], "FEEDS", ds("later"))])
    assert [r.id for r in store.reach(ROOT, Direction.DOWNSTREAM, as_of=t2).nodes] == early


def test_as_of_edges_and_owners(store: GraphStore) -> None:
    a = reg(store, [{**A_NODES[0], "owners": ["team-a"]}, *A_NODES[1:]], A_EDGES)
    b = store.annotate(ROOT, "owner", replace=["team-b"], principal=PRINCIPAL)
    assert a.recorded_at is not None and b.recorded_at is not None
    assert store.get_node(ROOT, as_of=a.recorded_at).owners == ("team-a",)
    assert store.get_node(ROOT, as_of=b.recorded_at - US).owners == ("team-a",)
    assert store.get_node(ROOT, as_of=b.recorded_at).owners == ("team-b",)
    assert store.get_node(ROOT).owners == ("team-b",)
    assert store.nodes_with_annotation("owner", "team-a", as_of=a.recorded_at) == [ROOT]
    assert store.nodes_with_annotation("owner", "team-a") == []
    # edges as of a time
    assert {e.id for e in store.node_edges(nid(A_NODES[1]), as_of=a.recorded_at - US)} == set()
    assert {e.id for e in store.node_edges(nid(A_NODES[1]), as_of=a.recorded_at)} == {eid(e) for e in A_EDGES}


def test_as_of_records_read_exactly_as_they_read_then(store: GraphStore) -> None:
    """A record read as of T is the record that was current at T, whatever happened since: later
    property revisions, owner changes and retractions leave no trace in it."""
    first = reg(store, [{**A_NODES[0], "owners": ["team-a"]}, *A_NODES[1:]], A_EDGES)
    t = first.recorded_at
    assert t is not None
    ids = [nid(n) for n in A_NODES]
    then_nodes = {i: store.get_node(i).to_dict() for i in ids}
    then_edges = {i: [e.to_dict() for e in store.node_edges(i)] for i in ids}
    then_search = [n.to_dict() for n in store.search("", limit=100)]

    reg(store, [ds("raw", rows=99)])
    store.annotate(ROOT, "owner", replace=["team-b"], principal=PRINCIPAL)
    store.annotate(ROOT, "tag", add=["pii"], principal=PRINCIPAL)
    store.retract(eid(A_EDGES[1]), reason="wrong output", principal=PRINCIPAL)
    store.retract(ROOT, reason="corrupt", principal=PRINCIPAL)

    assert {i: store.get_node(i, as_of=t).to_dict() for i in ids} == then_nodes
    assert {i: [e.to_dict() for e in store.node_edges(i, as_of=t)] for i in ids} == then_edges
    assert [n.to_dict() for n in store.search("", limit=100, as_of=t)] == then_search


def test_retract_a_node_whose_name_holds_an_arrow(store: GraphStore) -> None:
    a, b = ds("a->b"), ds("c")
    reg(store, [a, b], [edge(a, "FEEDS", b)])
    store.retract(nid(a), reason="renamed", principal=PRINCIPAL)
    assert store.get_nodes([nid(a), nid(b)]).keys() == {nid(b)}
