"""One relation, one dataset: dbt seeds and the sources that read them, OpenLineage spellings.

The dbt case is built like jaffle-shop: six seeds load exactly the six relations its sources read,
staging models select from the sources, marts join the staging models.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ol_support import ds, run_event, run_id

from lineage.analysis import impact
from lineage.ingest.dbt import import_manifest, manifest_batch
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.ingest.relations import (
    RelationIndex,
    canonical_name,
    location_key,
    relation_key,
    relation_name,
    split_relation,
)
from lineage.model import NodeKind
from lineage.storage import GraphStore

TABLES = ["customers", "orders", "items", "products", "stores", "supplies"]
MARTS = {"customers": ["customers", "orders"], "orders": ["orders", "items", "products", "supplies"],
         "locations": ["stores"], "products": ["products"], "supplies": ["supplies"], "order_items": ["items"]}


def jaffle_manifest(source_case: str = "same") -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    parent_map: dict[str, list[str]] = {}
    for t in TABLES:
        seed = f"seed.jaffle_shop.raw_{t}"
        nodes[seed] = {"resource_type": "seed", "database": "jaffle", "schema": "raw", "name": f"raw_{t}",
                       "alias": f"raw_{t}", "checksum": {"checksum": f"seed-{t}"}, "meta": {"owner": "team-seeds"}}
        parent_map[seed] = []
        src = f"source.jaffle_shop.ecom.raw_{t}"
        schema, ident = ("RAW", f"RAW_{t.upper()}") if source_case == "upper" else ("raw", f"raw_{t}")
        sources[src] = {"resource_type": "source", "database": "jaffle", "schema": schema, "name": f"raw_{t}",
                        "identifier": ident, "source_name": "ecom", "meta": {"owner": "team-sources"}}
        parent_map[src] = []
        stg = f"model.jaffle_shop.stg_{t}"
        nodes[stg] = {"resource_type": "model", "database": "jaffle", "schema": "staging", "name": f"stg_{t}",
                      "checksum": {"checksum": f"stg-{t}"}, "config": {"materialized": "view"}}
        parent_map[stg] = [src]
    for mart, deps in MARTS.items():
        uid = f"model.jaffle_shop.{mart}"
        nodes[uid] = {"resource_type": "model", "database": "jaffle", "schema": "marts", "name": mart,
                      "checksum": {"checksum": f"mart-{mart}"}, "config": {"materialized": "table"}}
        parent_map[uid] = [f"model.jaffle_shop.stg_{d}" for d in deps]
    test = "test.jaffle_shop.not_null_raw_orders_id"
    nodes[test] = {"resource_type": "test", "name": "not_null_raw_orders_id",
                   "depends_on": {"nodes": ["source.jaffle_shop.ecom.raw_orders"]}}
    return {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                         "invocation_id": "inv-1", "generated_at": "2026-05-01T00:00:00Z"},
            "nodes": nodes, "sources": sources, "parent_map": parent_map}


def _models(report: Any) -> set[str]:
    return {n.node.name.rsplit(".", 1)[1] for n in report.nodes if n.node.kind is NodeKind.DATASET}


@pytest.mark.parametrize("source_case", ["same", "upper"])
def test_seed_and_source_of_one_relation_are_one_dataset(store: GraphStore, source_case: str) -> None:
    manifest = jaffle_manifest(source_case)
    import_manifest(store, manifest, principal="ci:dbt", namespace="postgres://db:5432")
    raw = [n for n in store.search("jaffle.raw.", kinds=[NodeKind.DATASET], limit=100)]
    assert len(raw) == len(TABLES)  # one dataset per relation, not a seed and a source each
    orders = next(n for n in raw if n.name == "jaffle.raw.raw_orders")
    assert orders.properties["dbt_resource_type"] == "seed"
    assert orders.properties["dbt_sources"] == ["source.jaffle_shop.ecom.raw_orders"]
    assert orders.properties["dbt_tests"] == ["not_null_raw_orders_id"]
    assert set(orders.owners) == {"team-seeds", "team-sources"}
    reached = _models(impact(store, orders.id))
    assert reached == {"stg_orders"} | {m for m, deps in MARTS.items() if "orders" in deps}
    # every seed reaches models; together they reach all 12
    everything: set[str] = set()
    for seed in raw:
        found = _models(impact(store, seed.id))
        assert found
        everything |= found
    assert everything == {f"stg_{t}" for t in TABLES} | set(MARTS)


def test_changing_a_seed_versions_the_models_that_read_its_source() -> None:
    manifest = jaffle_manifest()
    before = {n.name: n.version for n in manifest_batch(manifest).nodes}
    manifest["nodes"]["seed.jaffle_shop.raw_stores"]["checksum"]["checksum"] = "changed"
    after = {n.name: n.version for n in manifest_batch(manifest).nodes}
    assert {n for n in before if before[n] != after[n]} == {
        "jaffle.raw.raw_stores", "jaffle.staging.stg_stores", "jaffle.marts.locations"}


def test_runs_mode_reads_the_seed_run_output(store: GraphStore) -> None:
    import_manifest(store, jaffle_manifest(), principal="ci:dbt", mode="runs", namespace="postgres://db:5432")
    seed_out = next(n for n in store.search("jaffle.raw.raw_customers", kinds=[NodeKind.DATASET]))
    assert seed_out.version == "run-inv-1"
    assert {"stg_customers", "customers"} <= _models(impact(store, seed_out.id))
    assert not [n for n in store.search("jaffle.raw.", kinds=[NodeKind.DATASET], limit=50) if n.version == "observed"]


def test_openlineage_spellings_of_one_relation_are_one_dataset(store: GraphStore) -> None:
    ingester = OpenLineageIngester(store, principal="token:etl")
    wrote = [ds("postgres://db:5432", '"analytics"."public"."orders"')]
    read = [ds("postgres://db:5432", "analytics.public.orders")]
    for event in (run_event("load", run_id(1), "COMPLETE", 0, outputs=wrote),
                  run_event("report", run_id(2), "COMPLETE", 5, inputs=read)):
        ingester.ingest(event)
    versions = [n for n in store.search("orders", kinds=[NodeKind.DATASET], limit=10)]
    assert {n.name for n in versions} == {"analytics.public.orders"}
    produced = next(n for n in versions if n.version == f"run-{run_id(1)}")
    reached = {n.node.id for n in impact(store, produced.id).nodes}
    assert f"run:pipelines/report@{run_id(2)}" in reached


part = st.text(alphabet=st.characters(blacklist_characters='"`[]/', blacklist_categories=("Cs", "Zs", "Cc")),
               min_size=1, max_size=8).filter(lambda s: s.strip() == s and s)


@given(st.lists(part.filter(lambda s: "." not in s), min_size=1, max_size=4), st.sampled_from(['"', "`", "["]))
def test_quoted_and_unquoted_names_are_one_relation(parts: list[str], quote: str) -> None:
    close = "]" if quote == "[" else quote
    quoted = ".".join(f"{quote}{p}{close}" for p in parts)
    plain = ".".join(parts)
    assert canonical_name(quoted) == plain == relation_name(*parts)
    assert relation_key("ns", quoted) == relation_key("ns/", plain)
    assert split_relation(f'{quote}a.b{close}.c') == ["a.b", "c"]


@pytest.mark.parametrize("name", ["file[1].csv", 's3://bucket/"raw"/x', 'a"b".c', "events/2026/11", "plain.name",
                                  '"unclosed.name'])
def test_names_that_are_not_quoted_relations_are_kept_as_they_are(name: str) -> None:
    assert canonical_name(name) == name


def test_locations_and_the_index() -> None:
    assert location_key("s3a://Bucket/path/") == location_key("s3://bucket/path") == "s3://bucket/path"
    assert location_key("gs://b/x") != location_key("gs://b/y")
    index: RelationIndex[str] = RelationIndex()
    assert index.claim("postgres://db:5432", "jaffle.raw.raw_orders", "seed") == "seed"
    assert index.claim("postgres://db:5432/", '"JAFFLE"."RAW"."RAW_ORDERS"', "source") == "seed"
    assert index.owner("postgres://db:5432", "jaffle.raw.other") is None
