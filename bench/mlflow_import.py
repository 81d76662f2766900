"""How long `lineage import mlflow` takes, next to the time the MLflow client alone needs to read the same.

    python3 bench/mlflow_import.py --runs 300 --repeat 3

Writes a local sqlite tracking store with the official client: RUNS training runs in one
experiment, each with params, metrics, two logged input datasets and a logged model; every tenth
model registered, the last one aliased ``champion``. Then, each REPEAT times into a fresh SQLite
lineage store, and side by side:

- ``read only``: the MLflow client reading what the import reads (runs page by page, the logged
  models of each page, the registry) and nothing else: the floor any importer built on the client has;
- ``first import``: everything mapped and registered (one batch per page of 100 runs);
- ``re-import``: the same store again from the start (``--since`` the first run): reads, nothing new;
- ``incremental``: from the stored watermark after 10 more runs were logged.

Prints the median and worst of each, runs per second and the ratio to the read-only floor, with
the load average. Asserts nothing about time. Needs the ``mlflow`` extra and sqlalchemy + alembic.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lineage.ingest.mlflow import MlflowReader, import_mlflow
from lineage.storage import open_store

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _ms(minutes: int) -> int:
    return int(T0.timestamp() * 1000) + minutes * 60_000


def log_runs(client: Any, experiment: str, first: int, count: int) -> list[str]:
    from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelOutput, Metric, Param

    ids = []
    for i in range(first, first + count):
        run = client.create_run(
            experiment,
            start_time=_ms(i),
            run_name=f"train-{i}",
            tags={"mlflow.source.git.commit": f"{i:040x}", "mlflow.source.git.repoURL": "https://github.com/acme/ml"},
        )
        rid = run.info.run_id
        client.log_batch(
            rid,
            params=[Param("lr", "0.1"), Param("depth", str(i % 7))],
            metrics=[Metric("auc", 0.7 + (i % 10) / 100, _ms(i) + 1, 0)],
        )
        tag = [InputTag(key="mlflow.data.context", value="training")]
        client.log_inputs(
            rid,
            datasets=[
                DatasetInput(
                    Dataset(f"orders-{i % 20}", f"d{i % 20}", "http", f'{{"url": "s3://lake/orders/{i % 20}"}}'), tag
                ),
                DatasetInput(
                    Dataset("customers", f"c{i // 50}", "delta_table", '{"delta_table_name": "main.crm.customers"}'),
                    tag,
                ),
            ],
        )
        model = client.create_logged_model(experiment, name="churn-model", source_run_id=rid)
        client.log_outputs(rid, [LoggedModelOutput(model.model_id, step=0)])
        client.set_terminated(rid, status="FINISHED", end_time=_ms(i) + 30_000)
        if i % 10 == 9:
            client.create_model_version("churn", source=model.artifact_location, run_id=rid, model_id=model.model_id)
        ids.append(rid)
    return ids


def read_only(uri: str) -> int:
    reader = MlflowReader(uri)
    runs = 0
    for exp in reader.experiments([]):
        for page in reader.runs(str(exp.experiment_id), None, page=100):
            runs += len(page)
            reader.logged_models(str(exp.experiment_id), [r.info.run_id for r in page])
    for registered in reader.registered_models():
        reader.versions(registered.name)
    return runs


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from mlflow import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.create_experiment("churn", artifact_location=(folder / "artifacts").as_uri())
        client.create_registered_model("churn")
        start = time.perf_counter()
        log_runs(client, experiment, 0, args.runs)
        client.set_registered_model_alias("churn", "champion", str(args.runs // 10))
        print(f"tracking store: {args.runs} runs written in {time.perf_counter() - start:.1f} s")

        read_only(uri)  # warm up: the client's store set-up, the file cache
        rows: dict[str, list[float]] = {"read only": [], "first import": [], "re-import": [], "incremental": []}
        counts: dict[str, int] = {}
        for k in range(args.repeat):
            rows["read only"].append(timed(lambda: read_only(uri)))
            with open_store(f"sqlite:///{folder / f'lineage-{k}.db'}") as store:
                for phase, since in (("first import", None), ("re-import", T0), ("incremental", None)):
                    if phase == "incremental":
                        log_runs(client, experiment, args.runs + 10 * k, 10)
                    began = time.perf_counter()
                    summary = import_mlflow(store, uri, principal="bench", since=since)
                    rows[phase].append(time.perf_counter() - began)
                    counts[phase] = summary.runs
                    assert phase != "re-import" or not summary.audit_entries
                counts["read only"] = counts["first import"]
        floor = statistics.median(rows["read only"])
        print(f"{'phase':<14} {'runs read':>9} {'median s':>9} {'worst s':>8} {'runs/s':>8} {'x read-only':>11}")
        for phase, values in rows.items():
            med = statistics.median(values)
            print(
                f"{phase:<14} {counts[phase]:>9} {med:>9.2f} {max(values):>8.2f} {counts[phase] / med:>8.0f} "
                f"{med / floor:>11.2f}"
            )
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
