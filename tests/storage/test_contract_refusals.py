"""Contract: a batch breaking any rule is refused whole, with an error naming the element and the rule,
and the store is left exactly as it was."""

from __future__ import annotations

from typing import Any

import pytest
from contract_support import PRINCIPAL, dep, ds, edge, feat, model, nid, reg, run, snapshot

from lineage.errors import (
    BadInputError,
    ConflictError,
    CycleError,
    LineageError,
    SchemaViolationError,
    UnknownReferenceError,
    ValidationError,
)
from lineage.model import parse_batch
from lineage.storage import GraphStore

# A small stored graph every refusal test starts from: s0 -> r0 -> s1 -> r1 -> s2 (datasets and runs).
S = [ds(f"s{i}") for i in range(3)]
R = [run(f"r{i}") for i in range(2)]
BASE_EDGES = [
    edge(S[0], "INPUT_TO", R[0]),
    edge(R[0], "PRODUCED", S[1]),
    edge(S[1], "INPUT_TO", R[1]),
    edge(R[1], "PRODUCED", S[2]),
]


@pytest.fixture
def seeded(store: GraphStore) -> GraphStore:
    reg(store, [*S, *R], BASE_EDGES)
    return store


def refused(store: GraphStore, raw: dict[str, Any], error: type[LineageError], element: str,
            *rule_words: str) -> LineageError:
    """Register ``raw`` through the public path, expect ``error`` naming ``element``, and check that
    nothing at all changed in the store (including the nodes the good part of the batch names)."""
    new_ids = [nid(n) for n in raw.get("nodes", [])]
    before = snapshot(store, new_ids)
    with pytest.raises(error) as info:
        store.register(parse_batch(raw), principal=PRINCIPAL, source="test")
    exc = info.value
    assert type(exc) is error, f"expected exactly {error.__name__}, got {type(exc).__name__}: {exc}"
    assert exc.code == "CONFLICT" if issubclass(error, ConflictError) else exc.code == "BAD_INPUT"
    assert exc.exit_code == 2
    assert element in exc.message, f"{element!r} not named in: {exc.message}"
    for word in rule_words:
        assert word in exc.message, f"{word!r} not in: {exc.message}"
    # ``before`` recorded the batch's new node ids as absent; they still are
    assert snapshot(store, new_ids) == before
    return exc


def good_prefix() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New, valid nodes and edges placed before the bad element, so atomicity is visible."""
    n1, n2 = ds("fresh1"), run("fresh-run")
    return [n1, n2], [edge(n1, "INPUT_TO", n2), edge(S[2], "INPUT_TO", n2)]


def test_edge_not_allowed_by_the_schema(seeded: GraphStore) -> None:
    nodes, edges = good_prefix()
    d = dep("svc")
    exc = refused(seeded, {"nodes": [*nodes, d], "edges": [*edges, edge(S[0], "DEPLOYED_AS", d)]},
                  SchemaViolationError, "edges[2]", "not allowed by the lineage schema", "Dataset", "DEPLOYED_AS")
    assert exc.details["rule"] == "schema" and exc.details["element"] == "edges[2]"


@pytest.mark.parametrize(
    ("src", "etype", "dst"),
    [
        (run("x"), "INPUT_TO", ds("y")),  # a run is not input to a dataset
        (ds("x"), "PRODUCED", ds("y")),  # only runs produce
        (model("x"), "FEEDS", dep("y")),  # a model is DEPLOYED_AS, not FEEDS
        (ds("x"), "EXECUTED_IN", run("y")),  # only commits execute in runs
        (feat("x"), "FEEDS", model("y")),  # a feature reaches a model through a run
    ],
)
def test_each_forbidden_triple_is_refused(seeded: GraphStore, src: dict, etype: str, dst: dict) -> None:
    refused(seeded, {"nodes": [src, dst], "edges": [edge(src, etype, dst)]}, SchemaViolationError, "edges[0]",
            "not allowed")


def test_edge_to_a_node_neither_stored_nor_in_the_batch(seeded: GraphStore) -> None:
    nodes, edges = good_prefix()
    ghost = nid(ds("ghost"))
    exc = refused(seeded, {"nodes": nodes, "edges": [*edges, edge(ghost, "INPUT_TO", nid(nodes[1]))]},
                  UnknownReferenceError, "edges[2]", ghost, "neither in the store nor in this batch")
    assert exc.details["missing"] == ghost and exc.details["rule"] == "reference"


def test_edge_from_a_node_neither_stored_nor_in_the_batch_target_side(seeded: GraphStore) -> None:
    ghost = nid(dep("ghost"))
    refused(seeded, {"edges": [edge(nid(model("m")), "DEPLOYED_AS", ghost)]}, UnknownReferenceError,
            "edges[0]")


def test_self_loop_is_a_cycle(seeded: GraphStore) -> None:
    nodes, edges = good_prefix()
    refused(seeded, {"nodes": nodes, "edges": [*edges, edge(S[1], "FEEDS", S[1])]}, CycleError, "edges[2]",
            "derive from itself")


def test_cycle_inside_the_batch(seeded: GraphStore) -> None:
    a, b, r = ds("ca"), ds("cb"), run("cr")
    raw = {"nodes": [a, b, r], "edges": [edge(a, "INPUT_TO", r), edge(r, "PRODUCED", b), edge(b, "FEEDS", a)]}
    exc = refused(seeded, raw, CycleError, "edges[", "derive from itself")
    assert exc.details["rule"] == "acyclic"
    assert set(exc.details["cycle"]) == {nid(a), nid(b), nid(r)}
    assert exc.details["element"] in {"edges[0]", "edges[1]", "edges[2]"}
    assert exc.details["element"] in exc.message


def test_one_edge_closing_a_cycle_through_the_store(seeded: GraphStore) -> None:
    # stored: s0 -> r0 -> s1 -> r1 -> s2; the new edge s2 -FEEDS-> s0 closes it
    nodes, edges = good_prefix()
    exc = refused(seeded, {"nodes": nodes, "edges": [*edges, edge(S[2], "FEEDS", S[0])]}, CycleError, "edges[2]",
                  nid(S[0]), nid(S[2]))
    assert set(exc.details["cycle"]) == {nid(n) for n in [*S, *R]}


def test_three_step_cycle_closed_through_stored_edges(seeded: GraphStore) -> None:
    # stored s0 -> r0 -> s1; the batch adds s1 -> new run -> s0: three new-or-stored steps back to s0
    back = run("back")
    raw = {"nodes": [back], "edges": [edge(S[1], "INPUT_TO", back), edge(back, "PRODUCED", S[0])]}
    exc = refused(seeded, raw, CycleError, "edges[", "derive from itself")
    assert set(exc.details["cycle"]) == {nid(S[0]), nid(R[0]), nid(S[1]), nid(back)}
    assert exc.details["element"] in {"edges[0]", "edges[1]"}


def test_cycle_through_two_stored_paths(seeded: GraphStore) -> None:
    # a second stored chain t0 -> q0 -> t1; the batch links s2 -> t0 and t1 -> s0: both stored paths close it
    t0, q0, t1 = ds("t0"), run("q0"), ds("t1")
    reg(seeded, [t0, q0, t1], [edge(t0, "INPUT_TO", q0), edge(q0, "PRODUCED", t1)])
    raw = {"edges": [edge(S[2], "FEEDS", t0), edge(t1, "FEEDS", S[0])]}
    exc = refused(seeded, raw, CycleError, "edges[", "derive from itself")
    assert {nid(S[0]), nid(S[2]), nid(t0), nid(t1)} <= set(exc.details["cycle"])


def test_acyclic_links_between_stored_paths_are_accepted(seeded: GraphStore) -> None:
    """The cycle check must not refuse what only looks close to a cycle."""
    t0, q0, t1 = ds("t0"), run("q0"), ds("t1")
    reg(seeded, [t0, q0, t1], [edge(t0, "INPUT_TO", q0), edge(q0, "PRODUCED", t1)])
    result = reg(seeded, [], [edge(S[2], "FEEDS", t0), edge(S[0], "FEEDS", t1), edge(S[1], "INPUT_TO", q0)])
    assert result.edges_created == 3


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ("dataset:warehouse/orders", "edges[2].from"),  # a dataset id without version
        ("deployment:prod/svc@v1", "edges[2].from"),  # a deployment id with a version
        ("table:warehouse/orders@v1", "edges[2].from"),  # unknown kind prefix
        ("dataset:orders@v1", "edges[2].from"),  # no namespace
        ("dataset:warehouse/orders@", "edges[2].from"),  # empty version
        ("Dataset:warehouse/orders@v1", "edges[2].from"),  # not the canonical prefix
        ("dataset:warehouse/my orders@v1", "edges[2].from"),  # raw space
        ("orders", "edges[2].from"),
    ],
)
def test_malformed_ids_are_refused(seeded: GraphStore, bad: str, where: str) -> None:
    nodes, edges = good_prefix()
    raw = {"nodes": nodes, "edges": [*edges, {"from": bad, "type": "FEEDS", "to": nid(S[0])}]}
    before = snapshot(seeded)
    with pytest.raises(ValidationError) as info:
        seeded.register(parse_batch(raw), principal=PRINCIPAL)
    assert info.value.code == "BAD_INPUT"
    assert where in info.value.message and "malformed node id" in info.value.message
    assert snapshot(seeded) == before


@pytest.mark.parametrize(
    ("node", "where", "words"),
    [
        ({"kind": "Dataset", "namespace": "w", "name": "x"}, "nodes[2].version", ["needs a version"]),
        ({"kind": "Run", "namespace": "w", "name": "x"}, "nodes[2].version", ["needs a run id"]),
        ({"kind": "Deployment", "namespace": "w", "name": "x", "version": "1"}, "nodes[2].version",
         ["has no version"]),
        ({"kind": "Dataset", "name": "x", "version": "1"}, "nodes[2].namespace", ["required"]),
        ({"kind": "Dataset", "namespace": "w", "name": "  ", "version": "1"}, "nodes[2].name", ["empty"]),
        ({"kind": "Table", "namespace": "w", "name": "x", "version": "1"}, "nodes[2].kind", ["unknown kind"]),
        ({"kind": "Dataset", "namespace": "w", "name": "x", "version": "1", "colour": "red"}, "nodes[2].colour",
         ["xtra"]),
        ({"kind": "Run", "namespace": "w", "name": "x", "version": "1", "properties": {"status": "DONE"}},
         "nodes[2].properties", ["run status"]),
        ({"kind": "Dataset", "namespace": "w", "name": "x\ny", "version": "1"}, "nodes[2].name",
         ["control characters"]),
    ],
)
def test_invalid_node_fields_are_refused(seeded: GraphStore, node: dict, where: str, words: list[str]) -> None:
    nodes, edges = good_prefix()
    raw = {"nodes": [*nodes, node], "edges": edges}
    before = snapshot(seeded)
    with pytest.raises(ValidationError) as info:
        seeded.register(parse_batch(raw), principal=PRINCIPAL)
    assert isinstance(info.value, BadInputError) and info.value.code == "BAD_INPUT"
    assert where in info.value.message
    for word in words:
        assert word in info.value.message
    assert snapshot(seeded) == before
    assert seeded.get_nodes([nid(n) for n in nodes]) == {}


def test_unknown_edge_type_is_refused(seeded: GraphStore) -> None:
    with pytest.raises(ValidationError) as info:
        parse_batch({"edges": [{"from": nid(S[0]), "type": "DERIVES", "to": nid(S[1])}]})
    assert "edges[0].type" in info.value.message and "unknown edge type" in info.value.message


def test_registering_edges_to_a_retracted_node_is_a_conflict(seeded: GraphStore) -> None:
    seeded.retract(nid(S[2]), reason="bad snapshot", principal=PRINCIPAL)
    r = run("late")
    exc = refused(seeded, {"nodes": [r], "edges": [edge(S[1], "INPUT_TO", r), edge(S[2], "INPUT_TO", r)]},
                  ConflictError, "edges[1]", "retracted")
    assert exc.details["rule"] == "retracted"


def test_registering_a_retracted_node_again_is_a_conflict(seeded: GraphStore) -> None:
    seeded.retract(nid(S[2]), reason="bad snapshot", principal=PRINCIPAL)
    refused(seeded, {"nodes": [ds("other"), S[2]]}, ConflictError, "nodes[1]", "retracted")


def test_registering_a_retracted_edge_again_is_a_conflict(seeded: GraphStore) -> None:
    e = BASE_EDGES[1]
    seeded.retract(f"{e['from']} -{e['type']}-> {e['to']}", reason="wrong output", principal=PRINCIPAL)
    refused(seeded, {"edges": [BASE_EDGES[0], e]}, ConflictError, "edges[1]", "retracted")


def test_refusal_leaves_the_store_usable(seeded: GraphStore) -> None:
    with pytest.raises(CycleError):
        reg(seeded, [], [edge(S[2], "FEEDS", S[0])])
    result = reg(seeded, [ds("after")], [edge(S[2], "FEEDS", ds("after"))])
    assert result.changed and result.audit_seq == 2
    assert seeded.verify_audit().ok
