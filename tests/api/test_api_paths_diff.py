"""lineage.analysis.paths and lineage.analysis.diff on every backend (the API's paths and diff)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lineage.analysis.diff import diff
from lineage.analysis.paths import paths
from lineage.errors import BadInputError, NotFoundError
from lineage.model import EdgeType, NodeKind, parse_batch
from lineage.storage import GraphStore

P = "user:test"


def _ds(name: str, version: str = "1", ns: str = "w") -> dict[str, Any]:
    return {"kind": "Dataset", "namespace": ns, "name": name, "version": version}


def _id(spec: dict[str, Any]) -> str:
    return f"{spec['kind'].lower()}:{spec['namespace']}/{spec['name']}@{spec['version']}"


def diamonds(store: GraphStore, layers: int) -> tuple[str, str]:
    """A chain of diamonds: 2**layers distinct paths from the first node to the last."""
    nodes = [_ds("n0")]
    edges = []
    for i in range(layers):
        left, right, join = _ds(f"l{i}"), _ds(f"r{i}"), _ds(f"n{i + 1}")
        nodes += [left, right, join]
        for mid in (left, right):
            edges.append({"from": _id(_ds(f"n{i}")), "type": "FEEDS", "to": _id(mid)})
            edges.append({"from": _id(mid), "type": "FEEDS", "to": _id(join)})
    store.register(parse_batch({"nodes": nodes, "edges": edges}), principal=P)
    return _id(_ds("n0")), _id(_ds(f"n{layers}"))


def test_paths_do_not_explode_on_diamonds(store: GraphStore) -> None:
    source, target = diamonds(store, 40)  # 2**40 paths exist
    start = time.perf_counter()
    found = paths(store, source, target, max_paths=5)
    assert time.perf_counter() - start < 10
    assert len(found.paths) == 5 and found.more is True
    assert {len(p) for p in found.paths} == {80}
    assert found.between == 1 + 3 * 40
    for p in found.paths:
        assert p.nodes[0] == source and p.nodes[-1] == target
        assert set(p.edges) == {EdgeType.FEEDS}
    assert len({p.nodes for p in found.paths}) == 5


def test_paths_edge_cases(store: GraphStore) -> None:
    source, target = diamonds(store, 2)
    assert paths(store, target, source).paths == []  # upstream is not a path
    same = paths(store, source, source)
    assert [p.nodes for p in same.paths] == [(source,)] and len(same.paths[0]) == 0
    assert len(paths(store, source, target, max_paths=10).paths) == 4
    with pytest.raises(NotFoundError):
        paths(store, source, "dataset:w/missing@1")
    with pytest.raises(BadInputError):
        paths(store, source, target, max_paths=0)


def _lineage_of(model_version: str, data_version: str, feature_version: str, sha: str) -> dict[str, Any]:
    run = {"kind": "Run", "namespace": "ci", "name": "train", "version": f"t{model_version}"}
    data = _ds("orders", data_version)
    feat = {"kind": "Feature", "namespace": "f", "name": "spend", "version": feature_version}
    shared = _ds("labels", "1")
    commit = {"kind": "CodeCommit", "namespace": "git", "name": "repo", "version": sha}
    model = {"kind": "Model", "namespace": "ml", "name": "churn", "version": model_version}
    extra = [_ds(f"only{model_version}")]
    nodes = [run, data, feat, shared, commit, model, *extra]
    edges = [
        {"from": _id(data), "type": "FEEDS", "to": _id(feat)},
        {"from": _id(feat), "type": "INPUT_TO", "to": _id(run)},
        {"from": _id(shared), "type": "INPUT_TO", "to": _id(run)},
        {"from": _id(extra[0]), "type": "INPUT_TO", "to": _id(run)},
        {"from": _id(commit), "type": "EXECUTED_IN", "to": _id(run)},
        {"from": _id(run), "type": "PRODUCED", "to": _id(model)},
    ]
    return {"nodes": nodes, "edges": edges}


def test_diff_of_two_model_versions(store: GraphStore) -> None:
    for args in (("1", "a", "v1", "aaa"), ("2", "b", "v2", "bbb")):
        store.register(parse_batch(_lineage_of(*args)), principal=P)
    result = diff(store, "model:ml/churn@1", "model:ml/churn@2")
    changed = {(c.kind, c.name): (c.before, c.after) for c in result.changed}
    assert changed[(NodeKind.DATASET, "orders")] == (("dataset:w/orders@a",), ("dataset:w/orders@b",))
    assert changed[(NodeKind.FEATURE, "spend")] == (("feature:f/spend@v1",), ("feature:f/spend@v2",))
    assert changed[(NodeKind.CODE_COMMIT, "repo")] == (("codecommit:git/repo@aaa",), ("codecommit:git/repo@bbb",))
    assert (NodeKind.RUN, "train") in changed
    assert result.added == ["dataset:w/only2@1"] and result.removed == ["dataset:w/only1@1"]
    assert result.unchanged == ["dataset:w/labels@1"]
    counts = result.counts()
    assert counts[NodeKind.DATASET].changed == 1 and counts[NodeKind.DATASET].unchanged == 1
    assert diff(store, "model:ml/churn@1", "model:ml/churn@1").identical
    only_data = diff(store, "model:ml/churn@1", "model:ml/churn@2", kinds=[NodeKind.DATASET])
    assert {c.kind for c in only_data.changed} == {NodeKind.DATASET}
    assert result.to_dict()["counts"]["Dataset"]["added"] == 1
