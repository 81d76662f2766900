"""Owners and production flags of report rows come from the traversal index for the current graph;
they must equal what the store says after any sequence of writes, owner changes, property changes
and retractions (property-based), and reports as of a past time read them from the store.

Also: the walk is charged to the request's work budget level by level, and stops with the budget's
error as soon as a bound is passed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.analysis import impact, is_production, provenance
from lineage.analysis.budget import WorkBudget
from lineage.errors import LimitExceededError
from lineage.model import parse_batch
from lineage.storage import Direction, GraphStore

PRINCIPAL = "user:report-facts"
OWNERS = ["team-a", "team-b", "team-c"]
ENVS = ["prod", "staging", "Production", "live", None]

DATA = [{"kind": "Dataset", "namespace": "wh", "name": f"d{i}", "version": "1"} for i in range(2)]
RUN = {"kind": "Run", "namespace": "ci", "name": "train", "version": "r1"}
MODEL = {"kind": "Model", "namespace": "ml", "name": "churn", "version": "1"}
DATA_IDS = ["dataset:wh/d0@1", "dataset:wh/d1@1"]
RUN_ID = "run:ci/train@r1"
MODEL_ID = "model:ml/churn@1"


def _deployment(i: int, env: str | None, namespace: str) -> dict[str, Any]:
    props = {"environment": env} if env is not None else {}
    return {"kind": "Deployment", "namespace": namespace, "name": f"api{i}", "properties": props}


def _dep_id(i: int, namespace: str) -> str:
    return f"deployment:{namespace}/api{i}"


def _register(store: GraphStore, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> datetime | None:
    return store.register(parse_batch({"nodes": nodes, "edges": edges}), principal=PRINCIPAL, source="test").recorded_at


operations = st.lists(
    st.one_of(
        st.tuples(st.just("owner"), st.integers(0, 6), st.lists(st.sampled_from(OWNERS), max_size=2, unique=True)),
        st.tuples(st.just("env"), st.integers(0, 2), st.sampled_from(ENVS)),
        st.tuples(st.just("deploy"), st.integers(3, 4), st.sampled_from(["prod", "staging"])),
        st.tuples(st.just("retract"), st.integers(0, 4), st.none()),
    ),
    max_size=8,
)


def _facts(report: Any) -> Any:
    rows = [(n.id, n.distance, n.owners, n.production) for _, members in report.groups() for n in members]
    return rows, report.counts(), report.owners(), [n.id for n in report.production_deployments()]


def _check(store: GraphStore, times: list[datetime]) -> None:
    """Now (from the index) equals as of the latest write (from the store), and the rows equal the records."""
    for start, run in ((DATA_IDS[0], impact), (_dep_id(0, "prod"), provenance)):
        try:
            now = run(store, start)
        except Exception:  # retracted start
            continue
        if times:
            assert now.to_dict()["nodes"] == run(store, start, as_of=times[-1]).to_dict()["nodes"]
            assert _facts(now) == _facts(run(store, start, as_of=times[-1]))
        records = store.get_nodes([n.id for n in now.nodes])
        for n in now.nodes:
            assert n.owners == records[n.id].owners
            assert n.production == is_production(records[n.id])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_report_owners_and_production_follow_every_write(
    store_factory: Callable[[], GraphStore], ops: list[tuple[str, int, Any]]
) -> None:
    with store_factory() as store:
        deps = [(0, "prod", "prod"), (1, "prod", None), (2, "serving", "staging")]
        nodes = [*DATA, RUN, MODEL, *(_deployment(i, env, ns) for i, ns, env in deps)]
        edges = [
            {"from": DATA_IDS[0], "type": "INPUT_TO", "to": RUN_ID},
            {"from": DATA_IDS[1], "type": "INPUT_TO", "to": RUN_ID},
            {"from": RUN_ID, "type": "PRODUCED", "to": MODEL_ID},
            *({"from": MODEL_ID, "type": "DEPLOYED_AS", "to": _dep_id(i, ns)} for i, ns, _ in deps),
        ]
        times = [t for t in [_register(store, nodes, edges)] if t]
        node_ids = [*DATA_IDS, RUN_ID, MODEL_ID, *(_dep_id(i, ns) for i, ns, _ in deps)]
        _check(store, times)
        for op, target, value in ops:
            try:
                if op == "owner":
                    result = store.annotate(node_ids[target], "owner", replace=value, principal=PRINCIPAL)
                    at = result.recorded_at
                elif op == "env":
                    i, ns, _ = deps[target]
                    at = _register(store, [_deployment(i, value, ns)], [])
                elif op == "deploy":  # a new deployment, owned from the start
                    dep = {**_deployment(target, None, value), "owners": ["team-new"]}
                    edge = {"from": MODEL_ID, "type": "DEPLOYED_AS", "to": _dep_id(target, value)}
                    at = _register(store, [dep], [edge])
                else:
                    at = store.retract(node_ids[target], reason="wrong", principal=PRINCIPAL).recorded_at
            except Exception:  # a retracted node cannot change any more
                continue
            if at is not None:
                times.append(at)
            _check(store, times)
        for a, b in itertools.pairwise(times):  # as of every past time: from the store, as before
            old = impact(store, DATA_IDS[0], as_of=a) if store.get_nodes([DATA_IDS[0]], a) else None
            if old is not None:
                records = store.get_nodes([n.id for n in old.nodes], a)
                assert all(n.owners == records[n.id].owners for n in old.nodes)
                assert all(n.production == is_production(records[n.id]) for n in old.nodes)
            assert b > a


def _chain(store: GraphStore, length: int) -> str:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for i in range(length):
        nodes.append({"kind": "Dataset", "namespace": "wh", "name": f"c{i:03d}", "version": "1"})
        nodes.append({"kind": "Run", "namespace": "ci", "name": f"j{i:03d}", "version": "r1"})
        edges.append({"from": f"dataset:wh/c{i:03d}@1", "type": "INPUT_TO", "to": f"run:ci/j{i:03d}@r1"})
        if i + 1 < length:
            edges.append({"from": f"run:ci/j{i:03d}@r1", "type": "PRODUCED", "to": f"dataset:wh/c{i + 1:03d}@1"})
    _register(store, nodes, edges)
    return "dataset:wh/c000@1"


def test_the_walk_is_charged_level_by_level(store: GraphStore) -> None:
    start = _chain(store, 30)
    budget = WorkBudget()
    report = impact(store, start, budget=budget)
    assert budget.expanded == len(report.nodes) == 59
    with pytest.raises(LimitExceededError) as err:
        impact(store, start, budget=WorkBudget(max_expanded=10))
    assert err.value.details["budget"] == "nodes expanded"


def test_a_walk_past_its_time_stops_while_walking(store: GraphStore) -> None:
    start = _chain(store, 30)
    ticks = itertools.count()
    budget = WorkBudget(seconds=12, clock=lambda: float(next(ticks)))
    with pytest.raises(LimitExceededError) as err:
        store.reach(start, Direction.DOWNSTREAM, charge=lambda n: budget.charge(expanded=n))
    assert err.value.details["budget"] == "seconds of traversal"
    assert budget.expanded < 59  # stopped part way, not after the whole walk
