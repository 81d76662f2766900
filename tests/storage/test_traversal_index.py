"""The traversal index answers exactly as a walk over the store, and follows every write.

Property-based: on random DAGs written in several batches with retractions in between, and queried
between the writes (so the index catches up by the audit sequence, not only by a fresh load),
``reach`` equals ``reach_by_expand`` (the level-by-level walk over the store) node for node and
path for path, now and as of every recorded time, in both directions, with depth, kind and size
limits. Then: writes and retractions by another process (the CLI) are seen by the next read of an
open store and of a running server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from contract_support import PRINCIPAL, mk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lineage_server import run_cli, serve

from lineage.analysis.subgraph import walk
from lineage.model import ALLOWED_EDGES, EdgeType, NodeKind
from lineage.storage import Direction, GraphStore, Reach, open_store
from lineage.storage.index import TraversalIndex

TYPE_OF = {(s, d): e.value for s, e, d in ALLOWED_EDGES}
KINDS = [NodeKind.DATASET] * 3 + [NodeKind.RUN] * 3 + [NodeKind.FEATURE, NodeKind.MODEL, NodeKind.DEPLOYMENT]


def _spec(kind: NodeKind, i: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"kind": kind.value, "namespace": "ns", "name": f"n{i:02d}"}
    if kind.versioned:
        spec["version"] = "v1"
    return spec


def _id(kind: NodeKind, i: int) -> str:
    base = f"{kind.prefix}:ns/n{i:02d}"
    return f"{base}@v1" if kind.versioned else base


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(4, 16))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(n)]
    order = draw(st.permutations(range(n)))
    pairs = [
        (order[a], order[b])
        for a in range(n)
        for b in range(a + 1, n)
        if (kinds[order[a]], kinds[order[b]]) in TYPE_OF
    ]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=40)) if pairs else []
    steps = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.integers(0, len(edges)), min_size=steps - 1, max_size=steps - 1)))
    retract_edges = draw(st.lists(st.integers(0, max(len(edges) - 1, 0)), max_size=3, unique=True)) if edges else []
    retract_nodes = draw(st.lists(st.integers(0, n - 1), max_size=2, unique=True))
    return {
        "kinds": kinds,
        "edges": edges,
        "cuts": [0, *cuts, len(edges)],
        "retract_edges": retract_edges,
        "retract_nodes": retract_nodes,
    }


def _same(a: Reach, b: Reach) -> None:
    assert [(r.id, r.kind, r.distance, r.via, r.edge_type) for r in a.nodes] == [
        (r.id, r.kind, r.distance, r.via, r.edge_type) for r in b.nodes
    ]
    assert a.truncated == b.truncated
    assert a.paths() == b.paths()


class _WithoutIndex:
    """The same store with its index hidden: every walk goes to the store level by level."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def traversal_index(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _same_walk(store: GraphStore, starts: list[str], direction: Direction, as_of: Any, **opts: Any) -> None:
    a = walk(store, starts, direction, as_of=as_of, check_starts=False, **opts)
    b = walk(_WithoutIndex(store), starts, direction, as_of=as_of, check_starts=False, **opts)  # type: ignore[arg-type]
    assert (a.kinds, a.edges, a.distance, a.truncated) == (b.kinds, b.edges, b.distance, b.truncated)


def _check(store: GraphStore, ids: list[str], as_of: Any = None) -> None:
    for direction in (Direction.DOWNSTREAM, Direction.UPSTREAM):
        for opts in ({}, {"max_depth": 1}, {"max_depth": 2}, {"max_nodes": 2},
                     {"edge_types": (EdgeType.PRODUCED, EdgeType.FEEDS)}):
            _same_walk(store, ids[:3], direction, as_of, **opts)
    for start in ids:
        try:
            store.get_node(start, as_of)
        except Exception:
            continue
        for direction in (Direction.DOWNSTREAM, Direction.UPSTREAM):
            for opts in ({}, {"max_depth": 1}, {"max_depth": 2, "kinds": (NodeKind.RUN, NodeKind.MODEL)},
                         {"max_nodes": 2}, {"edge_types": (EdgeType.INPUT_TO, EdgeType.FEEDS)}):
                _same(
                    store.reach(start, direction, as_of=as_of, **opts),  # type: ignore[arg-type]
                    store.reach_by_expand(start, direction, as_of=as_of, **opts),  # type: ignore[arg-type]
                )


@pytest.mark.parametrize("merge_ratio", [0.0, 0.125, 10.0])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(h=histories())
def test_index_answers_as_the_store_now_and_as_of_every_time(
    store_factory: Callable[[], GraphStore], merge_ratio: float, monkeypatch: pytest.MonkeyPatch, h: dict[str, Any]
) -> None:
    monkeypatch.setattr(TraversalIndex, "merge_ratio", merge_ratio)
    kinds: list[NodeKind] = h["kinds"]
    ids = [_id(k, i) for i, k in enumerate(kinds)]
    with store_factory() as store:
        times = []
        nodes = [_spec(k, i) for i, k in enumerate(kinds)]
        for a, b in zip(h["cuts"], h["cuts"][1:], strict=False):
            chunk = [
                {"from": ids[i], "type": TYPE_OF[(kinds[i], kinds[j])], "to": ids[j]} for i, j in h["edges"][a:b]
            ]
            result = store.register(mk(nodes, chunk), principal=PRINCIPAL, source="test")
            nodes = []
            if result.recorded_at is not None:
                times.append(result.recorded_at)
            _check(store, ids[:4])  # reads between writes: the index follows the audit sequence
        for k in h["retract_edges"]:
            i, j = h["edges"][k]
            edge = f"{ids[i]} -{TYPE_OF[(kinds[i], kinds[j])]}-> {ids[j]}"
            times.append(store.retract(edge, reason="wrong", principal=PRINCIPAL).recorded_at)
            _check(store, ids[:3])
        for i in h["retract_nodes"]:
            times.append(store.retract(ids[i], reason="wrong", principal=PRINCIPAL).recorded_at)
        _check(store, ids)
        for t in times:
            _check(store, ids, t)


# -- writes by another process -----------------------------------------------------------------


def _batch(path: Path, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"nodes": nodes, "edges": edges}))
    return path


RAW = {"kind": "Dataset", "namespace": "wh", "name": "raw", "version": "1"}
ETL = {"kind": "Run", "namespace": "ci", "name": "etl", "version": "r1"}
OUT = {"kind": "Dataset", "namespace": "wh", "name": "clean", "version": "1"}
TRAIN = {"kind": "Run", "namespace": "ci", "name": "train", "version": "r1"}
MODEL = {"kind": "Model", "namespace": "ml", "name": "churn", "version": "1"}


def _ids(store: GraphStore, start: str, **kw: Any) -> list[str]:
    return [r.id for r in store.reach(start, Direction.DOWNSTREAM, **kw).nodes]


def test_open_store_sees_cli_writes_and_retractions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = _batch(
        tmp_path / "a.json",
        [RAW, ETL, OUT],
        [
            {"from": "dataset:wh/raw@1", "type": "INPUT_TO", "to": "run:ci/etl@r1"},
            {"from": "run:ci/etl@r1", "type": "PRODUCED", "to": "dataset:wh/clean@1"},
        ],
    )
    second = _batch(
        tmp_path / "b.json",
        [TRAIN, MODEL],
        [
            {"from": "dataset:wh/clean@1", "type": "INPUT_TO", "to": "run:ci/train@r1"},
            {"from": "run:ci/train@r1", "type": "PRODUCED", "to": "model:ml/churn@1"},
        ],
    )
    assert run_cli("register", "--file", str(first), "--store", url).returncode == 0
    with open_store(url) as store:
        assert _ids(store, "dataset:wh/raw@1") == ["run:ci/etl@r1", "dataset:wh/clean@1"]
        done = run_cli("register", "--file", str(second), "--store", url)
        assert done.returncode == 0, done.stderr
        assert _ids(store, "dataset:wh/raw@1")[-1] == "model:ml/churn@1"
        before = store.get_node("model:ml/churn@1").recorded_at
        gone = run_cli("retract", "run:ci/train@r1", "--reason", "bad run", "--store", url)
        assert gone.returncode == 0, gone.stderr
        assert _ids(store, "dataset:wh/raw@1") == ["run:ci/etl@r1", "dataset:wh/clean@1"]
        assert _ids(store, "dataset:wh/raw@1", as_of=before)[-1] == "model:ml/churn@1"
        assert store.reach("dataset:wh/raw@1", Direction.DOWNSTREAM).nodes == store.reach_by_expand(
            "dataset:wh/raw@1", Direction.DOWNSTREAM
        ).nodes


IMPACT = "query($id: ID!) { impact(id: $id) { reached { edges { node { id } } } } }"


def test_running_server_sees_a_cli_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    batch = _batch(
        tmp_path / "a.json",
        [RAW, ETL],
        [{"from": "dataset:wh/raw@1", "type": "INPUT_TO", "to": "run:ci/etl@r1"}],
    )
    assert run_cli("register", "--file", str(batch), "--store", url).returncode == 0
    with serve(url, tmp_path) as served:

        def impacted() -> list[str]:
            got = httpx.post(
                f"{served.url}/graphql",
                json={"query": IMPACT, "variables": {"id": "dataset:wh/raw@1"}},
                headers={"Authorization": f"Bearer {served.token}"},
                timeout=30,
            ).json()
            assert "errors" not in got, got
            return [e["node"]["id"] for e in got["data"]["impact"]["reached"]["edges"]]

        assert impacted() == ["run:ci/etl@r1"]
        more = _batch(
            tmp_path / "b.json",
            [OUT],
            [{"from": "run:ci/etl@r1", "type": "PRODUCED", "to": "dataset:wh/clean@1"}],
        )
        assert run_cli("register", "--file", str(more), "--store", url).returncode == 0
        assert sorted(impacted()) == ["dataset:wh/clean@1", "run:ci/etl@r1"]
        assert run_cli("retract", "dataset:wh/clean@1", "--reason", "bad", "--store", url).returncode == 0
        assert impacted() == ["run:ci/etl@r1"]


def test_owners_of_equals_the_owners_on_records(store: GraphStore) -> None:
    ids = ["dataset:wh/raw@1", "run:ci/etl@r1", "dataset:wh/clean@1"]
    raw = {**RAW, "owners": ["team-b", "team-a"]}
    out = {**OUT, "owners": ["team-c"]}
    first = store.register(
        mk([raw, ETL, out], [{"from": ids[0], "type": "INPUT_TO", "to": ids[1]}]), principal=PRINCIPAL
    ).recorded_at
    store.annotate(ids[0], "owner", remove=["team-a"], add=["team-d"], principal=PRINCIPAL)
    for as_of in (None, first):
        expected = {i: r.owners for i, r in store.get_nodes(ids, as_of).items() if r.owners}
        assert store.owners_of(ids, as_of) == expected
    assert store.owners_of(ids)[ids[0]] == ("team-b", "team-d")
    assert store.owners_of(ids, first)[ids[0]] == ("team-a", "team-b")


@pytest.mark.parametrize("replaced", [False, True], ids=["caught-up-by-another-caller", "store-replaced"])
def test_a_head_read_before_another_caller_caught_up_is_not_a_replaced_store(tmp_path: Path, replaced: bool) -> None:
    """Readers sync concurrently: one reads the head, another catches the index up past it, then the
    first takes the lock holding a head behind the index. That is no reason for a fresh load (seconds
    at a million nodes, under the lock every reader waits on); a store whose log really went back is."""
    from lineage.model import parse_batch

    url = f"sqlite:///{tmp_path / 'race.db'}"

    def link(nodes: list[dict[str, Any]], src: str, type_: str, dst: str) -> None:
        edge = {"from": src, "type": type_, "to": dst}
        writer.register(parse_batch({"nodes": nodes, "edges": [edge]}), principal=PRINCIPAL)

    with open_store(url) as store, open_store(url) as writer:
        link([RAW, ETL], "dataset:wh/raw@1", "INPUT_TO", "run:ci/etl@r1")
        index = store.traversal_index()
        assert index is not None
        stale = index.head + 1
        link([OUT], "run:ci/etl@r1", "PRODUCED", "dataset:wh/clean@1")
        link([TRAIN], "dataset:wh/clean@1", "INPUT_TO", "run:ci/train@r1")
        index.sync()  # the other caller
        caught_up = index.head
        assert caught_up == stale + 1

        feed: Any = index._feed
        loads: list[int] = []
        real_load, real_head = feed.index_load, feed.index_head
        feed.index_load = lambda consume: loads.append(1) or real_load(consume)
        reads = iter([stale])  # the head as this caller read it, before the other caller's catch-up
        feed.index_head = lambda: next(reads, None) or (stale if replaced else real_head())
        index.sync()
        assert loads == ([1] if replaced else [])
        if not replaced:
            assert index.head == caught_up
            assert _ids(store, "dataset:wh/raw@1") == ["run:ci/etl@r1", "dataset:wh/clean@1", "run:ci/train@r1"]


def test_facts_of_a_few_nodes_are_point_lookups(tmp_path: Path) -> None:
    """After each write the index reads the owners and production flags of the nodes it named: one
    keyed lookup per node, never a scan of every deployment (milliseconds per write at 100k)."""
    import sqlite3

    from lineage.model import parse_batch
    from lineage.storage import sqlite_index

    url = f"sqlite:///{tmp_path / 'facts.db'}"
    deployments = [{"kind": "Deployment", "namespace": "prod", "name": f"api-{i}"} for i in range(100)]
    datasets = [{"kind": "Dataset", "namespace": "wh", "name": f"t{i}", "version": "1"} for i in range(3000)]
    with open_store(url) as store:
        store.register(parse_batch({"nodes": deployments + datasets}), principal=PRINCIPAL)
    with sqlite3.connect(tmp_path / "facts.db") as db:
        for query in (sqlite_index._OWNERS_OF, sqlite_index._DEPLOYMENTS_OF):
            plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query, {"ids": '["deployment:prod/api-1"]'})]
            # one search by the node's id (its key, or an index led by kind and id), not a scan
            assert plan[0].startswith("SCAN f") and plan[1].startswith("SEARCH") and "id=?" in plan[1], plan
