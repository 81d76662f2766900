"""Impact and provenance reports: who is reached, how far, along which path, and who to tell.

Expectations are computed from the registered batch with networkx, not from the engine.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pytest

from lineage.analysis import impact, is_production, provenance
from lineage.demo import CORRUPTED, build_demo_batch
from lineage.errors import LimitExceededError, NotFoundError
from lineage.model import Batch, NodeKind, NodeRecord, parse_batch
from lineage.storage import Direction, GraphStore

PRINCIPAL = "user:analysis-tests"


def batch_graph(batch: Batch) -> nx.DiGraph:
    g = nx.DiGraph()
    for n in batch.nodes:
        g.add_node(n.id, kind=n.kind, owners=set(n.owners), spec=n)
    for e in batch.edges:
        g.add_edge(e.source, e.target, type=e.type.value)
    return g


def check_report(report: Any, g: nx.DiGraph, start: str, direction: Direction) -> None:
    walk = g if direction is Direction.DOWNSTREAM else g.reverse()
    dist = nx.single_source_shortest_path_length(walk, start, cutoff=report.max_depth)
    del dist[start]
    if report.kinds:
        dist = {n: d for n, d in dist.items() if g.nodes[n]["kind"] in report.kinds}
    assert {n.node.id: n.distance for n in report.nodes} == dist
    assert report.root.id == start and report.direction is direction
    for n in report.nodes:
        assert n.path[0] == start and n.path[-1] == n.node.id and len(n.path) == n.distance + 1
        assert len(n.via) == n.distance
        for (u, v), etype in zip(itertools.pairwise(n.path), n.via, strict=True):
            assert walk.has_edge(u, v) and walk.edges[u, v]["type"] == etype
        assert set(n.node.owners) == g.nodes[n.node.id]["owners"]
        assert n.node.kind is g.nodes[n.node.id]["kind"]


@pytest.fixture
def demo(store: GraphStore) -> tuple[GraphStore, nx.DiGraph]:
    batch = build_demo_batch()
    store.register(batch, principal=PRINCIPAL, source="test")
    return store, batch_graph(batch)


def test_demo_impact_of_the_corrupted_dataset(demo: tuple[GraphStore, nx.DiGraph]) -> None:
    store, g = demo
    report = impact(store, CORRUPTED)
    check_report(report, g, CORRUPTED, Direction.DOWNSTREAM)
    reached = nx.descendants(g, CORRUPTED)
    prod = sorted(
        n for n in reached
        if g.nodes[n]["kind"] is NodeKind.DEPLOYMENT
        and str(g.nodes[n]["spec"].properties.get("environment") or g.nodes[n]["spec"].namespace) == "prod"
    )
    assert prod, "the demo is meant to reach production"
    assert sorted(n.node.id for n in report.production_deployments()) == prod

    groups = report.groups()
    assert groups[0][0] is NodeKind.DEPLOYMENT  # deployments first in an impact report
    deployments = groups[0][1]
    assert [d.production for d in deployments] == sorted((d.production for d in deployments), reverse=True)
    assert [k for k, _ in groups] == [k for k in (NodeKind.DEPLOYMENT, NodeKind.MODEL, NodeKind.FEATURE,
                                                  NodeKind.DATASET, NodeKind.RUN, NodeKind.CODE_COMMIT)
                                      if any(g.nodes[n]["kind"] is k for n in reached)]
    counts: dict[str, int] = {}
    for n in reached:
        counts[g.nodes[n]["kind"].value] = counts.get(g.nodes[n]["kind"].value, 0) + 1
    assert report.counts() == {k: counts[k] for k in report.counts()} and sum(report.counts().values()) == len(reached)

    # owners to notify: every owner of a reached node, with exactly the nodes they own
    expected_owners: dict[str, set[str]] = {}
    for n in reached:
        for o in g.nodes[n]["owners"]:
            expected_owners.setdefault(o, set()).add(n)
    owners = report.owners()
    assert {o: set(ids) for o, ids in owners.items()} == expected_owners
    prod_set = set(prod)
    flags = [bool(set(ids) & prod_set) for ids in owners.values()]
    assert flags == sorted(flags, reverse=True)  # owners with production impact first

    as_json = report.to_dict()
    assert as_json["total"] == len(reached) and as_json["production_deployments"] == [
        n.node.id for n in report.production_deployments()
    ]
    for node in as_json["nodes"]:
        assert {"id", "kind", "distance", "path", "path_edges", "owners", "production"} <= set(node)


@pytest.mark.parametrize("target", ["deployment:prod/churn-api", "model:ml/churn-classifier@3"])
def test_demo_provenance(demo: tuple[GraphStore, nx.DiGraph], target: str) -> None:
    store, g = demo
    report = provenance(store, target)
    check_report(report, g, target, Direction.UPSTREAM)
    kinds = {n.node.kind for n in report.nodes}
    # a bill of materials of a served model goes back to data, features, code and runs
    assert {NodeKind.DATASET, NodeKind.FEATURE, NodeKind.RUN, NodeKind.CODE_COMMIT} <= kinds
    assert report.groups()[0][0] is NodeKind.DATASET


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_depth_and_kind_filters(demo: tuple[GraphStore, nx.DiGraph], depth: int) -> None:
    store, g = demo
    for kinds in ((), (NodeKind.DEPLOYMENT, NodeKind.MODEL), (NodeKind.RUN,)):
        check_report(impact(store, CORRUPTED, max_depth=depth, kinds=kinds), g, CORRUPTED, Direction.DOWNSTREAM)
        check_report(provenance(store, "deployment:prod/churn-api", max_depth=depth, kinds=kinds), g,
                     "deployment:prod/churn-api", Direction.UPSTREAM)


def test_depth_outside_the_limits(demo: tuple[GraphStore, nx.DiGraph]) -> None:
    store, _ = demo
    for depth in (0, -1, 101):
        with pytest.raises(LimitExceededError):
            impact(store, CORRUPTED, max_depth=depth)
    with pytest.raises(LimitExceededError):
        provenance(store, CORRUPTED, max_depth=6, depth_limit=5)


def test_unknown_start(demo: tuple[GraphStore, nx.DiGraph]) -> None:
    with pytest.raises(NotFoundError):
        impact(demo[0], "dataset:raw/nothing@1")


def test_is_production() -> None:
    batch = parse_batch({"nodes": [
        {"kind": "Deployment", "namespace": "prod", "name": "a"},
        {"kind": "Deployment", "namespace": "eu-west", "name": "b", "properties": {"environment": "Production"}},
        {"kind": "Deployment", "namespace": "prod", "name": "c", "properties": {"environment": "staging"}},
        {"kind": "Dataset", "namespace": "prod", "name": "d", "version": "1"},
    ]})
    def rec(spec: Any) -> NodeRecord:
        return NodeRecord(spec.id, spec.kind, spec.namespace, spec.name, spec.version, spec.properties, (), (),
                          None, datetime.now(UTC), "x")

    assert [is_production(rec(n)) for n in batch.nodes] == [True, True, False, False]


def test_as_of_report_is_reproducible(store: GraphStore) -> None:
    a = {"kind": "Dataset", "namespace": "w", "name": "a", "version": "1"}
    r = {"kind": "Run", "namespace": "ci", "name": "r", "version": "1"}
    b = {"kind": "Dataset", "namespace": "w", "name": "b", "version": "1"}
    first = store.register(parse_batch({"nodes": [a, r], "edges": [
        {"from": "dataset:w/a@1", "type": "INPUT_TO", "to": "run:ci/r@1"}]}), principal=PRINCIPAL)
    store.register(parse_batch({"nodes": [b], "edges": [
        {"from": "run:ci/r@1", "type": "PRODUCED", "to": "dataset:w/b@1"}]}), principal=PRINCIPAL)
    then = impact(store, "dataset:w/a@1", as_of=first.recorded_at)
    now = impact(store, "dataset:w/a@1")
    assert [n.node.id for n in then.nodes] == ["run:ci/r@1"]
    assert [n.node.id for n in now.nodes] == ["run:ci/r@1", "dataset:w/b@1"]
    assert then.to_dict() == impact(store, "dataset:w/a@1", as_of=first.recorded_at).to_dict()
    assert then.to_dict()["as_of"] == first.recorded_at.isoformat()  # type: ignore[union-attr]


@pytest.mark.parametrize("kinds", [(), (NodeKind.MODEL, NodeKind.DEPLOYMENT)])
def test_shown_rows_and_positions_follow_the_display_order(
    demo: tuple[GraphStore, nx.DiGraph], kinds: tuple[NodeKind, ...]
) -> None:
    """A page of rows and a row's position are those of the kind groups laid end to end."""
    store, g = demo
    report = impact(store, CORRUPTED, kinds=kinds)
    display = [n.id for _, members in report.groups() for n in members]
    assert len(display) == len(report.nodes) > 10
    assert [n.id for n in report.shown()] == display
    for start, stop in [(0, 1), (3, 9), (len(display) - 2, len(display) + 5), (len(display), len(display) + 1)]:
        assert [n.id for n in report.shown(start, stop)] == display[start:stop]
    for at, node_id in enumerate(display):
        assert report.position(node_id) == at
    assert report.position(CORRUPTED) is None  # the root is not a row
    if kinds:  # reached, but of a kind not asked for: not a row either
        hidden = next(n for n in nx.descendants(g, CORRUPTED) if g.nodes[n]["kind"] not in kinds)
        assert report.position(hidden) is None
