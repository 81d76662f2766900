"""A real local MLflow tracking store (sqlite) written with the official client, for the import tests."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
REPO_URL = "git@github.com:acme/ml-platform.git"
SHA = "3f2a9c1d" * 5
ORDERS_URI = "s3://acme-lake/orders/2026-03-01"
CUSTOMERS_TABLE = "main.sales.customers"


def ms(minutes: float) -> int:
    return int((T0 + timedelta(minutes=minutes)).timestamp() * 1000)


@dataclass
class Tracking:
    """A tracking store and what was logged into it."""

    uri: str
    client: Any
    experiment_id: str
    runs: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)  # run id -> logged model id

    def log_run(
        self,
        minutes: float,
        *,
        inputs: list[tuple[str, str, str, str]] | None = None,
        status: str = "FINISHED",
        model: str | None = None,
        experiment_id: str | None = None,
    ) -> str:
        """A run started ``minutes`` after T0 that read ``inputs`` (name, digest, source type, source JSON)."""
        from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelOutput

        c = self.client
        run = c.create_run(
            experiment_id or self.experiment_id,
            start_time=ms(minutes),
            tags={"mlflow.source.git.commit": SHA, "mlflow.source.git.repoURL": REPO_URL, "team": "risk"},
            run_name=f"train-{len(self.runs)}",
        )
        rid = run.info.run_id
        c.log_param(rid, "learning_rate", "0.1")
        c.log_metric(rid, "auc", 0.71, step=0, timestamp=ms(minutes + 1))
        c.log_metric(rid, "auc", 0.79, step=1, timestamp=ms(minutes + 2))
        if inputs:
            c.log_inputs(
                rid,
                datasets=[
                    DatasetInput(
                        Dataset(name=n, digest=d, source_type=t, source=s),
                        tags=[InputTag(key="mlflow.data.context", value="training")],
                    )
                    for n, d, t, s in inputs
                ],
            )
        if model:
            logged = c.create_logged_model(
                experiment_id or self.experiment_id, name=model, source_run_id=rid, params={"learning_rate": "0.1"}
            )
            c.finalize_logged_model(logged.model_id, "READY")
            c.log_outputs(rid, [LoggedModelOutput(logged.model_id, step=1)])
            self.models[rid] = logged.model_id
        if status != "RUNNING":
            c.set_terminated(rid, status=status, end_time=ms(minutes + 10))
        self.runs.append(rid)
        return rid

    def register(self, name: str, run_id: str) -> str:
        from mlflow.exceptions import MlflowException

        with contextlib.suppress(MlflowException):
            self.client.create_registered_model(name)
        model = self.client.get_logged_model(self.models[run_id])
        # the artifact location, not models:/<id>: the client resolves that through the global tracking URI
        version = self.client.create_model_version(
            name, source=model.artifact_location, run_id=run_id, model_id=model.model_id
        )
        return str(version.version)


def http_input(name: str, digest: str, url: str) -> tuple[str, str, str, str]:
    return (name, digest, "http", json.dumps({"url": url}))


def table_input(name: str, digest: str, table: str) -> tuple[str, str, str, str]:
    return (name, digest, "delta_table", json.dumps({"delta_table_name": table}))


def tracking_store(folder: Path, experiment: str = "churn") -> Tracking:
    """An empty sqlite tracking store with one experiment."""
    from mlflow import MlflowClient

    folder.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment(experiment, artifact_location=(folder / "artifacts").as_uri())
    return Tracking(uri=uri, client=client, experiment_id=exp)
