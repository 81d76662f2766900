"""Contract, property-based: on random lineage DAGs the store agrees with networkx.

Impact equals ``networkx.descendants``, provenance equals ``networkx.ancestors``, depth limits equal
``single_source_shortest_path_length`` with a cutoff, distances are BFS distances, kind filters
select exactly the expected kinds, and the cycle check refuses an edge exactly when networkx finds
the path back.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import pytest
from contract_support import PRINCIPAL, check_paths, mk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.errors import CycleError
from lineage.model import ALLOWED_EDGES, NodeKind
from lineage.storage import Direction, GraphStore

#: at most one edge type per (source kind, target kind) in the schema, so a DiGraph models it exactly
TYPE_OF = {(s, d): e.value for s, e, d in ALLOWED_EDGES}
assert len(TYPE_OF) == len(ALLOWED_EDGES)

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Dag:
    kinds: list[NodeKind]
    ids: list[str]
    edges: list[tuple[int, int]]  # (i, j) with i < j in a random topological order
    split: int  # edges[:split] go with the nodes in a first batch, the rest in a second one

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(self.ids)
        for i, j in self.edges:
            g.add_edge(self.ids[i], self.ids[j], type=TYPE_OF[(self.kinds[i], self.kinds[j])])
        return g

    def node_specs(self) -> list[dict[str, Any]]:
        out = []
        for i, kind in enumerate(self.kinds):
            spec: dict[str, Any] = {"kind": kind.value, "namespace": "ns", "name": f"n{i}"}
            if kind.versioned:
                spec["version"] = f"v{i % 3}"
            out.append(spec)
        return out

    def edge_specs(self, pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
        return [
            {"from": self.ids[i], "type": TYPE_OF[(self.kinds[i], self.kinds[j])], "to": self.ids[j]}
            for i, j in pairs
        ]


def _id(kind: NodeKind, i: int) -> str:
    base = f"{kind.prefix}:ns/n{i}"
    return f"{base}@v{i % 3}" if kind.versioned else base


# Lineage graphs are mostly datasets, runs and features; the weights keep random DAGs dense in edges.
KIND_WEIGHTS = [NodeKind.DATASET] * 4 + [NodeKind.RUN] * 4 + [NodeKind.FEATURE] * 2 + [
    NodeKind.MODEL,
    NodeKind.DEPLOYMENT,
    NodeKind.CODE_COMMIT,
]


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 22) -> Dag:
    n = draw(st.integers(min_value=1, max_value=max_nodes))
    kinds = draw(st.lists(st.sampled_from(KIND_WEIGHTS), min_size=n, max_size=n))
    allowed = [(i, j) for j in range(n) for i in range(j) if (kinds[i], kinds[j]) in TYPE_OF]
    edges = draw(st.lists(st.sampled_from(allowed), unique=True, max_size=4 * n)) if allowed else []
    split = draw(st.integers(min_value=0, max_value=len(edges)))
    return Dag(kinds, [_id(k, i) for i, k in enumerate(kinds)], edges, split)


def load(store: GraphStore, dag: Dag) -> None:
    first = store.register(mk(dag.node_specs(), dag.edge_specs(dag.edges[: dag.split])), principal=PRINCIPAL)
    second = store.register(mk([], dag.edge_specs(dag.edges[dag.split :])), principal=PRINCIPAL)
    assert first.nodes_created == len(dag.ids)
    assert first.edges_created + second.edges_created == len(dag.edges)


queries = st.tuples(
    st.integers(min_value=0, max_value=10_000),  # start, modulo the node count
    st.one_of(st.none(), st.integers(min_value=1, max_value=6)),  # depth
    st.lists(st.sampled_from(list(NodeKind)), unique=True, max_size=3),  # kinds
)


@pytest.mark.parametrize("direction", [Direction.DOWNSTREAM, Direction.UPSTREAM])
@PROPERTY_SETTINGS
@given(dag=dags(), asks=st.lists(queries, min_size=1, max_size=4))
def test_reach_matches_networkx(
    store_factory: Callable[[], GraphStore], direction: Direction, dag: Dag, asks: list[Any]
) -> None:
    store = store_factory()
    load(store, dag)
    g = dag.graph()
    walk = g if direction is Direction.DOWNSTREAM else g.reverse()
    kind_of = dict(zip(dag.ids, dag.kinds, strict=True))
    for raw_start, depth, kinds in asks:
        start = dag.ids[raw_start % len(dag.ids)]
        closure = nx.descendants(g, start) if direction is Direction.DOWNSTREAM else nx.ancestors(g, start)
        expected = nx.single_source_shortest_path_length(walk, start, cutoff=depth)
        del expected[start]
        if depth is None:
            assert set(expected) == closure
        if kinds:
            expected = {n: d for n, d in expected.items() if kind_of[n] in kinds}

        reach = store.reach(start, direction, max_depth=depth, kinds=kinds)
        assert {r.id: r.distance for r in reach.nodes} == expected
        assert len(reach.nodes) == len(expected)
        assert all(r.kind is kind_of[r.id] for r in reach.nodes)
        check_paths(reach, g)


@PROPERTY_SETTINGS
@given(dag=dags(), extra=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)))
def test_cycle_check_matches_networkx(
    store_factory: Callable[[], GraphStore], dag: Dag, extra: tuple[int, int]
) -> None:
    """One more edge u -> v (any allowed pair, any direction) is refused exactly when v reaches u."""
    n = len(dag.ids)
    u, v = extra[0] % n, extra[1] % n
    if (dag.kinds[u], dag.kinds[v]) not in TYPE_OF:
        return
    store = store_factory()
    load(store, dag)
    g = dag.graph()
    before = store.counts()
    new = dag.edge_specs([(u, v)])
    if u == v or nx.has_path(g, dag.ids[v], dag.ids[u]):
        with pytest.raises(CycleError) as info:
            store.register(mk([], new), principal=PRINCIPAL)
        assert "edges[0]" in info.value.message and "derive from itself" in info.value.message
        cycle = info.value.details.get("cycle", [dag.ids[u]])  # a self-loop is refused before any lookup
        assert dag.ids[u] in cycle and dag.ids[v] in cycle
        # the reported cycle is real: consecutive ids are stored edges or the refused one
        ring = [*cycle, cycle[0]]
        for a, b in itertools.pairwise(ring):
            assert g.has_edge(a, b) or (a, b) == (dag.ids[u], dag.ids[v])
        assert store.counts() == before
    else:
        result = store.register(mk([], new), principal=PRINCIPAL)
        assert result.edges_created == (0 if g.has_edge(dag.ids[u], dag.ids[v]) else 1)


@settings(PROPERTY_SETTINGS, max_examples=15)
@given(dag=dags(max_nodes=12))
def test_registering_a_dag_again_changes_nothing(store_factory: Callable[[], GraphStore], dag: Dag) -> None:
    store = store_factory()
    load(store, dag)
    counts = store.counts()
    head = store.verify_audit()
    again = store.register(mk(dag.node_specs(), dag.edge_specs(dag.edges)), principal=PRINCIPAL)
    assert not again.changed and again.unchanged == len(dag.ids) + len(dag.edges)
    assert store.counts() == counts
    assert store.verify_audit() == head and head.ok
