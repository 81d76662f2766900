"""lineage.Client: the same calls and the same typed answers against a local store and a server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest
from lineage_server import Served, serve

from lineage import Client
from lineage.demo import CORRUPTED, build_demo_batch
from lineage.errors import NotFoundError, UnauthenticatedError, ValidationError
from lineage.model import EdgeType, NodeKind
from lineage.sdk import LineageGraph, Node
from lineage.storage import open_store
from lineage.storage.base import Direction

GRAPHQL_SCHEMA = Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("sdk")
    url = f"sqlite:///{folder / 'sdk.db'}"
    with open_store(url) as st:
        st.register(build_demo_batch(), principal="user:seed", source="test")
    with serve(url, folder) as server:
        yield server


@pytest.fixture(params=["local", "remote"])
def client(request: pytest.FixtureRequest, served: Served) -> Iterator[Client]:
    target = served.store if request.param == "local" else served.url
    with Client(target, token=served.token, actor="user:sdk-test") as c:
        yield c


def test_get_and_search_return_typed_nodes(client: Client) -> None:
    node = client.get(CORRUPTED)
    assert isinstance(node, Node) and node.kind is NodeKind.DATASET and node.version == "2026-11-03"
    assert node.owners and node.recorded_at is not None
    found = client.search("churn-classifier", kinds=["Model"], limit=5)
    assert found and all(n.kind is NodeKind.MODEL for n in found)
    with pytest.raises(NotFoundError):
        client.get("dataset:nowhere/nothing@1")


def test_impact_and_provenance_are_graphs(client: Client, served: Served) -> None:
    impact = client.impact(CORRUPTED)
    assert isinstance(impact, LineageGraph) and impact.direction is Direction.DOWNSTREAM
    assert impact.root.id == CORRUPTED and impact.of_kind(NodeKind.DEPLOYMENT)
    graph = impact.to_networkx()
    assert isinstance(graph, nx.DiGraph)
    assert set(graph.nodes) == {CORRUPTED, *impact.ids()}
    # every reached node is reachable from the root along the returned edges, at its distance
    lengths = nx.single_source_shortest_path_length(graph, CORRUPTED)
    assert all(lengths[r.node.id] == r.distance for r in impact.reached)
    for r in impact.reached:
        assert r.path[0] == CORRUPTED and r.path[-1] == r.node.id and len(r.path_edges) == r.distance
    # the same answer as the library computes on the store itself
    with open_store(served.store) as st:
        from lineage.analysis import impact as library_impact

        expected = {n.node.id: n.distance for n in library_impact(st, CORRUPTED).nodes}
        assert {r.node.id: r.distance for r in impact.reached} == expected
        stored = {(h.origin, h.reached) for h in st.expand(sorted(graph.nodes), Direction.DOWNSTREAM)}
        assert set(graph.edges) == {e for e in stored if e[0] in graph and e[1] in graph}
    model = impact.of_kind("Model")[0].node.id
    bom = client.provenance(model, kinds=["CodeCommit", "Dataset"])
    assert bom.direction is Direction.UPSTREAM and {r.node.kind for r in bom.reached} <= {
        NodeKind.CODE_COMMIT,
        NodeKind.DATASET,
    }
    assert any(e.type is EdgeType.PRODUCED and e.target == model for e in client.provenance(model).edges)


def test_local_and_remote_answer_alike(served: Served) -> None:
    with Client(served.store) as local, Client(served.url, token=served.token) as remote:
        a, b = local.impact(CORRUPTED, depth=3), remote.impact(CORRUPTED, depth=3)
        assert [(r.node.id, r.distance, r.path) for r in a.reached] == [
            (r.node.id, r.distance, r.path) for r in b.reached
        ]
        assert a.edges == b.edges
        assert [e.seq for e in local.audit(limit=5)] == [e.seq for e in remote.audit(limit=5)]


def test_register_is_read_after_write_everywhere(client: Client, served: Served) -> None:
    name = f"raw-{client.remote}"
    result = client.register(
        nodes=[
            {
                "kind": "Dataset",
                "namespace": "sdk",
                "name": name,
                "version": "1",
                "owners": ["team-sdk"],
                "properties": {"rows": 10},
            }
        ]
    )
    assert result.changed and result.nodes_created == 1
    node_id = f"dataset:sdk/{name}@1"
    assert client.get(node_id).properties == {"rows": 10}
    with Client(served.url, token=served.token) as other, Client(served.store) as local:
        assert other.get(node_id).owners == ("team-sdk",)
        assert local.search(name)[0].id == node_id
    assert not client.register(
        nodes=[
            {
                "kind": "Dataset",
                "namespace": "sdk",
                "name": name,
                "version": "1",
                "owners": ["team-sdk"],
                "properties": {"rows": 10},
            }
        ]
    ).changed
    entries = client.audit(subject=node_id)
    assert len(entries) == 1 and entries[0].action == "register"
    with pytest.raises(ValidationError):
        client.register({"nodes": [{"kind": "Dataset", "namespace": "sdk", "name": "no-version"}]})


def test_fluent_run_records_inputs_outputs_and_state(client: Client, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q"],
        ["config", "user.email", "a@b.c"],
        ["config", "user.name", "A"],
        ["remote", "add", "origin", "git@github.com:acme/train.git"],
        ["commit", "-q", "--allow-empty", "-m", "train"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        with client.run("train-churn", run_id=f"ok-{client.remote}", properties={"lr": 0.1}) as run:
            run.input(CORRUPTED)
            model = run.model("churn-sdk", f"1-{client.remote}", auc=0.87)
            run.log(epochs=3)
            assert client.get(run.id).status == "RUNNING"  # visible while it runs
    finally:
        os.chdir(cwd)
    done = client.get(run.id)
    assert done.status == "COMPLETE" and done.properties["epochs"] == 3 and "ended_at" in done.properties
    upstream = client.provenance(model).ids()
    assert {run.id, CORRUPTED, f"codecommit:git/github.com/acme/train@{sha}"} <= upstream

    with (
        pytest.raises(RuntimeError, match="out of memory"),
        client.run("train-churn", run_id=f"bad-{client.remote}", commit=None) as failing,
    ):
        failing.input(CORRUPTED)
        raise RuntimeError("out of memory")
    failed = client.get(failing.id)
    assert failed.status == "FAIL" and "out of memory" in failed.properties["error_message"]


def test_remote_errors_map_to_engine_errors(served: Served) -> None:
    with Client(served.url) as anonymous, pytest.raises(UnauthenticatedError):
        anonymous.register(nodes=[{"kind": "Dataset", "namespace": "sdk", "name": "x", "version": "1"}])
    from lineage.errors import BackendUnavailableError

    with Client("http://127.0.0.1:9", timeout=2) as down, pytest.raises(BackendUnavailableError):
        down.get(CORRUPTED)


def test_sdk_graphql_documents_match_the_published_schema() -> None:
    from graphql import build_schema, parse, validate
    from lineage.sdk.remote import DOCUMENTS

    schema = build_schema(GRAPHQL_SCHEMA.read_text())
    for name, document in DOCUMENTS.items():
        assert validate(schema, parse(document)) == [], name


def test_classification_queries_match_the_library(client: Client, served: Served) -> None:
    from lineage.governance.classifications import classification_reach, classify

    with open_store(served.store) as st:
        classify(st, CORRUPTED, ["pii.email"], principal="user:seed", source="test")
        expected = {r.node.id for r in classification_reach(st, "pii", as_of=None).nodes}
    reach = client.classification_reach("pii")
    assert reach.ids() == expected and expected, "the SDK answers what the library computes"
    deployments = client.classification_reach("pii", kinds=["Deployment"])
    assert deployments.nodes and all(n.kind is NodeKind.DEPLOYMENT for n in deployments.nodes)
    target = sorted(deployments.ids())[0]
    carried = client.classifications(target)
    assert "pii.email" in carried.classifications
    via = next(e for e in carried.effective if e.classification == "pii.email")
    assert not via.direct and via.origin == CORRUPTED and via.path[0] == CORRUPTED and via.path[-1] == target
    assert len(via.path_edges) == len(via.path) - 1
    assert client.classifications(CORRUPTED).effective[0].direct
