"""dbt manifests: every model, seed, snapshot and source becomes a dataset, every dependency an edge."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from ol_support import edges_of

from lineage.errors import ValidationError
from lineage.ingest.dbt import DATASET_TYPES, import_manifest, manifest_batch
from lineage.ingest.openlineage import replay
from lineage.model import NodeKind
from lineage.storage import GraphStore, open_store

MANIFESTS = ["large-manifest.json", "postgres-manifest.json"]


def load(root: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "dbt" / name).read_text())
    return data


def relation(node: dict[str, Any]) -> str:
    return ".".join(str(p) for p in (node["database"], node["schema"], node.get("alias") or node["name"]))


def resources(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] in DATASET_TYPES}
    out.update(manifest.get("sources") or {})
    return out


@pytest.mark.parametrize("name", MANIFESTS)
def test_feeds_mode_mirrors_the_parent_map(shared_fixtures: Path, sqlite_store: GraphStore, name: str) -> None:
    manifest = load(shared_fixtures, name)
    result = import_manifest(sqlite_store, manifest, principal="ci:dbt")
    res = resources(manifest)
    assert result.nodes_created == len(res)
    ids = {}
    for uid, node in res.items():
        found = [n for n in sqlite_store.search(relation(node), limit=50) if n.name == relation(node)]
        assert len(found) == 1, uid
        ids[uid] = found[0].id
        assert found[0].properties["dbt_unique_id"] == uid
    expected = {(ids[p], ids[c]) for c in res for p in manifest["parent_map"].get(c, []) if p in res}
    stored = {(src, dst) for dst in ids.values() for src in edges_of(sqlite_store, dst, "FEEDS", into=True)}
    assert stored == expected and expected
    assert not import_manifest(sqlite_store, manifest, principal="ci:dbt", land=False).changed
    customers = sqlite_store.get_node(ids["model.jaffle_shop.customers"])
    declared = manifest["nodes"]["model.jaffle_shop.customers"]
    assert [c["name"] for c in customers.properties["schema"]] == list(declared["columns"])
    assert customers.properties["materialized"] == declared["config"]["materialized"]


def test_changing_a_model_versions_it_and_everything_downstream_only(shared_fixtures: Path) -> None:
    manifest = load(shared_fixtures, "postgres-manifest.json")
    before = {n.name: n.version for n in manifest_batch(manifest).nodes}
    changed = copy.deepcopy(manifest)
    changed["nodes"]["model.jaffle_shop.stg_orders"]["checksum"]["checksum"] = "0" * 64
    after = {n.name: n.version for n in manifest_batch(changed).nodes}
    moved = {name for name in before if before[name] != after[name]}
    assert moved == {"postgres.public.stg_orders", "postgres.public.orders", "postgres.public.customers"}


@pytest.mark.parametrize("name", MANIFESTS)
def test_runs_mode_records_one_run_per_model(shared_fixtures: Path, sqlite_store: GraphStore, name: str) -> None:
    manifest = load(shared_fixtures, name)
    import_manifest(sqlite_store, manifest, principal="ci:dbt", mode="runs", namespace="postgres://localhost:5432")
    invocation = manifest["metadata"]["invocation_id"]
    res = resources(manifest)
    for uid in (u for u, n in res.items() if n["resource_type"] != "source"):
        run = f"run:dbt/{uid}@{invocation}"
        produced = edges_of(sqlite_store, run, "PRODUCED", into=False)
        assert [sqlite_store.get_node(p).name for p in produced] == [relation(res[uid])]
        parents = {relation(res[p]) for p in manifest["parent_map"].get(uid, []) if p in res}
        assert {sqlite_store.get_node(i).name for i in edges_of(sqlite_store, run, "INPUT_TO", into=True)} == parents


def test_manifest_is_kept_raw_and_replays(shared_fixtures: Path, tmp_path: Path) -> None:
    manifest = load(shared_fixtures, "large-manifest.json")
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as a, open_store(f"sqlite:///{tmp_path / 'b.db'}") as b:
        import_manifest(a, manifest, principal="ci:dbt", namespace="snowflake://acme", mode="runs")
        summary = replay(a, b, principal="replay")
        assert summary.mapped == 1 and not summary.errors
        assert b.counts()["current_nodes"] == a.counts()["current_nodes"]
        assert b.search("customers", [NodeKind.DATASET], limit=5)[0].namespace == "snowflake://acme"


def test_not_a_manifest_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a dbt manifest"):
        manifest_batch({"metadata": {}})
    with pytest.raises(ValidationError, match="not a dbt manifest"):
        manifest_batch({"nodes": {}, "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1"}})
