"""dbt ``manifest.json`` import: models, sources, seeds and snapshots as datasets with their dependencies.

A manifest describes a project's definitions, not an execution, so by default (``mode="feeds"``)
each resource becomes a Dataset version and each dependency a FEEDS edge (derivation without a
recorded run). Versions are content-addressed: a seed's or model's version hashes its own checksum
with the versions of its parents, so changing a model, or anything upstream of it, gives new
versions downstream, and importing the same manifest twice changes nothing. Sources have no
checksum; they use the ``observed`` version that OpenLineage readers use, so lineage from dbt and
from OpenLineage events meets on the same nodes when the dataset namespace matches (pass the
warehouse's OpenLineage namespace, e.g. ``postgres://host:5432``).

``mode="runs"`` instead records the invocation that wrote the manifest: one Run per model, seed
and snapshot (``run:dbt/<unique_id>@<invocation_id>``) reading its parents' versions from the same
invocation and producing ``run-<invocation_id>`` versions, like OpenLineage run events would.

Names follow the OpenLineage dbt integration: ``<database>.<schema>.<alias>``. One relation is one
dataset (:mod:`lineage.ingest.relations`): a source that reads a relation a seed, model or snapshot
of the same manifest writes (jaffle-shop's seeds load exactly the tables its sources read) is that
resource's dataset, so impact from the seed reaches every model built on the source; the source's
id is kept in the dataset's ``dbt_sources`` property.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from lineage.errors import ValidationError
from lineage.governance.access import Principal, check_batch
from lineage.ingest.openlineage_resolve import PLACEHOLDER
from lineage.ingest.relations import RelationIndex, relation_name
from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec, WriteResult
from lineage.storage.base import GraphStore

DBT_SOURCE = "dbt-manifest"
DATASET_TYPES = ("model", "seed", "snapshot")
Mode = Literal["feeds", "runs"]


@dataclass(frozen=True, slots=True)
class _Resource:
    uid: str
    kind: str  # model, seed, snapshot, source
    namespace: str
    name: str
    data: dict[str, Any]


def _relation(node: dict[str, Any]) -> str:
    return relation_name(
        node.get("database"), node.get("schema"), node.get("alias") or node.get("identifier") or node.get("name")
    )


def _same_relation(resources: dict[str, _Resource]) -> dict[str, str]:
    """Source uid -> the uid of the seed, model or snapshot that writes the same relation."""
    writers: RelationIndex[str] = RelationIndex()
    order = {"seed": 0, "snapshot": 1, "model": 2}
    for res in sorted((r for r in resources.values() if r.kind != "source"), key=lambda r: (order[r.kind], r.uid)):
        writers.claim(res.namespace, res.name, res.uid)
    out = {}
    for res in resources.values():
        if res.kind == "source":
            owner = writers.owner(res.namespace, res.name)
            if owner is not None:
                out[res.uid] = owner
    return out


def _owners(node: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for meta in (node.get("meta"), (node.get("config") or {}).get("meta")):
        if not isinstance(meta, dict):
            continue
        for key in ("owner", "owners"):
            value = meta.get(key)
            values = value if isinstance(value, list) else [value]
            found += [str(v).strip()[:200] for v in values if isinstance(v, str) and v.strip()]
    return sorted(set(found))


def _schema(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for col in (node.get("columns") or {}).values():
        if not isinstance(col, dict) or not col.get("name"):
            continue
        field: dict[str, Any] = {"name": col["name"]}
        if col.get("data_type"):
            field["type"] = col["data_type"]
        if col.get("description"):
            field["description"] = col["description"]
        if col.get("tags"):
            field["tags"] = col["tags"]
        out.append(field)
    return out


def _properties(res: _Resource, tests: list[str], project: str | None) -> dict[str, Any]:
    node = res.data
    config = node.get("config") or {}
    props: dict[str, Any] = {
        "dbt_unique_id": res.uid,
        "dbt_resource_type": res.kind,
        "dbt_package": node.get("package_name"),
        "path": node.get("original_file_path") or node.get("path"),
        "materialized": config.get("materialized") if res.kind != "source" else None,
        "description": node.get("description") or None,
        "tags": sorted(node.get("tags") or []) or None,
        "schema": _schema(node) or None,
        "checksum": (node.get("checksum") or {}).get("checksum"),
        "dbt_tests": tests or None,
        "dbt_project_id": project,
    }
    if res.kind == "source":
        props["placeholder"] = True
        props["source_name"] = node.get("source_name")
        props["loader"] = node.get("loader") or None
    return {k: v for k, v in props.items() if v is not None}


def _dependencies(manifest: dict[str, Any], uid: str, same: dict[str, str] | None = None) -> list[str]:
    """Parent uids; with ``same``, a source naming another resource's relation is that resource."""
    parent_map = manifest.get("parent_map")
    if isinstance(parent_map, dict) and uid in parent_map:
        found = list(parent_map[uid])
    else:
        node = (manifest.get("nodes") or {}).get(uid) or {}
        found = list((node.get("depends_on") or {}).get("nodes") or [])
    if not same:
        return found
    resolved = (same.get(p, p) for p in found)
    return list(dict.fromkeys(p for p in resolved if p != uid))


def _resources(manifest: dict[str, Any], namespace: str) -> dict[str, _Resource]:
    out: dict[str, _Resource] = {}
    for uid, node in (manifest.get("nodes") or {}).items():
        if isinstance(node, dict) and node.get("resource_type") in DATASET_TYPES:
            out[uid] = _Resource(uid, node["resource_type"], namespace, _relation(node), node)
    for uid, node in (manifest.get("sources") or {}).items():
        if isinstance(node, dict):
            out[uid] = _Resource(uid, "source", namespace, _relation(node), node)
    return out


def _tests(manifest: dict[str, Any]) -> dict[str, list[str]]:
    by_node: dict[str, list[str]] = {}
    for node in (manifest.get("nodes") or {}).values():
        if isinstance(node, dict) and node.get("resource_type") == "test":
            for dep in (node.get("depends_on") or {}).get("nodes") or []:
                by_node.setdefault(dep, []).append(str(node.get("name") or node.get("unique_id")))
    return {k: sorted(v) for k, v in by_node.items()}


def _generated_at(manifest: dict[str, Any]) -> datetime | None:
    text = (manifest.get("metadata") or {}).get("generated_at")
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_manifest(manifest: Any) -> dict[str, Any]:
    if not isinstance(manifest, dict) or not isinstance(manifest.get("nodes"), dict):
        raise ValidationError("not a dbt manifest: expected a JSON object with 'nodes' (target/manifest.json)")
    version = str((manifest.get("metadata") or {}).get("dbt_schema_version") or "")
    if version and "/manifest/" not in version:
        raise ValidationError(f"not a dbt manifest: metadata.dbt_schema_version is {version!r}")
    return manifest


def manifest_batch(manifest: Any, *, namespace: str | None = None, mode: Mode = "feeds") -> Batch:
    """The nodes and edges a manifest describes (see the module docstring for the two modes)."""
    manifest = check_manifest(manifest)
    meta = manifest.get("metadata") or {}
    ns = namespace or str(meta.get("adapter_type") or "dbt")
    resources = _resources(manifest, ns)
    same = _same_relation(resources)
    tests = _tests(manifest)
    project = meta.get("project_id")
    when = _generated_at(manifest)
    if mode == "runs":
        return _runs_batch(manifest, resources, tests, project, when, same)
    if mode != "feeds":
        raise ValidationError(f"unknown dbt import mode {mode!r}; expected feeds or runs")

    versions: dict[str, str] = {}

    def version_of(uid: str, trail: tuple[str, ...] = ()) -> str:
        if uid in versions:
            return versions[uid]
        res = resources[uid]
        if res.kind == "source":
            versions[uid] = PLACEHOLDER
            return PLACEHOLDER
        if uid in trail:
            raise ValidationError(f"dbt manifest has a dependency cycle through {uid}")
        parents = sorted(
            version_of(p, (*trail, uid)) + p for p in _dependencies(manifest, uid, same) if p in resources
        )
        digest = hashlib.sha256("\n".join([str((res.data.get("checksum") or {}).get("checksum")), *parents]).encode())
        versions[uid] = f"dbt-{digest.hexdigest()[:16]}"
        return versions[uid]

    nodes, edges = [], []
    for uid in sorted(resources):
        if uid in same:
            continue  # the dataset of the resource that writes the same relation
        res = resources[uid]
        spec = NodeSpec(
            kind=NodeKind.DATASET,
            namespace=res.namespace,
            name=res.name,
            version=version_of(uid),
            event_time=None if res.kind == "source" else when,
            owners=_owners_with_sources(uid, resources, same),
            properties=_properties_with_sources(uid, resources, same, tests, project),
        )
        nodes.append(spec)
        for parent in sorted(_dependencies(manifest, uid, same)):
            if parent in resources:
                src = NodeSpec(
                    kind=NodeKind.DATASET, namespace=ns, name=resources[parent].name, version=version_of(parent)
                ).id
                edges.append(EdgeSpec.model_validate({"from": src, "type": EdgeType.FEEDS, "to": spec.id}))
    return Batch(nodes=nodes, edges=edges)


def _owners_with_sources(uid: str, resources: dict[str, _Resource], same: dict[str, str]) -> list[str]:
    found = set(_owners(resources[uid].data))
    for src in (s for s, owner in same.items() if owner == uid):
        found.update(_owners(resources[src].data))
    return sorted(found)


def _properties_with_sources(
    uid: str, resources: dict[str, _Resource], same: dict[str, str], tests: dict[str, list[str]], project: str | None
) -> dict[str, Any]:
    props = _properties(resources[uid], tests.get(uid, []), project)
    sources = sorted(s for s, owner in same.items() if owner == uid)
    if sources:
        props["dbt_sources"] = sources
        source_tests = sorted({t for s in sources for t in tests.get(s, [])})
        if source_tests:
            props["dbt_tests"] = sorted({*props.get("dbt_tests", []), *source_tests})
    return props


def _runs_batch(
    manifest: dict[str, Any],
    resources: dict[str, _Resource],
    tests: dict[str, list[str]],
    project: str | None,
    when: datetime | None,
    same: dict[str, str],
) -> Batch:
    meta = manifest.get("metadata") or {}
    invocation = str(meta.get("invocation_id") or meta.get("generated_at") or "manifest")
    out_version = f"run-{invocation}"
    nodes: list[NodeSpec] = []
    edges: list[EdgeSpec] = []

    def dataset(uid: str) -> NodeSpec:
        uid = same.get(uid, uid)
        res = resources[uid]
        return NodeSpec(
            kind=NodeKind.DATASET,
            namespace=res.namespace,
            name=res.name,
            version=PLACEHOLDER if res.kind == "source" else out_version,
            event_time=None if res.kind == "source" else when,
            owners=_owners_with_sources(uid, resources, same),
            properties=_properties_with_sources(uid, resources, same, tests, project),
        )

    for uid in sorted(resources):
        if uid in same:
            continue
        res = resources[uid]
        out = dataset(uid)
        nodes.append(out)
        if res.kind == "source":
            continue
        run = NodeSpec(
            kind=NodeKind.RUN,
            namespace="dbt",
            name=uid,
            version=invocation,
            event_time=when,
            owners=_owners(res.data),
            properties={
                "job": uid,
                "job_namespace": "dbt",
                "run_id": invocation,
                "dbt_resource_type": res.kind,
                "dbt_version": meta.get("dbt_version"),
                "sql": res.data.get("compiled_code") or res.data.get("compiled_sql") or None,
            },
        )
        nodes.append(run.model_copy(update={"properties": {k: v for k, v in run.properties.items() if v}}))
        edges.append(EdgeSpec.model_validate({"from": run.id, "type": EdgeType.PRODUCED, "to": out.id}))
        for parent in sorted(_dependencies(manifest, uid, same)):
            if parent in resources:
                edge = {"from": dataset(parent).id, "type": EdgeType.INPUT_TO, "to": run.id}
                edges.append(EdgeSpec.model_validate(edge))
    return Batch(nodes=nodes, edges=edges)


def source_label(namespace: str | None, mode: Mode) -> str:
    """The landing-zone source of an imported manifest; it records the options for replay."""
    label = f"{DBT_SOURCE};mode={mode}"
    return f"{label};namespace={namespace}" if namespace else label


def _options(source: str) -> tuple[str | None, Mode]:
    namespace: str | None = None
    mode: Mode = "feeds"
    for part in source.split(";")[1:]:
        key, _, value = part.partition("=")
        if key == "namespace" and value:
            namespace = value
        elif key == "mode" and value == "runs":
            mode = "runs"
    return namespace, mode


def import_manifest(
    store: GraphStore,
    manifest: Any,
    *,
    principal: str | Principal,
    namespace: str | None = None,
    mode: Mode = "feeds",
    land: bool = True,
    source: str | None = None,
) -> WriteResult:
    """Register a manifest's lineage (all or nothing), keeping the manifest in the landing zone.

    When ``source`` is a landing-zone label (replay), the options recorded in it are used. A
    principal limited to namespaces may import only what a GraphQL ``register`` would allow it.
    """
    if source is not None:
        namespace, mode = _options(source)
    batch = manifest_batch(manifest, namespace=namespace, mode=mode)
    if isinstance(principal, Principal):
        check_batch(principal, batch, action="import dbt lineage")
        principal = principal.id
    if land:
        store.append_raw_event(source or source_label(namespace, mode), manifest)
    return store.register(batch, principal=principal, source="dbt")
