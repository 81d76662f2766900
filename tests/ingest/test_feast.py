"""`lineage import feast` with the real Feast SDK on a small repository applied in the test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lineage_server import run_cli
from ol_support import run_event, run_id

from lineage.analysis import impact
from lineage.errors import ValidationError
from lineage.ingest.feast import import_feast
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec
from lineage.storage import Direction, GraphStore, open_store

pytest.importorskip("feast", reason="the [feast] extra is not installed")

CONFIG = """project: churn_features
registry: data/registry.db
provider: local
online_store:
  type: sqlite
  path: data/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


def definitions(data: Path, *, spend_type: Any = None) -> list[Any]:
    """One entity, one file source, two feature views, one feature service serving prod/churn-api."""
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast.types import Float32, Int64

    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
    orders = FileSource(name="orders_daily", path=str(data / "orders.parquet"), timestamp_field="event_timestamp")
    orders_30d = FeatureView(
        name="orders_30d",
        entities=[customer],
        ttl=timedelta(days=30),
        schema=[
            Field(name="orders_30d", dtype=Int64),
            Field(name="spend_30d", dtype=spend_type or Float32, tags={"unit": "eur"}),
        ],
        source=orders,
        owner="team-features@acme.com",
        tags={"team": "growth"},
    )
    basket = FeatureView(
        name="basket",
        entities=[customer],
        ttl=timedelta(days=7),
        schema=[Field(name="basket_size", dtype=Float32)],
        source=orders,
        owner="team-features@acme.com",
    )
    service = FeatureService(
        name="churn_v1",
        features=[orders_30d[["spend_30d"]], basket],
        tags={"lineage.deployment": "prod/churn-api", "lineage.model": "model:ml/churn@3"},
    )
    return [customer, orders, orders_30d, basket, service]


def apply(repo: Path, **kwargs: Any) -> None:
    from feast import FeatureStore

    (repo / "data").mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(CONFIG)
    FeatureStore(repo_path=str(repo)).apply(definitions(repo / "data", **kwargs))


_ENVIRONMENT = set(os.environ)


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Applying a repository here imports Feast, which sets PROMETHEUS_* variables for its own server:
    removed again, so server processes that later tests in this worker start are unaffected."""
    yield
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_") and k not in _ENVIRONMENT]:
        del os.environ[key]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("feast") / "repo"
    apply(folder)
    return folder


@pytest.fixture
def lineage_store(store: GraphStore) -> GraphStore:
    """A fresh store of each backend: the embedded file and a real Neo4j (tests/conftest.py)."""
    return store


def feature(store: GraphStore, name: str) -> str:
    found = [n for n in store.search(name, kinds=(NodeKind.FEATURE,)) if n.name == name]
    assert len(found) == 1, found
    return found[0].id


def seed_training(store: GraphStore) -> str:
    """The model the service declares, produced by a recorded training run."""
    run = NodeSpec(kind=NodeKind.RUN, namespace="ci", name="train.churn", version="r3")
    model = NodeSpec(kind=NodeKind.MODEL, namespace="ml", name="churn", version="3")
    edge = EdgeSpec.model_validate({"from": run.id, "type": EdgeType.PRODUCED, "to": model.id})
    store.register(Batch(nodes=[run, model], edges=[edge]), principal="ci", source="cli")
    return run.id


def test_sources_features_and_services(repo: Path, lineage_store: GraphStore) -> None:
    train = seed_training(lineage_store)
    result = import_feast(lineage_store, repo, principal="ci")
    assert (result.project, result.sources, result.features, result.services) == ("churn_features", 1, 3, 1)
    assert result.warnings == []
    source = f"dataset:file/{repo / 'data' / 'orders.parquet'}@observed"
    dataset = lineage_store.get_node(source)
    assert dataset.properties["feast_source"] == "orders_daily" and dataset.properties["placeholder"] is True

    spend = lineage_store.get_node(feature(lineage_store, "orders_30d.spend_30d"))
    assert spend.namespace == "churn_features" and spend.owners == ("team-features@acme.com",)
    assert spend.properties["tags"] == {"team": "growth", "unit": "eur"}
    assert spend.properties["entity"] == "customer_id" and spend.properties["ttl_seconds"] == 30 * 86400
    assert spend.properties["feature_services"] == ["churn_v1"] and spend.properties["dtype"] == "Float32"
    fed = {(h.edge_type, h.reached) for h in lineage_store.expand([source], Direction.DOWNSTREAM)}
    names = {"orders_30d.orders_30d", "orders_30d.spend_30d", "basket.basket_size"}
    assert fed == {(EdgeType.FEEDS, feature(lineage_store, n)) for n in names}

    # the service's features (not orders_30d.orders_30d, which it does not select) reach what declares it
    served = {n.node.id for n in impact(lineage_store, spend.id).nodes}
    assert served == {"deployment:prod/churn-api", train, "model:ml/churn@3"}
    unserved = {n.node.id for n in impact(lineage_store, feature(lineage_store, "orders_30d.orders_30d")).nodes}
    assert unserved == set()
    hit = {n.node.id for n in impact(lineage_store, source).production_deployments()}
    assert hit == {"deployment:prod/churn-api"}

    again = import_feast(lineage_store, repo, principal="ci")
    assert not again.write.changed


def test_a_changed_definition_is_a_new_feature_version(tmp_path: Path, lineage_store: GraphStore) -> None:
    from feast.types import Float64

    repo = tmp_path / "repo"
    apply(repo)
    import_feast(lineage_store, repo, principal="ci")
    before = feature(lineage_store, "orders_30d.spend_30d")
    kept = feature(lineage_store, "basket.basket_size")
    apply(repo, spend_type=Float64)
    import_feast(lineage_store, repo, principal="ci")
    versions = [n.id for n in lineage_store.search("orders_30d.spend_30d", kinds=(NodeKind.FEATURE,))]
    assert before in versions and len(versions) == 2
    assert [n.id for n in lineage_store.search("basket.basket_size", kinds=(NodeKind.FEATURE,))] == [kept]


def test_source_resolves_to_the_version_a_pipeline_wrote(repo: Path, lineage_store: GraphStore) -> None:
    path = str(repo / "data" / "orders.parquet")
    writer = run_id(7)
    OpenLineageIngester(lineage_store, principal="ol").ingest_many(
        [
            run_event("orders.daily", writer, "START", 0),
            run_event("orders.daily", writer, "COMPLETE", 5, outputs=[{"namespace": "file", "name": path}]),
        ]
    )
    import_feast(lineage_store, repo, principal="ci")
    produced = f"dataset:file/{path}@run-{writer}"
    reached = {n.node.id for n in impact(lineage_store, produced).nodes}
    assert feature(lineage_store, "orders_30d.spend_30d") in reached
    assert "deployment:prod/churn-api" in reached


def test_the_import_leaves_the_process_environment_as_it_was(repo: Path, tmp_path: Path) -> None:
    """Feast points PROMETHEUS_MULTIPROC_DIR at a folder of its own when imported; left set, the
    engine's metrics (and every process started afterwards) would switch to multiprocess mode."""
    code = (
        "import os, sys; from pathlib import Path; from lineage.storage import open_store; "
        "from lineage.ingest.feast import import_feast; "
        "st = open_store(sys.argv[2]); import_feast(st, Path(sys.argv[1]), principal='ci'); st.close(); "
        "print(sorted(k for k in os.environ if k.startswith('PROMETHEUS_')))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(repo), f"sqlite:///{tmp_path / 'env.db'}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cli_and_bad_repositories(repo: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    done = run_cli("import", "feast", "--repo", str(repo), "--store", url)
    assert done.returncode == 0, done.stderr
    assert "3 features" in done.stdout and "churn_v1" in done.stderr  # the model it names is not recorded there
    missing = run_cli("import", "feast", "--repo", str(tmp_path / "nowhere"), "--store", url)
    assert missing.returncode == 2 and "feature_store.yaml" in missing.stderr
    with open_store(url) as st, pytest.raises(ValidationError, match=r"feature_store\.yaml"):
        import_feast(st, tmp_path, principal="ci")


def test_on_demand_views_are_fed_by_the_features_they_read(tmp_path: Path, lineage_store: GraphStore) -> None:
    import pandas as pd
    from feast import FeatureStore, Field, RequestSource
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64, Int64

    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "feature_store.yaml").write_text(CONFIG)
    customer, orders, orders_30d, basket, service = definitions(repo / "data")
    request = RequestSource(name="checkout", schema=[Field(name="cart_value", dtype=Float64)])

    @on_demand_feature_view(
        sources=[orders_30d, request],
        schema=[Field(name="spend_ratio", dtype=Float64), Field(name="is_big", dtype=Int64)],
        owner="team-checkout@acme.com",
    )
    def checkout_signals(inputs):  # type: ignore[no-untyped-def]  # no annotations: Feast evaluates them
        out = pd.DataFrame()
        out["spend_ratio"] = inputs["cart_value"] / (inputs["spend_30d"] + 1)
        out["is_big"] = (inputs["cart_value"] > 100).astype("int64")
        return out

    FeatureStore(repo_path=str(repo)).apply([customer, orders, orders_30d, basket, request, checkout_signals, service])
    result = import_feast(lineage_store, repo, principal="ci")
    assert result.features == 5
    ratio = lineage_store.get_node(feature(lineage_store, "checkout_signals.spend_ratio"))
    assert ratio.properties["feature_view_type"] == "on_demand_feature_view"
    assert ratio.owners == ("team-checkout@acme.com",)
    upstream = {h.reached for h in lineage_store.expand([ratio.id], Direction.UPSTREAM)}
    # every feature of the view it reads (the transformation is code); the request data is no dataset
    assert upstream == {feature(lineage_store, "orders_30d.orders_30d"), feature(lineage_store, "orders_30d.spend_30d")}
    source = f"dataset:file/{repo / 'data' / 'orders.parquet'}@observed"
    assert ratio.id in {n.node.id for n in impact(lineage_store, source).nodes}


def test_table_sources_resolve_to_the_relation_the_warehouse_names(lineage_store: GraphStore) -> None:
    from feast import BigQuerySource
    from feast.infra.offline_stores.snowflake_source import SnowflakeSource

    from lineage.ingest.feast import source_dataset
    from lineage.ingest.relations import DatasetName, RelationResolver

    known = NodeSpec(kind=NodeKind.DATASET, namespace="snowflake://acme", name="analytics.public.orders", version="v1")
    lineage_store.register(Batch(nodes=[known]), principal="dbt", source="cli")
    resolver = RelationResolver(lineage_store, "feast")
    snowflake = SnowflakeSource(
        name="orders_sf", database="ANALYTICS", schema="PUBLIC", table="ORDERS", timestamp_field="ts"
    )
    name, props = source_dataset(snowflake, Path("/repo"), resolver)
    # the same relation, whatever the spelling: the dataset dbt or OpenLineage recorded
    assert name == DatasetName("snowflake://acme", "analytics.public.orders")
    assert props["table"] == "ANALYTICS.PUBLIC.ORDERS"
    bigquery = BigQuerySource(name="orders_bq", table="acme-prod.analytics.orders", timestamp_field="ts")
    assert source_dataset(bigquery, Path("/repo"), resolver)[0] == DatasetName("feast", "acme-prod.analytics.orders")
