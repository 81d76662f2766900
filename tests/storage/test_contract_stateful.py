"""Contract, stateful: random sequences of registrations (valid or not) and retractions against a
plain model of what the store should hold.

After every step the current graph equals the model; a refused batch changed nothing at all; and
the graph as of every earlier write time is exactly what the model held then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import networkx as nx
from contract_support import PRINCIPAL, mk, snapshot
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lineage.errors import ConflictError, CycleError, LineageError, NotFoundError, UnknownReferenceError
from lineage.model import ALLOWED_EDGES, NodeKind
from lineage.storage import Direction, GraphStore, NodeFilter

TYPE_OF = {(s, d): e.value for s, e, d in ALLOWED_EDGES}
KINDS = [NodeKind.DATASET, NodeKind.RUN, NodeKind.DATASET, NodeKind.FEATURE, NodeKind.RUN, NodeKind.DATASET,
         NodeKind.MODEL, NodeKind.DEPLOYMENT, NodeKind.CODE_COMMIT]
IDS = [f"{k.prefix}:ns/n{i}" + ("@1" if k.versioned else "") for i, k in enumerate(KINDS)]
PAIRS = [(i, j) for i in range(len(KINDS)) for j in range(len(KINDS)) if i != j and (KINDS[i], KINDS[j]) in TYPE_OF]
EdgeKey = tuple[str, str]
MOSTLY = st.sampled_from([True, True, True, False])


def spec(i: int, value: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": KINDS[i].value, "namespace": "ns", "name": f"n{i}"}
    if KINDS[i].versioned:
        out["version"] = "1"
    if value is not None:
        out["properties"] = {"v": value}
    return out


class Model:
    def __init__(self) -> None:
        self.props: dict[str, dict[str, Any]] = {}
        self.retracted_nodes: set[str] = set()
        self.edges: dict[EdgeKey, str] = {}  # (src, dst) -> type
        self.retracted_edges: set[EdgeKey] = set()

    def current_nodes(self) -> set[str]:
        return set(self.props) - self.retracted_nodes

    def current_edges(self) -> set[EdgeKey]:
        return set(self.edges) - self.retracted_edges

    def view(self) -> tuple[frozenset[str], frozenset[EdgeKey], tuple[tuple[str, Any], ...]]:
        props = tuple(sorted((n, sorted(self.props[n].items())) for n in self.current_nodes()))
        return frozenset(self.current_nodes()), frozenset(self.current_edges()), props


class Lineage(RuleBasedStateMachine):
    def __init__(self, factory: Callable[[], GraphStore]) -> None:
        super().__init__()
        self.store = factory()
        self.model = Model()
        self.history: list[tuple[datetime, Any]] = []

    @initialize()
    def empty(self) -> None:
        assert self.store.counts()["nodes"] == 0

    @rule(
        extra=st.lists(st.tuples(st.integers(0, len(KINDS) - 1), st.one_of(st.none(), st.integers(0, 2))),
                       max_size=4),
        edges=st.lists(st.sampled_from(PAIRS), max_size=4),
        with_ends=MOSTLY,
    )
    def register(self, extra: list[tuple[int, int | None]], edges: list[tuple[int, int]], with_ends: bool) -> None:
        # usually the batch carries the nodes its edges link, as real batches do
        nodes = [*extra, *((end, None) for pair in edges for end in pair if with_ends)]
        node_specs = list({i: spec(i, v) for i, v in nodes}.values())  # one spec per id in a batch
        in_batch = {IDS[i] for i, _ in nodes}
        edge_specs = [{"from": IDS[i], "type": TYPE_OF[(KINDS[i], KINDS[j])], "to": IDS[j]} for i, j in edges]
        keys = [(IDS[i], IDS[j]) for i, j in edges]
        m = self.model

        # what the store must answer, decided from the model alone
        problem: type[LineageError] | None = None
        for a, b in keys:
            for end in (a, b):
                if end not in in_batch and end not in m.props:
                    problem = problem or UnknownReferenceError
        touched = in_batch | {end for k in keys for end in k}
        if touched & m.retracted_nodes or set(keys) & m.retracted_edges:
            problem = problem or ConflictError
        g = nx.DiGraph(list(m.current_edges()) + keys)
        if not nx.is_directed_acyclic_graph(g):
            problem = problem or CycleError

        event(f"register: {problem.__name__ if problem else 'accepted'}")
        before = snapshot(self.store, IDS)
        if problem is not None:
            try:
                self.store.register(mk(node_specs, edge_specs), principal=PRINCIPAL)
            except LineageError as exc:
                assert isinstance(exc, UnknownReferenceError | ConflictError | CycleError), exc
            else:
                raise AssertionError(f"accepted a batch that breaks a rule ({problem.__name__})")
            assert snapshot(self.store, IDS) == before
            return

        result = self.store.register(mk(node_specs, edge_specs), principal=PRINCIPAL)
        changed = False
        for s in node_specs:
            nid = IDS[int(s["name"][1:])]
            new = {**m.props.get(nid, {}), **s.get("properties", {})}
            changed |= nid not in m.props or new != m.props[nid]
            m.props[nid] = new
        for (a, b), e in zip(keys, edge_specs, strict=True):
            changed |= (a, b) not in m.edges
            m.edges[(a, b)] = e["type"]
        assert result.changed == changed
        if changed:
            assert result.recorded_at is not None
            self.history.append((result.recorded_at, m.view()))
        else:
            assert snapshot(self.store, IDS) == before

    @precondition(lambda self: bool(self.model.props))
    @rule(data=st.data())
    def retract(self, data: st.DataObject) -> None:
        m = self.model
        edge_key: EdgeKey | None = None
        expected: type[LineageError] | None
        known = [p for p in PAIRS if (IDS[p[0]], IDS[p[1]]) in m.edges]
        if data.draw(st.booleans(), label="edge"):
            src, dst = data.draw(st.sampled_from(known if known and data.draw(MOSTLY) else PAIRS), label="pair")
            edge_key = (IDS[src], IDS[dst])
            target = f"{edge_key[0]} -{TYPE_OF[(KINDS[src], KINDS[dst])]}-> {edge_key[1]}"
            expected = (NotFoundError if edge_key not in m.edges
                        else ConflictError if edge_key in m.retracted_edges else None)
        else:
            stored = sorted(m.props)
            target = data.draw(st.sampled_from(stored if stored and data.draw(MOSTLY) else IDS), label="node")
            expected = (NotFoundError if target not in m.props
                        else ConflictError if target in m.retracted_nodes else None)
        event(f"retract: {expected.__name__ if expected else 'done'}")
        before = snapshot(self.store, IDS)
        if expected is not None:
            try:
                self.store.retract(target, reason="stateful test", principal=PRINCIPAL)
            except LineageError as exc:
                assert type(exc) is expected, exc
            else:
                raise AssertionError(f"retracting {target} should raise {expected.__name__}")
            assert snapshot(self.store, IDS) == before
            return
        result = self.store.retract(target, reason="stateful test", principal=PRINCIPAL)
        if edge_key is not None:
            m.retracted_edges.add(edge_key)
        else:
            m.retracted_nodes.add(target)
            m.retracted_edges |= {k for k in m.current_edges() if target in k}
        assert result.recorded_at is not None
        self.history.append((result.recorded_at, m.view()))

    def observed(self, as_of: datetime | None) -> Any:
        nodes = {n.id: n for n in self.store.list_nodes(NodeFilter(), limit=100, as_of=as_of)}
        edges = {(e.source, e.target) for n in nodes for e in self.store.node_edges(n, as_of=as_of)}
        props = tuple(sorted((n, sorted(r.properties.items())) for n, r in nodes.items()))
        return frozenset(nodes), frozenset(edges), props

    @invariant()
    def store_equals_model(self) -> None:
        assert self.observed(None) == self.model.view()
        assert self.store.verify_audit().ok
        assert self.store.counts()["audit_entries"] == len(self.history)

    @invariant()
    def every_earlier_time_reads_as_it_was(self) -> None:
        for at, view in self.history:
            assert self.observed(at) == view

    @invariant()
    def reach_is_the_closure(self) -> None:
        g = nx.DiGraph(list(self.model.current_edges()))
        for node in sorted(self.model.current_nodes())[:3]:
            down = {r.id for r in self.store.reach(node, Direction.DOWNSTREAM).nodes}
            assert down == (nx.descendants(g, node) if node in g else set())

    def teardown(self) -> None:
        self.store.close()


def test_random_write_sequences_match_the_model(store_factory: Callable[[], GraphStore]) -> None:
    run_state_machine_as_test(
        lambda: Lineage(store_factory),
        settings=settings(max_examples=25, stateful_step_count=12, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]),
    )
