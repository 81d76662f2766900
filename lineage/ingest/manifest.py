"""``lineage.yaml``: what a repository's CI job reads and makes, registered by ``lineage register``.

::

    job:
      name: train-churn              # required: the job (Run name)
      namespace: ci                  # default ci
      owners: [team-churn-ml]
      properties: {framework: sklearn}
    inputs:                          # node ids that must already be recorded ...
      - dataset:warehouse/customer_360@2026-11-03
      - kind: Dataset                # ... or nodes to record with the run (kind defaults to Dataset)
        namespace: warehouse
        name: churn_labels
        version: ${LABELS_VERSION}
    outputs:
      - {namespace: ml-artifacts, name: churn_scores, version: "${LINEAGE_RUN_ID}"}
    model:                           # the model version the job trains (PRODUCED by the run)
      namespace: ml
      name: churn-classifier
      version: ${MODEL_VERSION:-dev}
      properties: {artifact_uri: "s3://models/churn/${MODEL_VERSION:-dev}"}
    deployment:                      # the deployment it makes (the model is DEPLOYED_AS it)
      namespace: prod
      name: churn-api

``${VAR}`` and ``${VAR:-default}`` are read from the environment; ``LINEAGE_RUN_ID``,
``LINEAGE_COMMIT`` and ``LINEAGE_SHORT_SHA`` are provided. ``model`` and ``deployment`` may also be
lists. The run id is derived from the CI run (GitHub run id, GitLab pipeline id, ...), or from the
commit outside CI, so a retried job registers exactly the same thing: nothing new.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from lineage.errors import ValidationError
from lineage.ingest.ci import CIContext
from lineage.ingest.git import Commit
from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec, parse_node_id
from lineage.model.batch import RUN_STATES, describe_errors

CONFIG_NAMES = ("lineage.yaml", "lineage.yml")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobDecl(_Strict):
    name: str = Field(min_length=1, description="The job's name: the Run node's name.")
    namespace: str = Field(default="ci", min_length=1)
    owners: list[str] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)


class NodeDecl(_Strict):
    """A node the job touches: registered with the run (idempotently) when given in full."""

    kind: NodeKind = NodeKind.DATASET
    namespace: str
    name: str
    version: str | None = None
    owners: list[str] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return NodeKind.parse(value) if isinstance(value, str) else value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    def spec(self) -> NodeSpec:
        return NodeSpec(
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
            version=self.version,
            owners=self.owners,
            properties=self.properties,
        )


Ref = str | NodeDecl


class JobManifest(_Strict):
    """The ``lineage.yaml`` file (see the module docstring)."""

    job: JobDecl
    inputs: list[Ref] = Field(default_factory=list)
    outputs: list[Ref] = Field(default_factory=list)
    model: list[Ref] = Field(default_factory=list)
    deployment: list[Ref] = Field(default_factory=list)

    @field_validator("model", "deployment", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    @field_validator("inputs", "outputs", "model", "deployment")
    @classmethod
    def _ids(cls, value: list[Ref]) -> list[Ref]:
        for item in value:
            if isinstance(item, str):
                parse_node_id(item)
        return value


def interpolate(value: Any, env: Mapping[str, str], where: str = "") -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` (defaults may nest) in every string; an unset
    variable without a default is an error naming it and where it was used."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    return _expand(value, env, where or "lineage.yaml")


def _expand(text: str, env: Mapping[str, str], where: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if not text.startswith("${", i):
            out.append(text[i])
            i += 1
            continue
        j, depth = i + 2, 1
        while j < len(text) and depth:
            if text.startswith("${", j):
                depth, j = depth + 1, j + 2
                continue
            depth -= text[j] == "}"
            j += 1
        if depth:
            raise ValidationError(f"{where}: unclosed '${{' in {text!r}")
        name, sep, default = text[i + 2 : j - 1].partition(":-")
        if not _NAME.match(name):
            raise ValidationError(f"{where}: {name!r} is not a variable name in {text!r}")
        if env.get(name):
            out.append(env[name])
        elif sep:
            out.append(_expand(default, env, where))
        else:
            raise ValidationError(f"{where}: environment variable {name} is not set (use ${{{name}:-default}})")
        i = j
    return "".join(out)


def parse_manifest(data: Any, env: Mapping[str, str], origin: str = "lineage.yaml") -> JobManifest:
    if not isinstance(data, dict):
        raise ValidationError(f"{origin}: expected a mapping with at least 'job: {{name: ...}}'")
    data = interpolate(data, env)
    try:
        return JobManifest.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(f"{origin}: {describe_errors(exc)}") from None


def find_config(start: Path, repo_root: Path | None) -> Path | None:
    """``lineage.yaml`` in the working directory, else at the top of the git work tree."""
    for folder in (start, repo_root):
        if folder is None:
            continue
        for name in CONFIG_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def stable_ci_id(ci: CIContext, env: Mapping[str, str]) -> str | None:
    """The CI run's id, the same for every retry of the job (GitHub attempts share a run id,
    GitLab retries share a pipeline id, Buildkite retries share a build id)."""
    value: str | None
    if ci.system == "github-actions":
        value = env.get("GITHUB_RUN_ID")
    elif ci.system == "gitlab-ci":
        value = env.get("CI_PIPELINE_ID") or env.get("CI_JOB_ID")
    elif ci.system == "jenkins":
        value = env.get("BUILD_TAG") or env.get("BUILD_NUMBER")
    elif ci.system == "circleci":
        value = env.get("CIRCLE_WORKFLOW_ID") or env.get("CIRCLE_BUILD_NUM")
    elif ci.system == "buildkite":
        value = env.get("BUILDKITE_BUILD_ID") or env.get("BUILDKITE_BUILD_NUMBER")
    else:
        value = env.get("LINEAGE_CI_RUN_ID")
    return value or None


def derive_run_id(ci: CIContext, env: Mapping[str, str], commit: Commit | None) -> str:
    """``<ci system>-<ci run id>``, or ``commit-<sha>`` outside CI; the same on every retry."""
    ci_id = stable_ci_id(ci, env)
    if ci_id:
        return _SAFE.sub("-", f"{ci.system}-{ci_id}").strip("-")[:200]
    if commit is not None:
        return f"commit-{commit.sha[:12]}"
    raise ValidationError("cannot derive a run id: not in a recognised CI run and no git commit found; pass --run-id")


@dataclass(slots=True)
class Overrides:
    """Command-line flags on top of lineage.yaml."""

    job: str | None = None
    namespace: str | None = None
    run_id: str | None = None
    status: str = "COMPLETE"
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    deployments: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    run_id: str
    run: str  # node id
    commit: str | None
    batch: Batch


def _node(ref: Ref, default_kind: NodeKind, where: str) -> tuple[str, NodeSpec | None]:
    """(node id, spec to register or None for an id that must already be recorded)."""
    if isinstance(ref, NodeDecl):
        decl = ref if "kind" in ref.model_fields_set else ref.model_copy(update={"kind": default_kind})
        try:
            spec = decl.spec()
        except PydanticValidationError as exc:
            raise ValidationError(f"{where}: {describe_errors(exc)}") from None
        return spec.id, spec
    key = parse_node_id(ref)
    return ref, NodeSpec(kind=key.kind, namespace=key.namespace, name=key.name, version=key.version)


def build_registration(
    manifest: JobManifest | None,
    overrides: Overrides,
    *,
    ci: CIContext,
    commit: Commit | None,
    env: Mapping[str, str],
) -> Registration:
    """The Run, its CodeCommit and every declared edge, as one batch."""
    job = manifest.job if manifest else None
    name = overrides.job or (job.name if job else None)
    if not name:
        raise ValidationError("no job to register: add lineage.yaml with 'job: {name: ...}' or pass --job NAME")
    namespace = overrides.namespace or (job.namespace if job else "ci")
    if overrides.status not in RUN_STATES:
        raise ValidationError(f"--status {overrides.status!r} is not one of {', '.join(RUN_STATES)}")
    run_id = overrides.run_id or derive_run_id(ci, env, commit)

    props: dict[str, Any] = {**(job.properties if job else {}), "job": name, "status": overrides.status}
    props.update({k: v for k, v in overrides.properties.items()})
    props["ci_system"] = ci.system
    for key, value in (("ci_run_id", stable_ci_id(ci, env)), ("ci_run_url", ci.run_url), ("ci_job", ci.job)):
        if value:
            props[key] = value
    if ci.system == "gitlab-ci" and env.get("CI_PIPELINE_URL"):
        props["ci_run_url"] = env["CI_PIPELINE_URL"]
    if commit is not None:
        props["git_sha"] = commit.sha
        props["repository"] = commit.repo.url
        if commit.branch:
            props["git_branch"] = commit.branch
    run = NodeSpec(
        kind=NodeKind.RUN,
        namespace=namespace,
        name=name,
        version=run_id,
        event_time=overrides.started_at,
        owners=list(job.owners) if job else [],
        properties=props,
    )
    nodes: dict[str, NodeSpec] = {run.id: run}
    edges: list[EdgeSpec] = []

    def edge(src: str, kind: EdgeType, dst: str) -> None:
        edges.append(EdgeSpec.model_validate({"from": src, "type": kind, "to": dst}))

    def add(ref: Ref, default_kind: NodeKind, where: str, must_exist: bool) -> str:
        nid, spec = _node(ref, default_kind, where)
        if spec is not None and not (must_exist and isinstance(ref, str)):
            nodes.setdefault(nid, spec)
        return nid

    commit_id = None
    if commit is not None:
        spec = commit.spec()
        nodes[spec.id] = spec
        commit_id = spec.id
        edge(commit_id, EdgeType.EXECUTED_IN, run.id)

    declared = manifest or JobManifest(job=JobDecl(name=name))
    for i, ref in enumerate([*declared.inputs, *overrides.inputs]):
        edge(add(ref, NodeKind.DATASET, f"inputs[{i}]", must_exist=True), EdgeType.INPUT_TO, run.id)
    if overrides.status in ("FAIL", "ABORT"):
        # a failed run made nothing: record it with its inputs and commit only
        return Registration(run_id, run.id, commit_id, Batch(nodes=list(nodes.values()), edges=edges))
    for i, ref in enumerate([*declared.outputs, *overrides.outputs]):
        edge(run.id, EdgeType.PRODUCED, add(ref, NodeKind.DATASET, f"outputs[{i}]", must_exist=False))
    models = [add(r, NodeKind.MODEL, f"model[{i}]", False) for i, r in enumerate([*declared.model, *overrides.models])]
    for model in models:
        edge(run.id, EdgeType.PRODUCED, model)
    for i, ref in enumerate([*declared.deployment, *overrides.deployments]):
        dep = add(ref, NodeKind.DEPLOYMENT, f"deployment[{i}]", must_exist=False)
        if not models:
            raise ValidationError(f"deployment[{i}] ({dep}) needs the model it serves: declare 'model' too")
        for model in models:
            edge(model, EdgeType.DEPLOYED_AS, dep)
    return Registration(run_id, run.id, commit_id, Batch(nodes=list(nodes.values()), edges=edges))


def run_env(env: Mapping[str, str], run_id: str | None, commit: Commit | None) -> dict[str, str]:
    """The environment lineage.yaml is interpolated with: the real one plus LINEAGE_* helpers."""
    out = dict(env)
    if commit is not None:
        out.setdefault("LINEAGE_COMMIT", commit.sha)
        out.setdefault("LINEAGE_SHORT_SHA", commit.sha[:12])
    if run_id:
        out.setdefault("LINEAGE_RUN_ID", run_id)
    return out


def prepare(
    cwd: Path,
    env: Mapping[str, str],
    overrides: Overrides,
    *,
    config: Path | None = None,
    load: Any = None,
) -> Registration:
    """Everything ``lineage register`` does before writing: find and read lineage.yaml, detect the
    commit and the CI run, derive the run id, build the batch.

    ``load`` reads a YAML/JSON file (the CLI's loader, for its error messages).
    """
    from lineage.ingest.ci import detect_ci
    from lineage.ingest.git import detect_commit, repo_root

    ci = detect_ci(env)
    commit = detect_commit(cwd, env)
    path = config or find_config(cwd, repo_root(cwd))
    if config is not None and not config.is_file():
        raise ValidationError(f"no such file: {config}")
    run_id = overrides.run_id
    if run_id is None and (stable_ci_id(ci, env) or commit is not None):
        run_id = derive_run_id(ci, env, commit)
    manifest = None
    if path is not None:
        data = load(path) if load is not None else _load_yaml(path)
        manifest = parse_manifest(data, run_env(env, run_id, commit), origin=str(path))
    return build_registration(manifest, overrides, ci=ci, commit=commit, env=env)


def _load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from None
