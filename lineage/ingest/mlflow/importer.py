"""Import an MLflow tracking store: runs in batches, then the model registry.

Runs are read per experiment, oldest first, one page at a time; each page becomes one batch
(its runs, their commits, input datasets and logged models), registered all or nothing with one
audit entry whose source is ``mlflow:<tracking uri>``. The registry (versions, aliases, stages)
follows as one more batch. Registration is idempotent, so importing again changes nothing.

Incremental and resumable: without ``since``, each experiment resumes from its *watermark*, read
from the graph itself: the start time of the newest run already imported from this tracking store,
or of the oldest one still running then, whichever is earlier. Pages commit in start-time order,
so an import interrupted part way resumes after the last page it committed.

Input datasets (``mlflow.log_input``) resolve to the dataset their source names by the rule of
:mod:`lineage.ingest.relations`. The version a run read is, in order: the version that already
records the same MLflow digest; else the version current when the run started, if a pipeline
recorded producing it (as OpenLineage inputs resolve); else a new version named by the digest.
The digest and the MLflow context (``training``, ``eval``) are kept on the INPUT_TO edge.

When an alias or stage moves to another version, the edge from the version it left is retracted
(``lineage show`` keeps the history, and ``--as-of`` answers as before the move).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.ingest.mlflow.mapping import (
    OPEN_STATUSES,
    SERVING_STAGES,
    commit_spec,
    dataset_source,
    deployment_spec,
    history_model_specs,
    iso,
    logged_model_spec,
    ms_time,
    run_spec,
    version_spec,
)
from lineage.ingest.mlflow.reader import MlflowReader, redacted
from lineage.ingest.openlineage_resolve import PLACEHOLDER, DatasetVersions
from lineage.ingest.relations import DatasetName, RelationResolver
from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec, WriteResult, edge_id, node_id
from lineage.storage.base import Direction, GraphStore, NodeFilter

Progress = Callable[[str, int], None]


@dataclass(slots=True)
class ImportSummary:
    source: str
    experiments: int = 0
    runs: int = 0
    models: int = 0
    versions: int = 0
    deployments: int = 0
    batches: int = 0
    nodes_created: int = 0
    nodes_updated: int = 0
    edges_created: int = 0
    retracted: int = 0
    audit_entries: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, result: WriteResult) -> None:
        self.batches += 1
        self.nodes_created += result.nodes_created
        self.nodes_updated += result.nodes_updated
        self.edges_created += result.edges_created
        if result.audit_seq is not None:
            self.audit_entries.append(result.audit_seq)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "experiments": self.experiments,
            "runs": self.runs,
            "models": self.models,
            "registered_versions": self.versions,
            "deployments": self.deployments,
            "batches": self.batches,
            "nodes_created": self.nodes_created,
            "nodes_updated": self.nodes_updated,
            "edges_created": self.edges_created,
            "retracted": self.retracted,
            "audit_entries": self.audit_entries,
            "warnings": self.warnings,
        }


def _edge(src: str, kind: EdgeType, dst: str, props: dict[str, Any] | None = None) -> EdgeSpec:
    return EdgeSpec.model_validate({"from": src, "type": kind, "to": dst, "properties": props or {}})


class _BatchBuilder:
    """Nodes and edges of one batch, without repeats."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: dict[str, EdgeSpec] = {}

    def node(self, spec: NodeSpec) -> str:
        self.nodes.setdefault(spec.id, spec)
        return spec.id

    def edge(self, spec: EdgeSpec) -> None:
        if spec.source != spec.target:
            self.edges.setdefault(spec.id, spec)

    def batch(self) -> Batch:
        return Batch(nodes=list(self.nodes.values()), edges=list(self.edges.values()))


class MlflowImporter:
    def __init__(
        self,
        store: GraphStore,
        reader: MlflowReader,
        *,
        principal: str,
        namespace: str = "mlflow",
        dataset_namespace: str = "mlflow",
        page_size: int = 100,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.reader = reader
        self.principal = principal
        self.ns = namespace
        self.source = f"mlflow:{redacted(reader.uri)}"
        self.page_size = page_size
        self.progress = progress or (lambda _what, _n: None)
        self.relations = RelationResolver(store, dataset_namespace)
        self.dataset_namespace = dataset_namespace
        self._versions: dict[tuple[str, str], DatasetVersions] = {}
        self._run_ids: dict[str, str] = {}  # MLflow run id -> Run node id
        self._run_experiment: dict[str, str] = {}  # MLflow run id -> experiment id
        self._experiment_names: dict[str, str] = {}
        self.summary = ImportSummary(self.source)

    # -- watermark -------------------------------------------------------------------------

    def watermark(self, experiment: str) -> int | None:
        """Milliseconds to resume this experiment from; None when nothing was imported from it yet."""
        newest: datetime | None = None
        oldest_open: datetime | None = None
        after: str | None = None
        filt = NodeFilter(kinds=(NodeKind.RUN,), namespace=self.ns, name_prefix=experiment)
        while True:
            page = self.store.list_nodes(filt, after=after, limit=500)
            for rec in page:
                if rec.name != experiment or rec.properties.get("mlflow_source") != self.source:
                    continue
                started = rec.event_time
                if started is None:
                    continue
                newest = started if newest is None or started > newest else newest
                if rec.properties.get("mlflow_status") in OPEN_STATUSES:
                    oldest_open = started if oldest_open is None or started < oldest_open else oldest_open
            if len(page) < 500:
                break
            after = page[-1].id
        mark = min(d for d in (newest, oldest_open) if d is not None) if newest else None
        return int(mark.timestamp() * 1000) if mark else None

    # -- runs --------------------------------------------------------------------------------

    def _dataset_versions(self, name: DatasetName) -> DatasetVersions:
        key = (name.namespace, name.name)
        if key not in self._versions:
            self._versions[key] = DatasetVersions(self.store, name.namespace, name.name)
        return self._versions[key]

    def _input(self, builder: _BatchBuilder, run_node: NodeSpec, dataset_input: Any) -> None:
        ds = dataset_input.dataset
        relation, location, parsed = dataset_source(ds)
        name = self.relations.resolve(relation=relation, location=location)
        if name is None:
            name = DatasetName(self.dataset_namespace, str(ds.name or ds.digest))
        digest = str(ds.digest or "") or PLACEHOLDER
        versions = self._dataset_versions(name)
        version = versions.with_property("mlflow_digest", digest)
        if version is None:
            started = run_node.properties.get("started_at")
            resolved = versions.resolve(started, reader=run_node.version or "") if started else PLACEHOLDER
            version = resolved if resolved != PLACEHOLDER else digest
        if versions.props(version) is None:
            props = {
                "mlflow_dataset": ds.name,
                "mlflow_digest": digest,
                "source_type": getattr(ds, "source_type", None),
                "source": parsed or None,
                "location": location,
                "table": relation,
                "schema": getattr(ds, "schema", None),
                "profile": getattr(ds, "profile", None),
            }
            props = {k: v for k, v in props.items() if v}
            builder.node(
                NodeSpec(
                    kind=NodeKind.DATASET, namespace=name.namespace, name=name.name, version=version, properties=props
                )
            )
            versions.put(version, props)
        context = {t.key: t.value for t in getattr(dataset_input, "tags", None) or ()}.get("mlflow.data.context")
        edge_props = {"mlflow_dataset": ds.name, "mlflow_digest": digest, "context": context}
        builder.edge(
            _edge(versions.id(version), EdgeType.INPUT_TO, run_node.id, {k: v for k, v in edge_props.items() if v})
        )

    def _models(self, builder: _BatchBuilder, experiment_id: str, runs: list[Any]) -> None:
        run_nodes = {r.info.run_id: self._run_ids[r.info.run_id] for r in runs}
        models = self.reader.logged_models(experiment_id, list(run_nodes))
        produced: dict[str, str] = {}
        for model in models or []:
            spec = logged_model_spec(model, self.ns, self.source)
            builder.node(spec)
            produced[str(model.model_id)] = spec.id
            if model.source_run_id in run_nodes:
                builder.edge(_edge(run_nodes[model.source_run_id], EdgeType.PRODUCED, spec.id))
        for run in runs:
            run_node = run_nodes[run.info.run_id]
            for spec in history_model_specs(run, self.ns, self.source):
                builder.node(spec)
                builder.edge(_edge(run_node, EdgeType.PRODUCED, spec.id))
            outputs = getattr(getattr(run, "outputs", None), "model_outputs", None) or ()
            for out in outputs:
                target = produced.get(out.model_id) or self._model_node(builder, out.model_id)
                if target:
                    builder.edge(_edge(run_node, EdgeType.PRODUCED, target))
            inputs = getattr(getattr(run, "inputs", None), "model_inputs", None) or ()
            for inp in inputs:
                model_node = produced.get(inp.model_id) or self._model_node(builder, inp.model_id)
                made_here = builder.edges.get(edge_id(run_node, EdgeType.PRODUCED, model_node or ""))
                if model_node and made_here is None:
                    builder.edge(_edge(model_node, EdgeType.INPUT_TO, run_node))
        self.summary.models += len(produced)

    def _model_node(self, builder: _BatchBuilder, model_id: str) -> str | None:
        """The node of a logged model made elsewhere (another page or experiment), if it can be read."""
        model = self.reader.logged_model(model_id)
        if model is None:
            return None
        spec = logged_model_spec(model, self.ns, self.source)
        if spec.id in builder.nodes or self.store.get_nodes([spec.id]):
            return spec.id
        return None

    def _runs_batch(self, experiment: Any, runs: list[Any]) -> Batch:
        builder = _BatchBuilder()
        for run in runs:
            spec = run_spec(run, experiment.name, self.ns, self.source)
            self._run_ids[run.info.run_id] = builder.node(spec)
            self._run_experiment[run.info.run_id] = str(experiment.experiment_id)
            commit = commit_spec(dict(run.data.tags or {}))
            if commit is not None:
                builder.edge(_edge(builder.node(commit), EdgeType.EXECUTED_IN, spec.id))
            for dataset_input in getattr(getattr(run, "inputs", None), "dataset_inputs", None) or ():
                self._input(builder, spec, dataset_input)
        self._models(builder, str(experiment.experiment_id), runs)
        return builder.batch()

    def _register(self, batch: Batch) -> WriteResult:
        try:
            result = self.store.register(batch, principal=self.principal, source=self.source)
        except Exception:
            self._versions.clear()  # pending versions were not written
            raise
        self.summary.add(result)
        return result

    def import_runs(self, experiment: Any, since_ms: int | None) -> None:
        self._experiment_names[str(experiment.experiment_id)] = experiment.name
        start = since_ms if since_ms is not None else self.watermark(experiment.name)
        for page in self.reader.runs(str(experiment.experiment_id), start, page=self.page_size):
            if not page:
                continue
            self._register(self._runs_batch(experiment, page))
            self.summary.runs += len(page)
            self.progress("runs", len(page))

    # -- registry ----------------------------------------------------------------------------

    def _run_node(self, run_id: str) -> tuple[str | None, str]:
        """(the Run node if it is in the store, the experiment id) of an MLflow run."""
        if run_id not in self._run_experiment:  # imported before? one store read instead of a client call
            guesses = {node_id(NodeKind.RUN, self.ns, name, run_id): e for e, name in self._experiment_names.items()}
            for found in sorted(self.store.get_nodes(list(guesses))):
                self._run_ids[run_id], self._run_experiment[run_id] = found, guesses[found]
                return found, guesses[found]
        if run_id not in self._run_experiment:
            run = self.reader.run(run_id)
            if run is None:  # deleted since the version was registered
                return None, ""
            self._run_experiment[run_id] = exp_id = str(run.info.experiment_id)
            if exp_id not in self._experiment_names:
                self._experiment_names[exp_id] = str(self.reader.experiment(exp_id).name)
        exp_id = self._run_experiment[run_id]
        if run_id not in self._run_ids:
            found = node_id(NodeKind.RUN, self.ns, self._experiment_names[exp_id], run_id)
            if not self.store.get_nodes([found]):
                return None, exp_id
            self._run_ids[run_id] = found
        return self._run_ids[run_id], exp_id

    def import_registry(self, experiment_ids: set[str] | None) -> None:
        self.progress("registry", 0)
        builder = _BatchBuilder()
        serving: dict[str, str] = {}  # deployment id -> model version id now serving it
        managed: set[str] = set()  # registered model names seen
        for registered in self.reader.registered_models():
            name = str(registered.name)
            kept = 0
            by_version: dict[str, str] = {}
            for version in self.reader.versions(name):
                run_node, exp_id = self._run_node(version.run_id) if getattr(version, "run_id", None) else (None, "")
                if experiment_ids is not None and exp_id not in experiment_ids:
                    continue
                spec = version_spec(version, self.ns, self.source)
                by_version[str(version.version)] = builder.node(spec)
                kept += 1
                if run_node:
                    builder.edge(_edge(run_node, EdgeType.PRODUCED, spec.id))
                stage = str(getattr(version, "current_stage", "") or "")
                if stage.lower() in SERVING_STAGES:
                    dep = deployment_spec(name, stage, str(version.version), via="stage", source=self.source)
                    serving[builder.node(dep)] = spec.id
                    builder.edge(_edge(spec.id, EdgeType.DEPLOYED_AS, dep.id))
            if not kept:
                continue
            managed.add(name)
            self.summary.versions += kept
            aliases = getattr(registered, "aliases", None) or {}
            for alias, number in sorted(aliases.items()):
                target = by_version.get(str(number))
                if target is None:
                    continue
                dep = deployment_spec(name, alias, str(number), via="alias", source=self.source)
                serving[builder.node(dep)] = target
                builder.edge(_edge(target, EdgeType.DEPLOYED_AS, dep.id))
        self.summary.deployments = len(serving)
        self._drop_retracted(builder)
        if builder.nodes:
            self._register(builder.batch())
        self._retract_moved(serving, managed)

    def _drop_retracted(self, builder: _BatchBuilder) -> None:
        """An alias that moves back to a version it left cannot restate the retracted edge."""
        for key, spec in list(builder.edges.items()):
            if spec.type is not EdgeType.DEPLOYED_AS:
                continue
            found = self.store.get_edge_any((spec.source, spec.type, spec.target))
            if found is not None and found.retracted_at is not None:
                del builder.edges[key]
                self.summary.warnings.append(
                    f"{spec.target} serves {spec.source} again; that edge was retracted earlier and is not restated"
                )

    def _managed_deployments(self, managed: set[str]) -> Iterable[str]:
        after: str | None = None
        while True:
            page = self.store.list_nodes(NodeFilter(kinds=(NodeKind.DEPLOYMENT,)), after=after, limit=500)
            for rec in page:
                props = rec.properties
                if props.get("mlflow_source") == self.source and props.get("registered_model") in managed:
                    yield rec.id
            if len(page) < 500:
                return
            after = page[-1].id

    def _retract_moved(self, serving: dict[str, str], managed: set[str]) -> None:
        for dep in sorted(self._managed_deployments(managed)):
            current = serving.get(dep)
            for hop in self.store.expand([dep], Direction.UPSTREAM):
                if hop.edge_type is not EdgeType.DEPLOYED_AS or hop.reached == current:
                    continue
                if hop.reached_kind is not NodeKind.MODEL:
                    continue
                record = self.store.get_nodes([hop.reached]).get(hop.reached)
                if record is None or record.properties.get("mlflow_source") != self.source:
                    continue
                now = f"now serves {current}" if current else "is no longer set"
                self.store.retract(
                    edge_id(hop.reached, EdgeType.DEPLOYED_AS, dep),
                    reason=f"MLflow registry: {dep} {now}",
                    principal=self.principal,
                    source=self.source,
                )
                self.summary.retracted += 1


def import_mlflow(
    store: GraphStore,
    tracking: str | MlflowReader,
    *,
    principal: str,
    experiments: list[str] | None = None,
    since: datetime | None = None,
    registry_uri: str | None = None,
    namespace: str = "mlflow",
    dataset_namespace: str = "mlflow",
    page_size: int = 100,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import runs (all experiments, or the named ones) and the model registry of a tracking store.

    ``tracking``: a tracking URI, or a reader already connected to one (``registry_uri`` then unused).

    Raises BackendUnavailableError (the tracking store cannot be reached or read; nothing is
    written when that happens before the first batch) and ValidationError (unknown experiment).
    """
    reader = tracking if isinstance(tracking, MlflowReader) else MlflowReader(tracking, registry_uri)
    importer = MlflowImporter(
        store,
        reader,
        principal=principal,
        namespace=namespace,
        dataset_namespace=dataset_namespace,
        page_size=page_size,
        progress=progress,
    )
    chosen = reader.experiments(list(experiments or []))
    importer.summary.experiments = len(chosen)
    since_ms = int(since.timestamp() * 1000) if since else None
    for experiment in chosen:
        importer.import_runs(experiment, since_ms)
    ids = {str(e.experiment_id) for e in chosen} if experiments else None
    importer.import_registry(ids)
    for relation, namespaces in sorted(importer.relations.ambiguous.items()):
        importer.summary.warnings.append(
            f"relation {relation} is recorded in several namespaces ({', '.join(namespaces)}); used {namespaces[0]}"
        )
    return importer.summary


__all__ = ["ImportSummary", "MlflowImporter", "import_mlflow", "iso", "ms_time"]
