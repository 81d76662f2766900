"""Real OpenLineage events (Marquez examples, the dbt integration) give the graph they describe.

Expectations are derived from the events themselves: every run, every dataset a run declares, the
producer of every dataset a run reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ol_support import edges_of, fixture_events

from lineage import Client
from lineage.analysis import impact, provenance
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.storage import GraphStore, open_store


def _id(kind: str, namespace: str, name: str, version: str) -> str:
    from lineage.model import NodeKind, node_id

    return node_id(NodeKind.parse(kind), namespace, name, version)


@pytest.fixture
def loaded(shared_fixtures: Path, tmp_path: Path) -> tuple[GraphStore, list[dict[str, Any]]]:
    store = open_store(f"sqlite:///{tmp_path / 'fixtures.db'}")
    events = fixture_events(shared_fixtures)
    ingester = OpenLineageIngester(store, principal="token:fixtures")
    for event in events:
        ingester.ingest(event)
    yield store, events
    store.close()


def test_every_run_and_its_state(loaded: tuple[GraphStore, list[dict[str, Any]]]) -> None:
    store, events = loaded
    final: dict[str, str] = {}
    for e in events:
        rid = _id("Run", e["job"]["namespace"], e["job"]["name"], e["run"]["runId"])
        if e["eventType"] == "COMPLETE" or rid not in final:
            final[rid] = e["eventType"]
    for rid, state in final.items():
        assert store.get_node(rid).properties["status"] == state
    assert set(final.values()) == {"COMPLETE"}
    assert store.counts()["raw_events"] == len(events)


def test_outputs_and_inputs_follow_the_declared_datasets(loaded: tuple[GraphStore, list[dict[str, Any]]]) -> None:
    store, events = loaded
    producer: dict[tuple[str, str], str] = {}
    for e in events:
        for out in e.get("outputs") or []:
            producer[(out["namespace"], out["name"])] = e["run"]["runId"]
    for e in events:
        run = _id("Run", e["job"]["namespace"], e["job"]["name"], e["run"]["runId"])
        linked = edges_of(store, run, "INPUT_TO", into=True)
        for out in e.get("outputs") or []:
            assert _id("Dataset", out["namespace"], out["name"], f"run-{e['run']['runId']}") in edges_of(
                store, run, "PRODUCED", into=False
            )
        for inp in e.get("inputs") or []:
            key = (inp["namespace"], inp["name"])
            version = f"run-{producer[key]}" if key in producer else "observed"
            assert _id("Dataset", *key, version) in linked, (run, key)


def test_marquez_food_delivery_lineage_reaches_downstream(loaded: tuple[GraphStore, list[dict[str, Any]]]) -> None:
    store, events = loaded
    by_job = {e["job"]["name"]: e["run"]["runId"] for e in events if e["job"]["namespace"] == "food_delivery"}
    orders = _id("Dataset", "food_delivery", "public.orders", f"run-{by_job['etl_orders']}")
    reached = {n.node.id for n in impact(store, orders).nodes}
    for job in ("etl_orders_7_days", "etl_delivery_7_days", "delivery_times_7_days", "email_discounts"):
        assert _id("Run", "food_delivery", job, by_job[job]) in reached
    top = _id("Dataset", "food_delivery", "public.top_delivery_times", f"run-{by_job['delivery_times_7_days']}")
    upstream = {n.node.id for n in provenance(store, top).nodes}
    assert _id("Run", "food_delivery", "etl_customers", by_job["etl_customers"]) in upstream
    declared = next(
        o["facets"]["schema"]["fields"] for e in events for o in e.get("outputs") or [] if o["name"] == "public.orders"
    )
    assert [f["name"] for f in store.get_node(orders).properties["schema"]] == [f["name"] for f in declared]


def test_column_lineage_chain(loaded: tuple[GraphStore, list[dict[str, Any]]]) -> None:
    store, _events = loaded
    with Client(store) as client:
        c = client.column_lineage("dataset:namespace/dataset_c@run-00000000-0000-0000-0000-000000000002")
        b = client.column_lineage("dataset:namespace/dataset_b@run-00000000-0000-0000-0000-000000000001")
    assert [(e.target_field, e.source, e.source_field) for e in c] == [
        ("col_c", "dataset:namespace/dataset_b@run-00000000-0000-0000-0000-000000000001", "col_b")
    ]
    assert [(e.target_field, e.source, e.source_field, e.description) for e in b] == [
        ("col_b", "dataset:namespace/dataset_a@observed", "col_a", "col_b = col_a")
    ]


def test_dbt_integration_runs_parents_and_tests(loaded: tuple[GraphStore, list[dict[str, Any]]]) -> None:
    store, events = loaded
    dbt = [e for e in events if e["job"]["namespace"] == "dbt"]
    children = [e for e in dbt if "parent" in (e["run"].get("facets") or {})]
    assert children
    for e in children:
        parent = e["run"]["facets"]["parent"]
        run = store.get_node(_id("Run", "dbt", e["job"]["name"], e["run"]["runId"]))
        expected = _id("Run", parent["job"]["namespace"], parent["job"]["name"], parent["run"]["runId"])
        assert run.properties["parent_run"] == expected
        assert store.get_node(expected).properties["status"] == "COMPLETE"
    ns = "postgres://localhost:5432"
    raw_orders = _id("Dataset", ns, "dbt_test.main.raw_orders", "observed")
    reached = {n.node.id for n in impact(store, raw_orders).nodes}
    model = next(e for e in dbt if e["job"]["name"].endswith(".customer_analytics"))
    assert _id("Dataset", ns, "dbt_test.main.customer_analytics", f"run-{model['run']['runId']}") in reached
    stg = next(e for e in dbt if e["job"]["name"].endswith(".stg_orders") and e["eventType"] == "COMPLETE")
    version = _id("Dataset", ns, "dbt_test.main.stg_orders", f"run-{stg['run']['runId']}")
    with Client(store) as client:
        columns = client.column_lineage(version, field="completed_amount")
    assert {(e.source, e.source_field) for e in columns} == {(raw_orders, "amount"), (raw_orders, "status")}
    tests = [e for e in dbt if e["job"]["name"].endswith("stg_orders.test")]
    run = _id("Run", "dbt", tests[0]["job"]["name"], tests[0]["run"]["runId"])
    assert edges_of(store, run, "INPUT_TO", into=True) == {version}


def test_fixture_file_as_json_array_and_ndjson_give_the_same_graph(shared_fixtures: Path, tmp_path: Path) -> None:
    from ol_support import snapshot

    events = json.loads((shared_fixtures / "openlineage" / "marquez" / "metadata.json").read_text())
    graphs = []
    for i, batch in enumerate((events, list(reversed(events)))):
        with open_store(f"sqlite:///{tmp_path / f'g{i}.db'}") as st:
            OpenLineageIngester(st, principal="p").ingest_many(batch)
            graphs.append(snapshot(st))
    assert graphs[0] == graphs[1]
