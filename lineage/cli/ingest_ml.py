"""`lineage import mlflow` and `lineage import feast`: lineage from the ML tools teams already run.

The MLflow client and the Feast SDK are optional extras, imported only when these commands run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from lineage.cli.common import (
    ActorOpt,
    Format,
    FormatOpt,
    StoreOpt,
    err,
    handle_errors,
    opened,
    out,
    parse_time,
    principal,
    print_json,
    settings_for,
)
from lineage.cli.progress import progress

#: Bounds for the MLflow client's HTTP retries, unless set in the environment: an unreachable
#: tracking server is reported in seconds rather than after minutes of back-off.
MLFLOW_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@handle_errors
def import_mlflow_cmd(
    tracking_uri: Annotated[
        str,
        typer.Option(
            "--tracking-uri",
            envvar="MLFLOW_TRACKING_URI",
            help="Tracking server (http://host:5000) or local store (sqlite:///mlflow.db, ./mlruns).",
        ),
    ],
    experiment: Annotated[
        list[str] | None,
        typer.Option(
            "--experiment",
            "-e",
            help="Only this experiment (repeatable; default: every active one).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only runs started at or after this time (ISO 8601; default: resume from what was imported before).",
            show_default=False,
        ),
    ] = None,
    registry_uri: Annotated[
        str | None,
        typer.Option(
            "--registry-uri",
            envvar="MLFLOW_REGISTRY_URI",
            help="Model registry, if not the tracking store.",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace of runs and models.")] = "mlflow",
    dataset_namespace: Annotated[
        str,
        typer.Option("--dataset-namespace", help="Namespace of input datasets that name no location or known table."),
    ] = "mlflow",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=5000, help="Runs per batch.")] = 100,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Import MLflow runs, input datasets, logged and registered models, and aliases as deployments."""
    from lineage.ingest.mlflow import MlflowReader, import_mlflow
    from lineage.ingest.mlflow.reader import redacted

    for key, value in MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    settings = settings_for(store, actor)
    who, _source = principal(settings)
    after = parse_time(since, "--since")
    with progress(fmt) as steps:
        steps.phase(f"connecting to {redacted(tracking_uri)}")
        reader = MlflowReader(tracking_uri, registry_uri)  # before the store opens: a bad URI writes nothing
        steps.phase("importing MLflow runs")

        def report(what: str, n: int) -> None:
            if what == "runs":
                steps.advance(n)
            else:
                steps.phase("importing the model registry")

        with opened(settings) as st:
            summary = import_mlflow(
                st,
                reader,
                principal=who,
                experiments=experiment,
                since=after,
                namespace=namespace,
                dataset_namespace=dataset_namespace,
                page_size=batch_size,
                progress=report,
            )
    if fmt is Format.json:
        print_json(summary.to_dict())
        return
    for line in summary.warnings[:20]:
        err().print(f"  warning: {line}", highlight=False, markup=False)
    out().print(
        f"imported from {summary.source}: {summary.experiments} experiments, {summary.runs} runs, "
        f"{summary.models} logged models, {summary.versions} registered versions, {summary.deployments} aliases "
        f"and stages; {summary.nodes_created} nodes created, {summary.nodes_updated} updated, "
        f"{summary.edges_created} edges created, {summary.retracted} retracted "
        f"({len(summary.audit_entries)} audit entries)",
        highlight=False,
    )


@handle_errors
def import_feast_cmd(
    repo: Annotated[
        Path, typer.Option("--repo", help="Feast feature repository (the folder with feature_store.yaml).")
    ],
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace", "-n", help="Namespace of features (default: the Feast project).", show_default=False
        ),
    ] = None,
    dataset_namespace: Annotated[
        str, typer.Option("--dataset-namespace", help="Namespace of sources that name no location or known table.")
    ] = "feast",
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Import a Feast feature repository: sources, features per feature view field, feature services."""
    from lineage.cli.write import report_write
    from lineage.ingest.feast import import_feast

    settings = settings_for(store, actor)
    who, _source = principal(settings)
    with progress(fmt) as steps, opened(settings) as st:
        steps.phase(f"reading the Feast repository {repo}")
        result = import_feast(st, repo, principal=who, namespace=namespace, dataset_namespace=dataset_namespace)
    for line in result.warnings[:20]:
        err().print(f"  warning: {line}", highlight=False, markup=False)
    report_write(result.write, fmt, f"imported Feast repository {repo} ({result.describe()})")
