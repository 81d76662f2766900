"""MLflow entities as lineage nodes: runs, commits, logged models, registered versions, aliases.

Pure functions over the MLflow client's entity objects (read by attribute, so any MLflow 2.x or
3.x client works). Ids, all under the importer's namespace ``ns`` (default ``mlflow``):

- a run: ``run:<ns>/<experiment name>@<run id>`` (the experiment is the job);
- a logged model: ``model:<ns>/<model name>@<model id>`` (MLflow 3 ``m-...`` ids; for MLflow 2
  the ``mlflow.log-model.history`` tag gives ``<artifact path>@<model uuid>``);
- a registered model version: ``model:<ns>/<registered name>@<version number>``;
- what an alias or a stage serves: ``deployment:<alias or stage, lower case>/<registered name>``,
  so a ``Production`` stage or a ``prod`` alias counts as a production deployment.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from lineage.ingest.git import Commit, repo_identity
from lineage.model import NodeKind, NodeSpec

#: MLflow run status -> the engine's run states.
RUN_STATUS = {"RUNNING": "RUNNING", "SCHEDULED": "START", "FINISHED": "COMPLETE", "FAILED": "FAIL", "KILLED": "ABORT"}
OPEN_STATUSES = frozenset({"RUNNING", "SCHEDULED"})
#: Registry stages that mean something serves the version (``None`` and ``Archived`` do not).
SERVING_STAGES = frozenset({"staging", "production"})
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_REPO_TAGS = ("mlflow.source.git.repoURL", "mlflow.gitRepoURL")
MODEL_HISTORY_TAG = "mlflow.log-model.history"
_MODEL_IN_PATH = re.compile(r"/models/(m-[0-9a-f]{8,})(?:/|$)")


def ms_time(value: Any) -> datetime | None:
    """An MLflow timestamp (milliseconds since the epoch) as an aware datetime."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value else None


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v not in (None, "", {}, [])}


def _number(value: Any) -> float | int | None:
    """A metric as JSON can hold it: NaN and infinities are dropped."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


def user_tags(tags: dict[str, str] | None) -> dict[str, str]:
    """Tags people set, without MLflow's own ``mlflow.*`` bookkeeping."""
    return {k: v for k, v in (tags or {}).items() if not k.startswith("mlflow.")}


def _tag_dict(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t.key): str(t.value) for t in tags or ()}


def run_spec(run: Any, experiment: str, ns: str, source: str) -> NodeSpec:
    """The Run node of an MLflow run: status, params, latest metric values, start and end."""
    info, data = run.info, run.data
    tags = dict(data.tags or {})
    started, ended = ms_time(info.start_time), ms_time(info.end_time)
    metrics = {k: n for k, v in (data.metrics or {}).items() if (n := _number(v)) is not None}
    user = info.user_id or tags.get("mlflow.user")
    props = {
        "job": experiment,
        "job_namespace": ns,
        "run_id": info.run_id,
        "run_name": info.run_name or tags.get("mlflow.runName"),
        "status": RUN_STATUS.get(str(info.status), "OTHER"),
        "mlflow_status": str(info.status),
        "started_at": iso(started),
        "ended_at": iso(ended),
        "params": dict(data.params or {}),
        "metrics": metrics,
        "experiment_id": info.experiment_id,
        "artifact_uri": info.artifact_uri,
        "user": user,
        "source_name": tags.get("mlflow.source.name"),
        "source_type": tags.get("mlflow.source.type"),
        "git_commit": tags.get(GIT_COMMIT_TAG),
        "tags": user_tags(tags),
        "mlflow_source": source,
    }
    return NodeSpec(
        kind=NodeKind.RUN,
        namespace=ns,
        name=experiment,
        version=info.run_id,
        event_time=started,
        properties=_clean(props),
    )


def commit_spec(tags: dict[str, str]) -> NodeSpec | None:
    """The commit a run executed, from MLflow's source tags; None without a sha and a repository."""
    sha = (tags.get(GIT_COMMIT_TAG) or "").strip()
    repo = next((r for t in GIT_REPO_TAGS if (r := repo_identity(tags.get(t) or ""))), None)
    if not sha or repo is None:
        return None
    return Commit(repo=repo, sha=sha.lower(), branch=tags.get("mlflow.source.git.branch") or None).spec()


def _metric_values(metrics: Any) -> dict[str, float | int]:
    """Latest value per metric key (the highest step, then the newest timestamp)."""
    best: dict[str, tuple[int, int, float | int]] = {}
    for m in metrics or ():
        value = _number(getattr(m, "value", None))
        if value is None:
            continue
        rank = (int(getattr(m, "step", 0) or 0), int(getattr(m, "timestamp", 0) or 0))
        key = str(m.key)
        if key not in best or rank >= best[key][:2]:
            best[key] = (*rank, value)
    return {k: v[2] for k, v in sorted(best.items())}


def logged_model_spec(model: Any, ns: str, source: str) -> NodeSpec:
    """A logged model (MLflow 3 ``LoggedModel``) as a Model version named by its model id."""
    status = getattr(model, "status", None)
    props = {
        "model_id": model.model_id,
        "model_uri": getattr(model, "model_uri", None) or f"models:/{model.model_id}",
        "artifact_uri": getattr(model, "artifact_location", None),
        "model_type": getattr(model, "model_type", None),
        "status": str(getattr(status, "value", status)) if status is not None else None,
        "source_run_id": getattr(model, "source_run_id", None),
        "params": dict(getattr(model, "params", None) or {}),
        "metrics": _metric_values(getattr(model, "metrics", None)),
        "tags": user_tags(_tag_dict(getattr(model, "tags", None))),
        "mlflow_source": source,
    }
    return NodeSpec(
        kind=NodeKind.MODEL,
        namespace=ns,
        name=str(model.name or model.model_id),
        version=str(model.model_id),
        event_time=ms_time(getattr(model, "creation_timestamp", None)),
        properties=_clean(props),
    )


def history_model_specs(run: Any, ns: str, source: str) -> list[NodeSpec]:
    """Models an MLflow 2 run logged, from its ``mlflow.log-model.history`` tag."""
    text = (run.data.tags or {}).get(MODEL_HISTORY_TAG)
    try:
        entries = json.loads(text) if text else []
    except ValueError:
        return []
    out: list[NodeSpec] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("artifact_path") or not entry.get("model_uuid"):
            continue
        created = entry.get("utc_time_created")
        when = None
        if isinstance(created, str):
            try:
                when = datetime.fromisoformat(created).replace(tzinfo=UTC)
            except ValueError:
                when = None
        props = {
            "model_id": entry["model_uuid"],
            "artifact_uri": f"{run.info.artifact_uri}/{entry['artifact_path']}",
            "framework": ",".join(sorted(k for k in (entry.get("flavors") or {}) if k != "python_function")) or None,
            "source_run_id": run.info.run_id,
            "mlflow_source": source,
        }
        out.append(
            NodeSpec(
                kind=NodeKind.MODEL,
                namespace=ns,
                name=str(entry["artifact_path"]),
                version=str(entry["model_uuid"]),
                event_time=when,
                properties=_clean(props),
            )
        )
    return out


def model_id_of(version: Any) -> str | None:
    """The logged model a registered version was made from (its ``model_id`` or a ``models:/m-`` source)."""
    found = getattr(version, "model_id", None)
    if found:
        return str(found)
    src = str(getattr(version, "source", "") or "")
    if src.startswith("models:/m-"):
        return src.removeprefix("models:/").split("/", 1)[0]
    found = _MODEL_IN_PATH.search(src)  # the logged model's artifact location: .../models/m-<id>/artifacts
    return found.group(1) if found else None


def version_spec(version: Any, ns: str, source: str) -> NodeSpec:
    """A registered model version: the Model node ``<registered name>@<version>``."""
    stage = getattr(version, "current_stage", None)
    props = {
        "registered_model": version.name,
        "registry_version": str(version.version),
        "model_uri": f"models:/{version.name}/{version.version}",
        "artifact_uri": getattr(version, "source", None),
        "model_id": model_id_of(version),
        "source_run_id": getattr(version, "run_id", None),
        "stage": stage if stage and stage != "None" else None,
        "status": getattr(version, "status", None),
        "description": getattr(version, "description", None),
        "tags": user_tags(_tag_dict(getattr(version, "tags", None))),
        "mlflow_source": source,
    }
    return NodeSpec(
        kind=NodeKind.MODEL,
        namespace=ns,
        name=str(version.name),
        version=str(version.version),
        event_time=ms_time(getattr(version, "creation_timestamp", None)),
        properties=_clean(props),
    )


def deployment_spec(registered: str, environment: str, version: str, *, via: str, source: str) -> NodeSpec:
    """What serves a registered model under an alias or stage (``via``: ``alias`` or ``stage``)."""
    env = environment.lower()
    props = {
        "environment": env,
        "registered_model": registered,
        "model_version": version,
        "model_uri": f"models:/{registered}@{environment}" if via == "alias" else f"models:/{registered}/{environment}",
        via: environment,
        "status": "active",
        "mlflow_source": source,
    }
    return NodeSpec(kind=NodeKind.DEPLOYMENT, namespace=env, name=registered, properties=props)


def dataset_source(dataset: Any) -> tuple[str | None, str | None, dict[str, Any]]:
    """(relation, location, parsed source) of an MLflow dataset, from its source type and JSON source.

    Tables (Delta, Spark, Unity Catalog names) are relations; URLs, URIs and paths are locations; a
    Hugging Face dataset is the location ``hf://datasets/<path>``.
    """
    try:
        parsed = json.loads(dataset.source) if dataset.source else {}
    except (TypeError, ValueError):
        parsed = {"raw": str(dataset.source)}
    if not isinstance(parsed, dict):
        parsed = {"raw": parsed}
    kind = str(getattr(dataset, "source_type", "") or "")
    relation = parsed.get("delta_table_name") or parsed.get("table_name") or parsed.get("table")
    location: str | None = None
    if kind == "hugging_face" and parsed.get("path"):
        location = f"hf://datasets/{parsed['path']}"
    else:
        for key in ("uri", "url", "path", "location"):
            if isinstance(parsed.get(key), str) and parsed[key]:
                location = parsed[key]
                break
    return (str(relation) if relation else None), location, parsed
