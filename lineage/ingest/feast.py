"""Import a Feast feature repository: sources as datasets, one feature per feature view field.

Read through the ``feast`` SDK (``pip install 'lineage-engine[feast]'``, imported only when an
import runs) from the registry the repository's ``feature_store.yaml`` names, as ``feast apply``
left it; nothing is applied or materialised. One batch, all or nothing, source ``feast:<project>``.

- Data sources become Dataset nodes named by :mod:`lineage.ingest.relations`: a table
  (BigQuery, Snowflake, Redshift, Spark, Trino, Postgres) by its ``database.schema.table`` name in
  the namespace the store already uses for it, a file by its location (a relative path is taken
  from the repository), a Kafka or Kinesis topic as ``kafka://<first bootstrap server>`` /
  ``kinesis://<region>`` and the topic. The version linked is the newest one a pipeline recorded
  producing, else the ``observed`` placeholder (the dataset as readers see it), as OpenLineage
  inputs resolve. Request sources are data given at serving time: no dataset.
- Every field of a feature view, stream feature view or on-demand feature view becomes a
  Feature ``<namespace>/<view>.<field>`` (namespace: the Feast project) whose version hashes its
  definition (type, entities, ttl, source, transformation), so a changed definition is a new
  version. Owners: the view's ``owner``; properties keep the view's and the field's tags.
- FEEDS edges: source dataset -> feature; for an on-demand view, every feature of the views it
  reads -> each of its fields (the transformation is code, so which input feeds which output is
  not known).
- Feature services cannot say which model or deployment uses them, so they declare it in tags:
  ``lineage.deployment`` (deployment ids ``deployment:prod/churn-api`` or ``env/name``,
  comma-separated) links each of the service's features FEEDS -> that deployment (created when
  unknown); ``lineage.model`` (model version ids, comma-separated) links them INPUT_TO the runs
  recorded as producing that model version. Without such tags a service is recorded only in its
  features' ``feature_services`` property.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lineage.errors import LineageError, ValidationError
from lineage.extras import missing_extra
from lineage.ingest.openlineage_resolve import PLACEHOLDER, DatasetVersions
from lineage.ingest.relations import DatasetName, RelationResolver, location_name, relation_name
from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec, WriteResult, parse_node_id
from lineage.storage.base import Direction, GraphStore

DEPLOYMENT_TAG = "lineage.deployment"
MODEL_TAG = "lineage.model"


@dataclass(slots=True)
class FeastImport:
    write: WriteResult
    project: str
    sources: int = 0
    features: int = 0
    services: int = 0
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"project {self.project}: {self.sources} sources, {self.features} features, "
            f"{self.services} feature services"
        )


@contextmanager
def _environment_kept() -> Iterator[None]:
    """Undo the environment variables Feast sets on import.

    ``feast`` points ``PROMETHEUS_MULTIPROC_DIR`` at a temporary folder for its own feature server's
    metrics; left set, it would switch the engine's metrics (and every process started afterwards,
    such as ``lineage serve``) to prometheus_client's multiprocess mode.
    """
    before = dict(os.environ)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k not in before and k.startswith("PROMETHEUS_")]:
            del os.environ[key]


def _load(repo: Path) -> Any:
    try:
        with _environment_kept():
            from feast import FeatureStore

            if not (repo / "feature_store.yaml").is_file():
                raise ValidationError(f"--repo {repo}: not a Feast feature repository (no feature_store.yaml)")
            return FeatureStore(repo_path=str(repo))
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, "reading a Feast repository")
        if error is None:
            raise
        raise error from None
    except LineageError:
        raise
    except Exception as exc:
        raise ValidationError(f"--repo {repo}: Feast cannot load it: {type(exc).__name__}: {exc}") from None


def source_dataset(source: Any, repo: Path, resolver: RelationResolver) -> tuple[DatasetName | None, dict[str, Any]]:
    """The dataset a Feast data source reads, with what identifies it; (None, {}) for request data."""
    kind = type(source).__name__
    if kind == "RequestSource":
        return None, {}
    if kind == "PushSource" and getattr(source, "batch_source", None) is not None:
        return source_dataset(source.batch_source, repo, resolver)
    props: dict[str, Any] = {"feast_source": source.name, "source_type": kind}
    table = getattr(source, "table", None) or getattr(source, "table_ref", None)
    parts = [
        v if isinstance(v, str) else None for v in (getattr(source, "database", None), getattr(source, "schema", None))
    ] + [table]
    relation = relation_name(*parts) if table else ""
    if relation:
        props["table"] = relation
        return resolver.relation(relation), props
    path = getattr(source, "path", None)
    if isinstance(path, str) and path:
        location = path if "://" in path or path.startswith("/") else str((repo / path).resolve())
        props["location"] = location
        return location_name(location), props
    kafka = getattr(source, "kafka_options", None)
    if kafka is not None and getattr(kafka, "topic", None):
        server = str(getattr(kafka, "kafka_bootstrap_servers", "") or "").split(",")[0].strip() or "kafka"
        props["location"] = f"kafka://{server}/{kafka.topic}"
        return DatasetName(f"kafka://{server}", str(kafka.topic)), props
    kinesis = getattr(source, "kinesis_options", None)
    if kinesis is not None and getattr(kinesis, "stream_name", None):
        region = getattr(kinesis, "region", "") or "aws"
        return DatasetName(f"kinesis://{region}", str(kinesis.stream_name)), props
    return DatasetName(resolver.fallback, str(source.name)), props


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return "def-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _tags(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


class _Builder:
    def __init__(self, store: GraphStore, repo: Path, project: str, ns: str, dataset_ns: str) -> None:
        self.store = store
        self.repo = repo
        self.project = project
        self.ns = ns
        self.resolver = RelationResolver(store, dataset_ns)
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: dict[str, EdgeSpec] = {}
        self.sources: dict[str, str | None] = {}  # Feast source name -> dataset version id
        self.features: dict[str, dict[str, str]] = {}  # view name -> field -> feature id
        self.warnings: list[str] = []
        self._now = datetime.now(UTC).isoformat(timespec="microseconds")

    def node(self, spec: NodeSpec) -> str:
        self.nodes.setdefault(spec.id, spec)
        return spec.id

    def edge(self, src: str, kind: EdgeType, dst: str) -> None:
        spec = EdgeSpec.model_validate({"from": src, "type": kind, "to": dst})
        self.edges.setdefault(spec.id, spec)

    def source(self, source: Any) -> str | None:
        if source is None:
            return None
        if source.name in self.sources:
            return self.sources[source.name]
        name, props = source_dataset(source, self.repo, self.resolver)
        found: str | None = None
        if name is not None:
            versions = DatasetVersions(self.store, name.namespace, name.name)
            version = versions.resolve(self._now, reader="")
            found = versions.id(version)
            if versions.props(version) is None and found not in self.nodes:
                owner = str(getattr(source, "owner", "") or "").strip()
                extra = {"placeholder": True} if version == PLACEHOLDER else {}
                desc = getattr(source, "description", None) or None
                spec = NodeSpec(
                    kind=NodeKind.DATASET,
                    namespace=name.namespace,
                    name=name.name,
                    version=version,
                    owners=[owner] if owner else [],
                    properties={
                        **props,
                        **extra,
                        **({"description": desc} if desc else {}),
                        **({"tags": _tags(source.tags)} if getattr(source, "tags", None) else {}),
                    },
                )
                self.node(spec)
        self.sources[source.name] = found
        return found

    def view(self, view: Any, kind: str, services: dict[str, list[str]]) -> None:
        inputs: list[str] = []
        definition: list[Any] = [kind, view.name]
        for src in (getattr(view, "batch_source", None), getattr(view, "stream_source", None)):
            found = self.source(src)
            if found:
                inputs.append(found)
            if src is not None:
                definition.append(src.name)
        for projection in (getattr(view, "source_feature_view_projections", None) or {}).values():
            known = self.features.get(projection.name, {})
            for f in projection.features:
                if f.name in known:
                    inputs.append(known[f.name])
                definition.append(f"{projection.name}.{f.name}")
        transformation = getattr(view, "feature_transformation", None)
        udf = getattr(transformation, "udf_string", None) or getattr(view, "udf_string", None)
        if udf:
            definition.append(str(udf))
        entities = [str(e) for e in getattr(view, "entities", None) or []]
        join_keys = [c.name for c in getattr(view, "entity_columns", None) or []]
        ttl = getattr(view, "ttl", None)
        ttl_s = int(ttl.total_seconds()) if ttl else None
        owner = str(getattr(view, "owner", "") or "").strip()
        ids: dict[str, str] = {}
        for f in view.features:
            dtype = str(f.dtype)
            version = _digest(definition, entities, join_keys, ttl_s, f.name, dtype)
            props = {
                "feature_view": view.name,
                "feature_view_type": kind,
                "field": f.name,
                "dtype": dtype,
                "entity": ",".join(join_keys or entities) or None,
                "entities": entities or None,
                "store": f"feast:{self.project}",
                "ttl_seconds": ttl_s,
                "online": getattr(view, "online", None),
                "description": getattr(f, "description", None) or getattr(view, "description", None) or None,
                "tags": {**_tags(getattr(view, "tags", None)), **_tags(getattr(f, "tags", None))} or None,
                "feature_services": services.get(view.name) or None,
                "definition_version": version,
            }
            spec = NodeSpec(
                kind=NodeKind.FEATURE,
                namespace=self.ns,
                name=f"{view.name}.{f.name}",
                version=version,
                owners=[owner] if owner else [],
                properties={k: v for k, v in props.items() if v is not None},
            )
            ids[f.name] = self.node(spec)
            for src in inputs:
                self.edge(src, EdgeType.FEEDS, spec.id)
        self.features[view.name] = ids

    def service(self, service: Any) -> None:
        chosen: list[str] = []
        for projection in service.feature_view_projections:
            known = self.features.get(projection.name, {})
            chosen += [known[f.name] for f in projection.features if f.name in known]
        tags = _tags(getattr(service, "tags", None))
        for ref in _refs(tags.get(DEPLOYMENT_TAG)):
            dep = ref if ref.startswith("deployment:") else None
            if dep is None:
                env, _, name = ref.partition("/")
                if not name:
                    self.warnings.append(f"feature service {service.name}: {DEPLOYMENT_TAG} {ref!r} is not env/name")
                    continue
                dep = NodeSpec(kind=NodeKind.DEPLOYMENT, namespace=env, name=name).id
            key = parse_node_id(dep)
            if key.kind is not NodeKind.DEPLOYMENT:
                self.warnings.append(f"feature service {service.name}: {dep} is not a deployment")
                continue
            if not self.store.get_nodes([dep]):
                self.node(
                    NodeSpec(
                        kind=NodeKind.DEPLOYMENT,
                        namespace=key.namespace,
                        name=key.name,
                        properties={"feature_service": service.name},
                    )
                )
            for feature in chosen:
                self.edge(feature, EdgeType.FEEDS, dep)
        for ref in _refs(tags.get(MODEL_TAG)):
            model = ref if ref.startswith("model:") else f"model:{ref}"
            runs = (
                [h.reached for h in self.store.expand([model], Direction.UPSTREAM) if h.edge_type is EdgeType.PRODUCED]
                if self.store.get_nodes([model])
                else []
            )
            if not runs:
                self.warnings.append(f"feature service {service.name}: no recorded run produced {model}")
            for run in runs:
                for feature in chosen:
                    self.edge(feature, EdgeType.INPUT_TO, run)


def _refs(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def import_feast(
    store: GraphStore,
    repo: Path,
    *,
    principal: str,
    namespace: str | None = None,
    dataset_namespace: str = "feast",
) -> FeastImport:
    """Register a Feast repository's sources, features and feature-service links (all or nothing).

    Raises ValidationError (not a repository, or a registry Feast cannot read, or one that holds
    no feature views) and MissingExtraError (``feast`` not installed).
    """
    repo = repo.resolve()
    fs = _load(repo)
    try:
        project = str(fs.project)
        views = [(v, "feature_view") for v in fs.list_feature_views()]
        views += [(v, "stream_feature_view") for v in fs.list_stream_feature_views()]
        on_demand = [(v, "on_demand_feature_view") for v in fs.list_on_demand_feature_views()]
        services = list(fs.list_feature_services())
    except Exception as exc:
        raise ValidationError(
            f"--repo {repo}: the Feast registry cannot be read: {type(exc).__name__}: {exc}"
        ) from None
    if not views and not on_demand:
        raise ValidationError(
            f"--repo {repo}: the Feast registry holds no feature views; run `feast apply` there first"
        )
    builder = _Builder(store, repo, project, namespace or project, dataset_namespace)
    used_by: dict[str, list[str]] = {}
    for service in services:
        for projection in service.feature_view_projections:
            used_by.setdefault(projection.name, []).append(service.name)
    for view, kind in sorted(views, key=lambda v: v[0].name) + sorted(on_demand, key=lambda v: v[0].name):
        builder.view(view, kind, {k: sorted(set(v)) for k, v in used_by.items()})
    for service in sorted(services, key=lambda s: s.name):
        builder.service(service)
    batch = Batch(nodes=list(builder.nodes.values()), edges=list(builder.edges.values()))
    result = store.register(batch, principal=principal, source=f"feast:{project}")
    return FeastImport(
        write=result,
        project=project,
        sources=len([s for s in builder.sources.values() if s]),
        features=sum(len(v) for v in builder.features.values()),
        services=len(services),
        warnings=builder.warnings,
    )
