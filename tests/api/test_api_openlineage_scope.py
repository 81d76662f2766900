"""Namespace scopes hold for OpenLineage as they do for GraphQL ``register``: a writer limited to
``sandbox`` cannot create, change or link nodes of another namespace by sending an event whose job
is in ``sandbox``. Reading across namespaces (an unchanged input from elsewhere) stays allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lineage.governance.access import Principal, Role
from lineage.ingest.dbt import import_manifest
from lineage.ingest.openlineage import OpenLineageIngester, replay
from lineage.storage import GraphStore, open_store
from lineage.storage.base import NodeFilter
from tests.api.conftest import ELSEWHERE, Api

pytestmark = pytest.mark.anyio
PATH = "/api/v1/lineage"
PRODUCER = "https://example.com/scope-tests"


def _facet(**values: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://example.com/facet.json", **values}


def _ds(namespace: str, name: str, version: str | None = None, owners: list[str] | None = None) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if version is not None:
        facets["version"] = _facet(datasetVersion=version)
    if owners:
        facets["ownership"] = _facet(owners=[{"name": o} for o in owners])
    return {"namespace": namespace, "name": name, "facets": facets}


def run_event(run: int, inputs: list[Any] = (), outputs: list[Any] = (), job_ns: str = "sandbox") -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"00000000-0000-4000-8000-{run:012d}"},
        "job": {"namespace": job_ns, "name": "etl"},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def job_event(inputs: list[Any], outputs: list[Any]) -> dict[str, Any]:
    return {
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "sandbox", "name": "static"},
        "inputs": inputs,
        "outputs": outputs,
    }


def _state(store: GraphStore) -> tuple[dict[str, int], Any, list[str]]:
    node = store.get_node(ELSEWHERE)
    return store.counts(), node.properties, sorted(node.owners)


@pytest.mark.parametrize(
    ("event", "named"),
    [
        # an output in another namespace: existing node would get owners and properties
        (run_event(1, outputs=[_ds("elsewhere", "other", "1", owners=["mallory"])]), ELSEWHERE),
        # an output in another namespace that does not exist yet
        (run_event(2, outputs=[_ds("elsewhere", "fresh", "1")]), "dataset:elsewhere/fresh@1"),
        # an input from another namespace that the event would change (new owners)
        (run_event(3, inputs=[_ds("elsewhere", "other", "1", owners=["mallory"])]), ELSEWHERE),
        # static lineage between two nodes of another namespace
        (job_event([_ds("elsewhere", "other", "1")], [_ds("elsewhere", "derived", "1")]), "elsewhere"),
    ],
    ids=["output-existing", "output-new", "input-changed", "job-feeds"],
)
async def test_event_touching_another_namespace_is_refused_whole(api: Api, event: dict[str, Any], named: str) -> None:
    before = _state(api.store)
    response = await api.client.post(PATH, json=event, headers=api.headers("writer"))
    assert response.status_code == 403, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert named in error["message"]
    # nothing changed, and the event was not landed either (a replay must not apply it later)
    assert _state(api.store) == before
    # the same token may not do it over GraphQL either
    reply = await api.gql(
        "mutation($id: ID!) { setOwners(id: $id, owners: [\"mallory\"]) { changed } }", {"id": ELSEWHERE}, who="writer"
    )
    assert reply.codes == ["FORBIDDEN"]


async def test_reading_an_unchanged_input_from_another_namespace_is_allowed(api: Api) -> None:
    # the owner of 'elsewhere' has already recorded the dataset version as OpenLineage sees it
    seen = run_event(40, inputs=[_ds("elsewhere", "other", "1")], job_ns="elsewhere")
    assert (await api.client.post(PATH, json=seen, headers=api.headers("other"))).status_code == 201
    event = run_event(4, inputs=[_ds("elsewhere", "other", "1")], outputs=[_ds("sandbox", "out", "1")])
    response = await api.client.post(PATH, json=event, headers=api.headers("writer"))
    assert response.status_code == 201, response.text
    edges = {(e.source, e.type.value) for e in api.store.node_edges(ELSEWHERE)}
    assert (ELSEWHERE, "INPUT_TO") in edges
    entry = api.store.audit_entries()[-1]
    assert entry.principal == "token:ci-sandbox"


async def test_batch_refuses_the_out_of_scope_event_alone(api: Api) -> None:
    good = run_event(5, outputs=[_ds("sandbox", "ok", "1")])
    bad = run_event(6, outputs=[_ds("elsewhere", "other", "1", owners=["mallory"])])
    response = await api.client.post(f"{PATH}/batch", json=[good, bad], headers=api.headers("writer"))
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert results[0]["status"] == "ok"
    assert results[1]["code"] == "FORBIDDEN" and ELSEWHERE in results[1]["message"]
    assert "mallory" not in api.store.get_node(ELSEWHERE).owners
    api.store.get_node("dataset:sandbox/ok@1")


async def test_unscoped_writer_and_admin_may_write_anywhere(api: Api) -> None:
    for who, run in (("writer_all", 7), ("admin", 8)):
        event = run_event(run, outputs=[_ds("elsewhere", f"by-{who}", "1", owners=["team-x"])])
        response = await api.client.post(PATH, json=event, headers=api.headers(who))
        assert response.status_code == 201, response.text


def test_replay_and_imports_under_a_scoped_principal_keep_the_scope(store: GraphStore, tmp_path: Path) -> None:
    scoped = Principal("ci-sandbox", Role.WRITER, ("sandbox",))
    source = OpenLineageIngester(store, principal="token:admin")
    source.ingest(run_event(9, outputs=[_ds("elsewhere", "x", "1")]))
    source.ingest(run_event(10, outputs=[_ds("sandbox", "y", "1")]))
    with open_store(f"sqlite:///{tmp_path / 'target.db'}") as target:
        summary = replay(store, target, principal=scoped)
        assert summary.mapped == 1 and len(summary.errors) == 1 and "elsewhere" in summary.errors[0]
        assert not [n for n in snapshot_ids(target) if n.startswith("dataset:elsewhere/")]
        assert "dataset:sandbox/y@1" in snapshot_ids(target)
    ingester = OpenLineageIngester(store, principal=scoped)
    results = ingester.ingest_many([run_event(11, outputs=[_ds("elsewhere", "z", "1")])])
    assert [getattr(r, "code", None) for r in results] == ["FORBIDDEN"]
    manifest = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "p"},
        "nodes": {
            "model.p.a": {"resource_type": "model", "database": "db", "schema": "s", "name": "a",
                          "depends_on": {"nodes": []}},
        },
        "sources": {},
    }
    from lineage.errors import ForbiddenError

    with pytest.raises(ForbiddenError):
        import_manifest(store, manifest, principal=scoped, namespace="elsewhere")


def snapshot_ids(store: GraphStore) -> set[str]:
    return {n.id for n in store.list_nodes(NodeFilter(), limit=1000)}
