"""OpenLineage's parent run facet becomes a traversable edge: ``parent -PARENT_OF-> child``.

Events are built with the openlineage-python client's own classes (an Airflow DAG run launching two
task runs, one of which launches a Spark job) and mapped on both backends. "What did this DAG run
produce" is one walk: downstream from the DAG run along PARENT_OF and PRODUCED only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from lineage.analysis import impact, provenance
from lineage.cli import build_app
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.model import EdgeType, NodeKind
from lineage.storage import GraphStore, open_store

ol = pytest.importorskip("openlineage.client")
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState  # noqa: E402
from openlineage.client.facet_v2 import parent_run  # noqa: E402
from openlineage.client.serde import Serde  # noqa: E402

PRODUCER = "https://github.com/acme/pipelines/tree/1.0"
T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
DAG_RUN = "01890000-0000-7000-8000-000000000001"
EXTRACT, TRANSFORM, SPARK, REPORT = (f"01890000-0000-7000-8000-00000000000{i}" for i in (2, 3, 4, 5))
DAG = f"run:airflow/daily_sales@{DAG_RUN}"


def _event(state: RunState, minute: int, ns: str, job: str, run_id: str, *, parent: tuple[str, str, str] | None = None,
           inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = ()) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if parent is not None:
        pns, pjob, prun = parent
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=prun), job=parent_run.Job(namespace=pns, name=pjob),
            root=parent_run.Root(run=parent_run.RootRun(runId=DAG_RUN),
                                 job=parent_run.RootJob(namespace="airflow", name="daily_sales")),
        )
    event = RunEvent(
        eventType=state,
        eventTime=(T0 + timedelta(minutes=minute)).isoformat(),
        run=Run(runId=run_id, facets=facets),
        job=Job(namespace=ns, name=job),
        producer=PRODUCER,
        inputs=[InputDataset(namespace="postgres://wh:5432", name=n) for n in inputs],
        outputs=[OutputDataset(namespace="postgres://wh:5432", name=n) for n in outputs],
    )
    return dict(Serde.to_dict(event))


def dag_events() -> list[dict[str, Any]]:
    dag = ("airflow", "daily_sales", DAG_RUN)
    transform = ("airflow", "daily_sales.transform", TRANSFORM)
    return [
        _event(RunState.START, 0, "airflow", "daily_sales", DAG_RUN),
        _event(RunState.COMPLETE, 1, "airflow", "daily_sales.extract", EXTRACT, parent=dag,
               inputs=("raw.orders",), outputs=("stage.orders",)),
        _event(RunState.COMPLETE, 2, "airflow", "daily_sales.transform", TRANSFORM, parent=dag,
               inputs=("stage.orders",), outputs=("mart.daily",)),
        _event(RunState.COMPLETE, 3, "spark", "sales_enrich", SPARK, parent=transform,
               inputs=("mart.daily",), outputs=("mart.enriched",)),
        _event(RunState.COMPLETE, 4, "airflow", "daily_sales", DAG_RUN),
        # a consumer outside the DAG: plain impact reaches it, "what the DAG produced" does not
        _event(RunState.COMPLETE, 9, "reports", "kpis", REPORT, inputs=("mart.enriched",), outputs=("bi.kpis",)),
    ]


def _loaded(store: GraphStore) -> GraphStore:
    ingester = OpenLineageIngester(store, principal="token:airflow")
    for event in dag_events():
        ingester.ingest(event)
    return store


def _names(nodes: list[Any], kind: NodeKind) -> set[str]:
    return {n.node.name for n in nodes if n.node.kind is kind}


def test_parent_facet_is_a_parent_of_edge(store: GraphStore) -> None:
    _loaded(store)
    task = f"run:airflow/daily_sales.extract@{EXTRACT}"
    assert store.get_edge_any((DAG, EdgeType.PARENT_OF, task)) is not None
    spark = f"run:spark/sales_enrich@{SPARK}"
    transform = f"run:airflow/daily_sales.transform@{TRANSFORM}"
    assert store.get_edge_any((transform, EdgeType.PARENT_OF, spark)) is not None
    assert store.get_node(spark).properties["root_run"] == DAG
    # the parent's own COMPLETE event fills in the stub the child created
    assert store.get_node(DAG).properties["status"] == "COMPLETE"


def test_what_did_this_dag_run_produce_is_one_walk(store: GraphStore) -> None:
    _loaded(store)
    made = impact(store, DAG, edge_types=(EdgeType.PARENT_OF, EdgeType.PRODUCED))
    assert _names(made.nodes, NodeKind.RUN) == {"daily_sales.extract", "daily_sales.transform", "sales_enrich"}
    assert _names(made.nodes, NodeKind.DATASET) == {"stage.orders", "mart.daily", "mart.enriched"}
    enriched = next(n for n in made.nodes if n.node.name == "mart.enriched")
    assert enriched.via == ["PARENT_OF", "PARENT_OF", "PRODUCED"]
    # plain impact of the DAG run goes on to what others derived from its outputs
    everything = impact(store, DAG)
    assert "bi.kpis" in _names(everything.nodes, NodeKind.DATASET)
    assert "raw.orders" not in _names(everything.nodes, NodeKind.DATASET)


def test_provenance_of_an_output_names_the_orchestrating_runs(store: GraphStore) -> None:
    _loaded(store)
    enriched = next(n for n in store.search("mart.enriched", kinds=[NodeKind.DATASET])
                    if n.version == f"run-{SPARK}")
    bom = provenance(store, enriched.id)
    runs = {n.node.id for n in bom.nodes if n.node.kind is NodeKind.RUN}
    assert DAG in runs and f"run:airflow/daily_sales.transform@{TRANSFORM}" in runs
    # impact of an input does not climb to the DAG run: the parent did not derive from it
    for raw in store.search("raw.orders", kinds=[NodeKind.DATASET]):
        assert DAG not in {n.node.id for n in impact(store, raw.id).nodes}


def test_cli_edge_option(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dag.db'}"
    with open_store(url) as st:
        _loaded(st)
    runner = CliRunner()
    result = runner.invoke(build_app(), ["impact", DAG, "--edge", "PARENT_OF,PRODUCED", "--kind", "Dataset",
                                         "--format", "json", "--store", url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {n["id"].split("/")[1].split("@")[0] for n in data["nodes"]} == {"stage.orders", "mart.daily",
                                                                           "mart.enriched"}
    assert data["edge_types"] == ["PARENT_OF", "PRODUCED"]
    result = runner.invoke(build_app(), ["impact", DAG, "--edge", "SIBLING_OF", "--store", url])
    assert result.exit_code == 2 and "SIBLING_OF" in result.output
    result = runner.invoke(build_app(), ["schema", "edges"])
    assert "PARENT_OF" in result.output


PRODUCED_BY_DAG = """query Made($id: ID!) {
  impact(id: $id, kinds: [DATASET], edgeTypes: [PARENT_OF, PRODUCED]) {
    reached { edges { distance node { id name } path { edgeTypes } } }
  }
}"""


def test_graphql_answers_what_a_dag_run_produced_in_one_query(tmp_path: Path) -> None:
    from lineage_server import serve

    url = f"sqlite:///{tmp_path / 'gql.db'}"
    with open_store(url) as st:
        _loaded(st)
    with serve(url, tmp_path) as served:
        reply = httpx.post(f"{served.url}/graphql", json={"query": PRODUCED_BY_DAG, "variables": {"id": DAG}},
                           headers={"Authorization": f"Bearer {served.token}"}, timeout=60)
    assert reply.status_code == 200, reply.text
    edges = reply.json()["data"]["impact"]["reached"]["edges"]
    assert {e["node"]["name"] for e in edges} == {"stage.orders", "mart.daily", "mart.enriched"}
    assert all(set(e["path"]["edgeTypes"]) <= {"PARENT_OF", "PRODUCED"} for e in edges)
