"""`lineage import mlflow` against a real local MLflow tracking store written with the official client."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lineage_server import clean_env, run_cli
from mlflow_support import (
    CUSTOMERS_TABLE,
    ORDERS_URI,
    SHA,
    Tracking,
    http_input,
    table_input,
    tracking_store,
)
from ol_support import run_event, run_id

from lineage.analysis import impact
from lineage.ingest.mlflow import import_mlflow
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.model import Batch, EdgeType, NodeKind, NodeSpec
from lineage.storage import Direction, GraphStore
from lineage.storage.base import AuditFilter

pytest.importorskip("mlflow", reason="the [mlflow] extra (mlflow-skinny) is not installed")
pytest.importorskip("alembic", reason="a local MLflow sqlite store needs alembic (the dev extra)")

ORDERS_NS, ORDERS_NAME = "s3://acme-lake", "orders/2026-03-01"
PIPELINE_RUN = run_id(1)


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Tracking:
    """Two training runs reading a lake file and a table; the first registered as churn v1, alias champion."""
    t = tracking_store(tmp_path_factory.mktemp("mlflow"))
    inputs = [http_input("orders", "d0rders1", ORDERS_URI), table_input("customers", "c0st1", CUSTOMERS_TABLE)]
    first = t.log_run(30, inputs=inputs, model="churn-model")
    t.log_run(60, inputs=inputs[:1], status="RUNNING")
    version = t.register("churn", first)
    t.client.set_registered_model_alias("churn", "champion", version)
    return t


def seed_pipeline(store: GraphStore) -> str:
    """What the data platform recorded before training: a pipeline wrote the orders file (OpenLineage),
    and the warehouse table is known under the warehouse's namespace."""
    out = [{"namespace": ORDERS_NS, "name": ORDERS_NAME}]
    OpenLineageIngester(store, principal="ol").ingest_many(
        [
            run_event("orders.export", PIPELINE_RUN, "START", 0),
            run_event("orders.export", PIPELINE_RUN, "COMPLETE", 5, outputs=out),
        ]
    )
    table = NodeSpec(kind=NodeKind.DATASET, namespace="warehouse", name=CUSTOMERS_TABLE, version="2026-02-28")
    store.register(Batch(nodes=[table]), principal="dbt", source="cli")
    return f"dataset:s3:%2F%2Facme-lake/{ORDERS_NAME}@run-{PIPELINE_RUN}"


def mlflow_entries(store: GraphStore, source: str) -> list[int]:
    return [e.seq for e in store.audit_entries(AuditFilter(limit=10_000)) if e.source == source]


@pytest.fixture
def lineage_store(store: GraphStore) -> GraphStore:
    """A fresh store of each backend: the embedded file and a real Neo4j (tests/conftest.py)."""
    return store


def test_runs_inputs_models_registry_and_alias(churn: Tracking, lineage_store: GraphStore) -> None:
    orders = seed_pipeline(lineage_store)
    summary = import_mlflow(lineage_store, churn.uri, principal="ci", experiments=["churn"])
    assert summary.runs == 2 and summary.versions == 1 and summary.models == 1
    first, second = churn.runs
    run = lineage_store.get_node(f"run:mlflow/churn@{first}")
    assert run.properties["status"] == "COMPLETE" and run.properties["params"] == {"learning_rate": "0.1"}
    assert run.properties["metrics"] == {"auc": 0.79}  # the latest value
    assert run.event_time == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert run.properties["ended_at"].startswith("2026-03-01T08:40")
    assert lineage_store.get_node(f"run:mlflow/churn@{second}").properties["status"] == "RUNNING"

    upstream = {(h.edge_type, h.reached) for h in lineage_store.expand([run.id], Direction.UPSTREAM)}
    commit = f"codecommit:git/github.com/acme/ml-platform@{SHA}"
    assert (EdgeType.EXECUTED_IN, commit) in upstream
    # the file resolves to the version the pipeline wrote before the run started; the table to the
    # warehouse's namespace, at a version named by MLflow's digest
    assert (EdgeType.INPUT_TO, orders) in upstream
    assert (EdgeType.INPUT_TO, f"dataset:warehouse/{CUSTOMERS_TABLE}@c0st1") in upstream
    edge = lineage_store.get_edge_any((orders, EdgeType.INPUT_TO, run.id))
    assert edge is not None and edge.properties == {
        "context": "training",
        "mlflow_dataset": "orders",
        "mlflow_digest": "d0rders1",
    }

    downstream = {(h.edge_type, h.reached) for h in lineage_store.expand([run.id], Direction.DOWNSTREAM)}
    logged = f"model:mlflow/churn-model@{churn.models[first]}"
    assert downstream == {(EdgeType.PRODUCED, logged), (EdgeType.PRODUCED, "model:mlflow/churn@1")}
    version = lineage_store.get_node("model:mlflow/churn@1")
    assert version.properties["registered_model"] == "churn" and version.properties["registry_version"] == "1"
    assert version.properties["model_id"] == churn.models[first]
    served = {(h.edge_type, h.reached) for h in lineage_store.expand([version.id], Direction.DOWNSTREAM)}
    assert served == {(EdgeType.DEPLOYED_AS, "deployment:champion/churn")}
    assert lineage_store.get_node("deployment:champion/churn").properties["model_version"] == "1"


def test_impact_from_a_bad_input_reaches_the_alias(churn: Tracking, lineage_store: GraphStore) -> None:
    orders = seed_pipeline(lineage_store)
    import_mlflow(lineage_store, churn.uri, principal="ci", experiments=["churn"])
    report = impact(lineage_store, orders)
    reached = {n.node.id: n for n in report.nodes}
    assert "deployment:champion/churn" in reached
    assert reached["deployment:champion/churn"].path == [
        orders,
        f"run:mlflow/churn@{churn.runs[0]}",
        "model:mlflow/churn@1",
        "deployment:champion/churn",
    ]
    # the run that has not produced a model yet is hit, but leads nowhere further
    assert f"run:mlflow/churn@{churn.runs[1]}" in reached


def test_reimport_is_a_no_op_and_each_batch_is_one_audit_entry(churn: Tracking, lineage_store: GraphStore) -> None:
    seed_pipeline(lineage_store)
    first = import_mlflow(lineage_store, churn.uri, principal="ci", experiments=["churn"], page_size=1)
    source = f"mlflow:{churn.uri}"
    assert first.source == source
    entries = mlflow_entries(lineage_store, source)
    assert entries == first.audit_entries and len(entries) == 3  # two pages of one run, then the registry
    head = lineage_store.audit_entries(AuditFilter(limit=10_000))[-1].seq
    again = import_mlflow(lineage_store, churn.uri, principal="ci", experiments=["churn"], since=None)
    assert again.audit_entries == [] and again.nodes_created == again.edges_created == 0
    assert lineage_store.audit_entries(AuditFilter(limit=10_000))[-1].seq == head
    assert lineage_store.verify_audit().ok


def test_incremental_resumable_and_runs_that_finish_later(tmp_path: Path, lineage_store: GraphStore) -> None:
    t = tracking_store(tmp_path / "nightly", experiment="nightly")
    for minutes in (10, 20, 30):
        t.log_run(minutes, inputs=[http_input("orders", f"d{minutes}", ORDERS_URI)])
    open_run = t.log_run(40, status="RUNNING")

    seen: list[int] = []

    def interrupt(what: str, n: int) -> None:
        seen.append(n)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_mlflow(lineage_store, t.uri, principal="ci", page_size=1, progress=interrupt)
    imported = [r for r in t.runs if lineage_store.get_nodes([f"run:mlflow/nightly@{r}"])]
    assert imported == t.runs[:2]  # two pages committed, nothing of the third

    read: list[int] = []
    resumed = import_mlflow(lineage_store, t.uri, principal="ci", page_size=1, progress=lambda w, n: read.append(n))
    assert resumed.runs == 3  # from the newest imported run on, not from the start
    assert all(lineage_store.get_nodes([f"run:mlflow/nightly@{r}"]) for r in t.runs)

    t.client.set_terminated(open_run, status="FAILED")
    later = t.log_run(50)
    again = import_mlflow(lineage_store, t.uri, principal="ci")
    assert again.runs == 2  # the run that was open, and the new one
    assert lineage_store.get_node(f"run:mlflow/nightly@{open_run}").properties["status"] == "FAIL"
    assert lineage_store.get_nodes([f"run:mlflow/nightly@{later}"])

    since = import_mlflow(lineage_store, t.uri, principal="ci", since=datetime(2026, 3, 1, 8, 45, tzinfo=UTC))
    assert since.runs == 1 and since.audit_entries == []


def test_moving_an_alias_retracts_the_old_deployment_edge(tmp_path: Path, lineage_store: GraphStore) -> None:
    t = tracking_store(tmp_path / "fraud", experiment="fraud")
    v1_run = t.log_run(10, inputs=[http_input("txns", "t1", "s3://acme-lake/txns/1")], model="fraud-model")
    v2_run = t.log_run(20, inputs=[http_input("txns", "t2", "s3://acme-lake/txns/2")], model="fraud-model")
    v1 = t.register("fraud", v1_run)
    v2 = t.register("fraud", v2_run)
    t.client.set_registered_model_alias("fraud", "prod", v1)
    import_mlflow(lineage_store, t.uri, principal="ci")
    old_input = "dataset:s3:%2F%2Facme-lake/txns/1@t1"
    before = impact(lineage_store, old_input)
    assert "deployment:prod/fraud" in {n.node.id for n in before.production_deployments()}
    moved_at = datetime.now(UTC)

    t.client.set_registered_model_alias("fraud", "prod", v2)
    summary = import_mlflow(lineage_store, t.uri, principal="ci")
    assert summary.retracted == 1
    assert "deployment:prod/fraud" not in {n.node.id for n in impact(lineage_store, old_input).nodes}
    assert "deployment:prod/fraud" in {
        n.node.id for n in impact(lineage_store, "dataset:s3:%2F%2Facme-lake/txns/2@t2").nodes
    }
    assert "deployment:prod/fraud" in {n.node.id for n in impact(lineage_store, old_input, as_of=moved_at).nodes}
    assert lineage_store.get_node("deployment:prod/fraud").properties["model_version"] == v2
    edge = lineage_store.get_edge_any((f"model:mlflow/fraud@{v1}", EdgeType.DEPLOYED_AS, "deployment:prod/fraud"))
    assert edge is not None and edge.retracted_at is not None and "now serves" in (edge.retract_reason or "")
    assert import_mlflow(lineage_store, t.uri, principal="ci").retracted == 0


def test_cli_import_and_help(churn: Tracking, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    done = run_cli(
        "import", "mlflow", "--tracking-uri", churn.uri, "--experiment", "churn", "--store", url, "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["runs"] == 2 and summary["registered_versions"] == 1 and summary["source"] == f"mlflow:{churn.uri}"
    listed = run_cli("import", "--help")
    for source in ("openlineage", "dbt", "mlflow", "feast"):
        assert source in listed.stdout


@pytest.mark.parametrize("kind", ["corrupt", "missing", "unreachable"])
def test_bad_tracking_uri_exits_3_and_writes_nothing(kind: str, tmp_path: Path) -> None:
    if kind == "corrupt":
        bad = tmp_path / "mlflow.db"
        bad.write_bytes(b"this is not a database\n" * 100)
        uri = f"sqlite:///{bad}"
    elif kind == "missing":
        uri = f"sqlite:///{tmp_path / 'nowhere.db'}"
    else:
        uri = "http://127.0.0.1:9"
    target = tmp_path / "lineage.db"
    env = clean_env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="5")
    done = run_cli("import", "mlflow", "--tracking-uri", uri, "--store", f"sqlite:///{target}", env=env)
    assert done.returncode == 3, done.stderr
    assert "BACKEND_UNAVAILABLE" in done.stderr and "Traceback" not in done.stderr
    assert not target.exists()
    assert kind != "missing" or not (tmp_path / "nowhere.db").exists()


def test_unknown_experiment_is_bad_input(churn: Tracking, tmp_path: Path) -> None:
    target = tmp_path / "lineage.db"
    done = run_cli(
        "import", "mlflow", "--tracking-uri", churn.uri, "--experiment", "nope", "--store", f"sqlite:///{target}"
    )
    assert done.returncode == 2 and "'nope'" in done.stderr


def test_tracking_uris_are_recorded_without_credentials_and_with_absolute_paths(tmp_path: Path) -> None:
    from lineage.ingest.mlflow.reader import canonical_uri, redacted

    assert redacted(canonical_uri("https://ci:s3cret@mlflow.acme.internal/")) == "https://mlflow.acme.internal"
    assert redacted("postgresql://mlflow:pw@db:5432/mlflow") == "postgresql://db:5432/mlflow"
    assert canonical_uri("databricks") == "databricks"
    relative = canonical_uri("sqlite:///mlflow.db")
    assert relative.startswith("sqlite:////") and relative.endswith("/mlflow.db")
    assert canonical_uri(str(tmp_path / "mlruns")) == f"file://{tmp_path / 'mlruns'}"
