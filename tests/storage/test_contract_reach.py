"""Contract: reachability with depth limits and kind filters; explaining paths are real and shortest;
traversal is linear in the reached graph, never in the number of paths."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest
from contract_support import check_paths, commit, dep, ds, edge, feat, model, nid, reg, run

from lineage.errors import NotFoundError, ValidationError
from lineage.model import EdgeType, NodeKind
from lineage.storage import Direction, GraphStore

# raw -> etl -> clean -> {fe1 -> f1, fe2 -> f2}; clean -FEEDS-> f3 (a shortcut); f1, f2, f3 -> train -> m
# -> prod and staging deployments; a commit executes in train; f3 also feeds prod online.
RAW, CLEAN = ds("raw"), ds("clean")
ETL, FE1, FE2, TRAIN = run("etl"), run("fe1"), run("fe2"), run("train")
F1, F2, F3 = feat("f1"), feat("f2"), feat("f3")
M = model("m")
PROD, STAGING = dep("svc", "prod"), dep("svc", "staging")
C = commit("abc123")
NODES = [RAW, CLEAN, ETL, FE1, FE2, TRAIN, F1, F2, F3, M, PROD, STAGING, C]
EDGES = [
    edge(RAW, "INPUT_TO", ETL),
    edge(ETL, "PRODUCED", CLEAN),
    edge(CLEAN, "INPUT_TO", FE1),
    edge(CLEAN, "INPUT_TO", FE2),
    edge(FE1, "PRODUCED", F1),
    edge(FE2, "PRODUCED", F2),
    edge(CLEAN, "FEEDS", F3),
    edge(F1, "INPUT_TO", TRAIN),
    edge(F2, "INPUT_TO", TRAIN),
    edge(F3, "INPUT_TO", TRAIN),
    edge(C, "EXECUTED_IN", TRAIN),
    edge(TRAIN, "PRODUCED", M),
    edge(M, "DEPLOYED_AS", PROD),
    edge(M, "DEPLOYED_AS", STAGING),
    edge(F3, "FEEDS", PROD),
]


def graph() -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(nid(n) for n in NODES)
    for e in EDGES:
        g.add_edge(e["from"], e["to"], type=e["type"])
    return g


@pytest.fixture
def loaded(store: GraphStore) -> GraphStore:
    reg(store, NODES, EDGES)
    return store


@pytest.mark.parametrize("start", [RAW, CLEAN, F3, TRAIN, M, C])
def test_downstream_is_descendants(loaded: GraphStore, start: dict) -> None:
    g = graph()
    reach = loaded.reach(nid(start), Direction.DOWNSTREAM)
    assert {r.id for r in reach.nodes} == nx.descendants(g, nid(start))
    assert len(reach.nodes) == len({r.id for r in reach.nodes})  # distinct
    assert reach.start_kind is NodeKind.parse(start["kind"]) and reach.direction is Direction.DOWNSTREAM
    assert not reach.truncated
    check_paths(reach, g)


@pytest.mark.parametrize("start", [PROD, STAGING, M, TRAIN, F1, RAW])
def test_upstream_is_ancestors(loaded: GraphStore, start: dict) -> None:
    g = graph()
    reach = loaded.reach(nid(start), Direction.UPSTREAM)
    assert {r.id for r in reach.nodes} == nx.ancestors(g, nid(start))
    check_paths(reach, g)


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("direction", [Direction.DOWNSTREAM, Direction.UPSTREAM])
def test_depth_limit(loaded: GraphStore, depth: int, direction: Direction) -> None:
    g = graph()
    start = nid(RAW) if direction is Direction.DOWNSTREAM else nid(PROD)
    walk = g if direction is Direction.DOWNSTREAM else g.reverse()
    expected = nx.single_source_shortest_path_length(walk, start, cutoff=depth)
    expected.pop(start)
    reach = loaded.reach(start, direction, max_depth=depth)
    assert {r.id: r.distance for r in reach.nodes} == expected
    check_paths(reach, g)


def test_kind_filter_filters_the_listing_not_the_walk(loaded: GraphStore) -> None:
    g = graph()
    reach = loaded.reach(nid(RAW), Direction.DOWNSTREAM, kinds=[NodeKind.DEPLOYMENT, NodeKind.MODEL])
    expected = {n for n in nx.descendants(g, nid(RAW)) if n.startswith(("deployment:", "model:"))}
    assert {r.id for r in reach.nodes} == expected
    # distances and paths still come from the full walk (through runs and features)
    full = nx.single_source_shortest_path_length(g, nid(RAW))
    assert all(r.distance == full[r.id] for r in reach.nodes)
    check_paths(reach, g)

    only_prod = loaded.reach(nid(RAW), Direction.DOWNSTREAM, kinds=[NodeKind.DEPLOYMENT], max_depth=4)
    assert {r.id for r in only_prod.nodes} == {
        n for n, d in nx.single_source_shortest_path_length(g, nid(RAW), cutoff=4).items()
        if n.startswith("deployment:")
    }


def test_result_order_and_counts(loaded: GraphStore) -> None:
    reach = loaded.reach(nid(RAW), Direction.DOWNSTREAM)
    assert [(r.distance, r.id) for r in reach.nodes] == sorted((r.distance, r.id) for r in reach.nodes)
    expected: dict[str, int] = {}
    for r in reach.nodes:
        expected[r.kind.value] = expected.get(r.kind.value, 0) + 1
    assert reach.counts() == expected
    # kinds in the result match the ids
    assert all(r.id.startswith(r.kind.value.lower() + ":") for r in reach.nodes)


def test_paths_are_reproducible(loaded: GraphStore) -> None:
    first = loaded.reach(nid(RAW), Direction.DOWNSTREAM)
    second = loaded.reach(nid(RAW), Direction.DOWNSTREAM)
    assert [first.path_ids(r.id) for r in first.nodes] == [second.path_ids(r.id) for r in second.nodes]


def test_prod_reached_through_the_shortcut(loaded: GraphStore) -> None:
    """clean -FEEDS-> f3 -FEEDS-> prod is 2 hops from clean, shorter than through train and the model."""
    reach = loaded.reach(nid(CLEAN), Direction.DOWNSTREAM)
    by_id = {r.id: r for r in reach.nodes}
    assert by_id[nid(PROD)].distance == 2
    assert reach.path_ids(nid(PROD)) == [nid(CLEAN), nid(F3), nid(PROD)]
    assert [s.edge_type for s in reach.path(nid(PROD))] == [EdgeType.FEEDS, EdgeType.FEEDS]


def test_isolated_node_and_bad_starts(loaded: GraphStore) -> None:
    reg(loaded, [ds("alone")])
    assert loaded.reach(nid(ds("alone")), Direction.DOWNSTREAM).nodes == []
    assert loaded.reach(nid(ds("alone")), Direction.UPSTREAM).nodes == []
    with pytest.raises(NotFoundError):
        loaded.reach(nid(ds("ghost")), Direction.DOWNSTREAM)
    with pytest.raises(ValidationError):
        loaded.reach("ghost", Direction.DOWNSTREAM)


def test_max_nodes_truncates(loaded: GraphStore) -> None:
    reach = loaded.reach(nid(RAW), Direction.DOWNSTREAM, max_nodes=2)
    assert reach.truncated
    full = loaded.reach(nid(RAW), Direction.DOWNSTREAM)
    assert {r.id for r in reach.nodes} < {r.id for r in full.nodes}


def diamond_chain(n: int) -> tuple[list[dict], list[dict]]:
    """d0 => (a0 | b0) => d1 => ... => dn: n diamonds in a row, 2**n distinct paths from d0 to dn."""
    datasets = [ds(f"d{i}") for i in range(n + 1)]
    nodes: list[dict] = list(datasets)
    edges: list[dict] = []
    for i in range(n):
        for side in ("a", "b"):
            r = run(f"{side}{i}")
            nodes.append(r)
            edges += [edge(datasets[i], "INPUT_TO", r), edge(r, "PRODUCED", datasets[i + 1])]
    return nodes, edges


def test_chain_of_60_diamonds_is_traversed_without_enumerating_paths(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 60
    nodes, edges = diamond_chain(n)
    reg(store, nodes, edges)
    g = nx.DiGraph()
    g.add_edges_from((e["from"], e["to"], {"type": e["type"]}) for e in edges)
    first, last = nid(nodes[0]), nid(ds(f"d{n}"))

    # count the work: each reached node is expanded once and each edge met once (2**n paths or not)
    calls: list[tuple[int, int]] = []
    expand = store.expand

    def counting(frontier: Any, direction: Any, as_of: Any = None) -> Any:
        hops = expand(frontier, direction, as_of)
        calls.append((len(frontier), len(hops)))
        return hops

    monkeypatch.setattr(store, "expand", counting)
    down = store.reach(first, Direction.DOWNSTREAM)
    if calls:  # a backend may answer reach in one query of its own instead
        assert sum(f for f, _ in calls) == g.number_of_nodes()
        assert sum(h for _, h in calls) == g.number_of_edges()
        assert len(calls) == 2 * n + 1  # one round trip per level
    monkeypatch.undo()
    assert len(down.nodes) == g.number_of_nodes() - 1 == 3 * n  # 2n runs + n datasets after d0
    assert {r.id for r in down.nodes} == nx.descendants(g, first)
    assert {r.id: r.distance for r in down.nodes}[last] == 2 * n
    assert len(down.path_ids(last)) == 2 * n + 1
    check_paths(down, g)

    up = store.reach(last, Direction.UPSTREAM)
    assert {r.id for r in up.nodes} == nx.ancestors(g, last)
    check_paths(up, g)

    # only the datasets: n of them, at even distances
    only = store.reach(first, Direction.DOWNSTREAM, kinds=[NodeKind.DATASET])
    assert sorted(r.distance for r in only.nodes) == list(range(2, 2 * n + 1, 2))
