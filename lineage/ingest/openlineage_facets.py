"""What the mapping reads from OpenLineage facets, as plain JSON ready to store as properties.

Well-known facets become named, queryable properties (``schema``, ``column_lineage``,
``data_source``, ``sql``, ``job_type`` ...). Other facets are kept whole under ``run_facets``,
``job_facets`` or ``dataset_facets`` unless they are very large (Spark logical plans), in which
case only their size is noted: the raw event keeps everything, and ``lineage replay`` can re-map.
``_producer``/``_schemaURL`` bookkeeping is dropped; passwords in URIs are masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lineage.ingest.git import Repo, repo_identity
from lineage.ingest.relations import canonical_name
from lineage.model import NodeKind
from lineage.model.ids import node_id

#: Facets larger than this (JSON characters) are not copied into properties.
FACET_LIMIT = 16_384
_BOOKKEEPING = ("_producer", "_schemaURL", "_deleted")


def clean(value: Any) -> Any:
    """A facet without the spec's bookkeeping fields, recursively."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if k not in _BOOKKEEPING}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _kept(value: Any) -> Any:
    cleaned = clean(value)
    size = len(json.dumps(cleaned, ensure_ascii=False, default=str))
    return cleaned if size <= FACET_LIMIT else {"_omitted": True, "size": size}


def mask_uri(uri: str) -> str:
    """``postgres://user:secret@host/db`` -> ``postgres://user:***@host/db``; other text unchanged."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.password is None:
        return uri
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# -- runs and jobs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunKey:
    namespace: str
    name: str
    run_id: str

    @property
    def id(self) -> str:
        return node_id(NodeKind.RUN, self.namespace, self.name, self.run_id)


def parent_of(run_facets: dict[str, Any]) -> tuple[RunKey | None, RunKey | None]:
    """(parent, root) runs named by the ``parent`` run facet, when complete."""
    facet = run_facets.get("parent")
    if not isinstance(facet, dict):
        return None, None

    def key(part: Any) -> RunKey | None:
        if not isinstance(part, dict):
            return None
        run, job = part.get("run"), part.get("job")
        if not isinstance(run, dict) or not isinstance(job, dict):
            return None
        rid, ns, name = _str(run.get("runId")), _str(job.get("namespace")), _str(job.get("name"))
        return RunKey(ns, name, rid) if rid and ns and name else None

    return key(facet), key(facet.get("root"))


_RUN_PROMOTED = ("nominalTime", "parent", "errorMessage", "processing_engine")
_JOB_PROMOTED = ("jobType", "sql", "documentation", "sourceCodeLocation", "sourceCode", "ownership")


def run_claims(run_facets: dict[str, Any], job_facets: dict[str, Any]) -> dict[str, Any]:
    """Run properties claimed by one event's run and job facets (dotted keys nest)."""
    out: dict[str, Any] = {}
    nominal = run_facets.get("nominalTime")
    if isinstance(nominal, dict):
        if _str(nominal.get("nominalStartTime")):
            out["nominal_start_time"] = nominal["nominalStartTime"]
        if _str(nominal.get("nominalEndTime")):
            out["nominal_end_time"] = nominal["nominalEndTime"]
    parent, root = parent_of(run_facets)
    if parent is not None:
        out["parent_run"] = parent.id
        out["parent_job"] = f"{parent.namespace}/{parent.name}"
    if root is not None:
        out["root_run"] = root.id
    error = run_facets.get("errorMessage")
    if isinstance(error, dict) and _str(error.get("message")):
        out["error_message"] = error["message"]
        if _str(error.get("programmingLanguage")):
            out["error_language"] = error["programmingLanguage"]
        if _str(error.get("stackTrace")):
            out["stack_trace"] = error["stackTrace"][:4000]
    engine = run_facets.get("processing_engine")
    if isinstance(engine, dict):
        out["processing_engine"] = clean(engine)
    for name, facet in run_facets.items():
        if name not in _RUN_PROMOTED:
            out[f"run_facets.{name}"] = _kept(facet)

    job_type = job_facets.get("jobType")
    if isinstance(job_type, dict):
        out["job_type"] = clean(job_type)
    sql = job_facets.get("sql")
    if isinstance(sql, dict) and _str(sql.get("query")):
        out["sql"] = sql["query"]
        if _str(sql.get("dialect")):
            out["sql_dialect"] = sql["dialect"]
    doc = job_facets.get("documentation")
    if isinstance(doc, dict) and _str(doc.get("description")):
        out["description"] = doc["description"]
    location = job_facets.get("sourceCodeLocation")
    if isinstance(location, dict):
        out["source_code_location"] = {k: v for k, v in clean(location).items() if isinstance(v, str)}
    code = job_facets.get("sourceCode")
    if isinstance(code, dict) and _str(code.get("language")):
        out["source_code_language"] = code["language"]
    ownership = owners_facet(job_facets)
    if ownership:
        out["ownership"] = ownership
    for name, facet in job_facets.items():
        if name not in _JOB_PROMOTED:
            out[f"job_facets.{name}"] = _kept(facet)
    return out


def owners_facet(facets: dict[str, Any]) -> list[dict[str, str]]:
    """The ``ownership`` facet's owners as ``{name, type}``, sorted."""
    facet = facets.get("ownership")
    if not isinstance(facet, dict) or not isinstance(facet.get("owners"), list):
        return []
    owners = []
    for owner in facet["owners"]:
        if isinstance(owner, dict) and _str(owner.get("name")):
            entry = {"name": str(owner["name"]).strip()[:200]}
            if _str(owner.get("type")):
                entry["type"] = str(owner["type"])
            owners.append(entry)
    return sorted(owners, key=lambda o: (o["name"], o.get("type", "")))


def owner_names(facets: dict[str, Any]) -> list[str]:
    return sorted({o["name"] for o in owners_facet(facets)})


@dataclass(frozen=True, slots=True)
class SourceCommit:
    repo: Repo
    sha: str
    vcs: str


def source_commit(job_facets: dict[str, Any]) -> SourceCommit | None:
    """The commit a ``sourceCodeLocation`` facet pins (needs ``version``: a branch is not a commit)."""
    facet = job_facets.get("sourceCodeLocation")
    if not isinstance(facet, dict):
        return None
    sha = _str(facet.get("version"))
    url = _str(facet.get("repoUrl")) or _str(facet.get("url"))
    if not sha or not url:
        return None
    repo = repo_identity(url)
    if repo is None:
        return None
    return SourceCommit(repo, sha.strip(), _str(facet.get("type")) or "git")


# -- datasets ----------------------------------------------------------------------------------------

#: facet name -> property name, for the well-known dataset facets.
_DATASET_PROMOTED = {
    "schema": "schema",
    "columnLineage": "column_lineage",
    "dataSource": "data_source",
    "documentation": "description",
    "version": "dataset_version",
    "ownership": "ownership",
    "storage": "storage",
    "symlinks": "symlinks",
    "lifecycleStateChange": "lifecycle_state_change",
    "datasetType": "dataset_type",
    "catalog": "catalog",
    "tags": "tags",
    "hierarchy": "hierarchy",
    "dataQualityAssertions": "data_quality_assertions",
    "dataQualityMetrics": "data_quality_metrics",
    "inputStatistics": "input_statistics",
    "outputStatistics": "output_statistics",
}


def dataset_version(facets: dict[str, Any]) -> str | None:
    facet = facets.get("version")
    if isinstance(facet, dict):
        value = facet.get("datasetVersion")
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return None


def dataset_claims(
    facets: dict[str, Any], input_facets: dict[str, Any], output_facets: dict[str, Any]
) -> dict[str, Any]:
    """Dataset properties claimed by one mention of a dataset in an event."""
    out: dict[str, Any] = {}
    for group in (facets, input_facets, output_facets):
        for name, facet in group.items():
            prop = _DATASET_PROMOTED.get(name)
            if prop is None:
                out[f"dataset_facets.{name}"] = _kept(facet)
                continue
            value = clean(facet)
            if name == "schema":
                value = value.get("fields", [])
            elif name == "documentation":
                value = value.get("description")
            elif name == "version":
                value = value.get("datasetVersion")
            elif name == "ownership":
                value = owners_facet(group)
            elif name == "dataSource" and isinstance(value.get("uri"), str):
                value = {**value, "uri": mask_uri(value["uri"])}
            if value is not None and value != []:
                out[prop] = _kept(value) if isinstance(value, dict | list) else value
    return out


@dataclass(frozen=True, slots=True)
class ColumnEdge:
    """One column-level dependency: ``source_field`` of a source dataset feeds ``target_field``."""

    source_namespace: str
    source_name: str
    source_field: str
    target_field: str | None  # None: a dataset-level dependency (filters, joins), not one column
    transformations: tuple[dict[str, Any], ...] = ()
    description: str | None = None


def column_edges(column_lineage: Any) -> list[ColumnEdge]:
    """Column edges of a stored ``column_lineage`` property (the facet, bookkeeping removed)."""
    if not isinstance(column_lineage, dict):
        return []
    out: list[ColumnEdge] = []
    fields = column_lineage.get("fields")
    if isinstance(fields, dict):
        for target, spec in sorted(fields.items()):
            if not isinstance(spec, dict):
                continue
            desc = _str(spec.get("transformationDescription"))
            legacy = _str(spec.get("transformationType"))
            for src in spec.get("inputFields") or []:
                edge = _column_edge(src, target, desc, legacy)
                if edge is not None:
                    out.append(edge)
    for src in column_lineage.get("dataset") or []:
        edge = _column_edge(src, None, None, None)
        if edge is not None:
            out.append(edge)
    return out


def _column_edge(src: Any, target: str | None, desc: str | None, legacy: str | None) -> ColumnEdge | None:
    if not isinstance(src, dict):
        return None
    ns, name, field = _str(src.get("namespace")), _str(src.get("name")), _str(src.get("field"))
    if not (ns and name and field):
        return None
    transformations = tuple(t for t in (src.get("transformations") or []) if isinstance(t, dict))
    if not transformations and legacy:
        transformations = ({"type": legacy},)
    return ColumnEdge(ns, canonical_name(name), field, target, transformations, desc)


def column_inputs(facets: dict[str, Any]) -> list[tuple[str, str]]:
    """Datasets an output's ``columnLineage`` facet reads from: they are inputs of the run too."""
    facet = facets.get("columnLineage")
    seen = {(e.source_namespace, e.source_name) for e in column_edges(clean(facet))}
    return sorted(seen)
