"""W3C PROV-JSON (https://www.w3.org/submissions/prov-json/) for auditors' tools.

Mapping of the lineage graph onto PROV:

- Dataset, Feature, Model, Deployment and CodeCommit nodes are ``entity`` records; Run nodes are
  ``activity`` records with start and end times;
- ``X -INPUT_TO-> run`` is ``used`` (a CodeCommit is used with the role ``lineage:code``),
  ``run -PRODUCED-> Y`` is ``wasGeneratedBy``, and each (input, output) pair of a run is also a
  ``wasDerivedFrom`` naming the run; ``FEEDS`` and ``DEPLOYED_AS`` are direct ``wasDerivedFrom``;
- ``parent -PARENT_OF-> child`` (an orchestrator run launched a task run) is ``wasStartedBy`` with the
  parent as ``prov:starter``;
- owners and commit authors are ``agent`` records: entities are ``wasAttributedTo`` their owners,
  commits to their author; runs are ``wasAssociatedWith`` the principal that recorded them and
  their owners.

One extra entity, ``lineage:report``, carries the as-of time, audit head and graph digest. Relation
ids are qualified names under the declared ``rel`` prefix (``rel:used3``), so the ``prov:usage`` and
``prov:generation`` references of a ``wasDerivedFrom`` resolve in PROV tools; they are numbered in
sorted order, so the document is deterministic.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from lineage.audit import canonical
from lineage.governance.owners import parse_owner
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.report.data import Report

PREFIXES = {
    "lineage": "urn:lineage:",
    "node": "urn:lineage:node:",
    "agent": "urn:lineage:agent:",
    "rel": "urn:lineage:relation:",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def _qn(value: str) -> dict[str, str]:
    return {"$": value, "type": "prov:QUALIFIED_NAME"}


def _time(value: str) -> dict[str, str]:
    return {"$": value, "type": "xsd:dateTime"}


def _node(node_id: str) -> str:
    return "node:" + node_id


def _agent(name: str) -> str:
    return "agent:" + quote(name, safe="@.-_")


def _attributes(rec: NodeRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prov:type": _qn(f"lineage:{rec.kind.value}"),
        "prov:label": rec.id,
        "lineage:namespace": rec.namespace,
        "lineage:name": rec.name,
        "lineage:recordedAt": _time(rec.recorded_at.isoformat()),
        "lineage:recordedBy": rec.recorded_by,
    }
    if rec.version is not None:
        out["lineage:version"] = rec.version
    if rec.event_time is not None:
        out["lineage:eventTime"] = _time(rec.event_time.isoformat())
    if rec.tags:
        out["lineage:classifications"] = sorted(rec.tags)
    if rec.properties:
        out["lineage:properties"] = canonical(rec.properties).decode()
    return out


def prov_document(report: Report) -> dict[str, Any]:
    recs = report.records
    doc: dict[str, dict[str, Any]] = {
        "entity": {},
        "activity": {},
        "agent": {},
        "used": {},
        "wasGeneratedBy": {},
        "wasDerivedFrom": {},
        "wasStartedBy": {},
        "wasAssociatedWith": {},
        "wasAttributedTo": {},
    }
    counters: dict[str, int] = {}

    def relation(kind: str, body: dict[str, Any]) -> str:
        counters[kind] = counters.get(kind, 0) + 1
        rid = f"rel:{kind}{counters[kind]}"
        doc[kind][rid] = body
        return rid

    def agent(name: str, ptype: str) -> str:
        aid = _agent(name)
        doc["agent"].setdefault(aid, {"prov:type": _qn(ptype), "prov:label": name})
        return aid

    for node_id in sorted(recs):
        rec = recs[node_id]
        attrs = _attributes(rec)
        if rec.kind is NodeKind.RUN:
            started = rec.properties.get("started_at") or (rec.event_time.isoformat() if rec.event_time else None)
            if started:
                attrs["prov:startTime"] = str(started)
            if rec.properties.get("ended_at"):
                attrs["prov:endTime"] = str(rec.properties["ended_at"])
            doc["activity"][_node(node_id)] = attrs
        else:
            doc["entity"][_node(node_id)] = attrs

    inputs: dict[str, list[tuple[str, str]]] = {}
    outputs: dict[str, list[tuple[str, str]]] = {}
    for src, etype, dst in report.subgraph.sorted_edges():
        if etype is EdgeType.INPUT_TO or etype is EdgeType.EXECUTED_IN:
            body: dict[str, Any] = {"prov:activity": _node(dst), "prov:entity": _node(src)}
            if etype is EdgeType.EXECUTED_IN:
                body["prov:role"] = _qn("lineage:code")
            inputs.setdefault(dst, []).append((src, relation("used", body)))
        elif etype is EdgeType.PRODUCED:
            rid = relation("wasGeneratedBy", {"prov:entity": _node(dst), "prov:activity": _node(src)})
            outputs.setdefault(src, []).append((dst, rid))
        elif etype is EdgeType.PARENT_OF:
            relation("wasStartedBy", {"prov:activity": _node(dst), "prov:starter": _node(src)})
        else:
            relation(
                "wasDerivedFrom",
                {
                    "prov:generatedEntity": _node(dst),
                    "prov:usedEntity": _node(src),
                    "prov:type": _qn(f"lineage:{etype.value}"),
                },
            )
    for run in sorted(set(inputs) & set(outputs)):
        for out_id, gen in outputs[run]:
            for in_id, use in inputs[run]:
                if recs.get(in_id) is not None and recs[in_id].kind is not NodeKind.CODE_COMMIT:
                    relation(
                        "wasDerivedFrom",
                        {
                            "prov:generatedEntity": _node(out_id),
                            "prov:usedEntity": _node(in_id),
                            "prov:activity": _node(run),
                            "prov:generation": gen,
                            "prov:usage": use,
                        },
                    )

    for node_id in sorted(recs):
        rec = recs[node_id]
        owners = [parse_owner(o) for o in rec.owners]
        if rec.kind is NodeKind.RUN:
            who = agent(rec.recorded_by, "prov:SoftwareAgent")
            relation("wasAssociatedWith", {"prov:activity": _node(node_id), "prov:agent": who,
                                           "prov:role": _qn("lineage:recorder")})
            for owner in owners:
                aid = agent(owner.name, "prov:Person" if "@" in owner.name else "prov:Organization")
                relation("wasAssociatedWith", {"prov:activity": _node(node_id), "prov:agent": aid,
                                               "prov:role": _qn("lineage:owner")})
            continue
        for owner in owners:
            aid = agent(owner.name, "prov:Person" if "@" in owner.name else "prov:Organization")
            if owner.contact:
                doc["agent"][aid]["lineage:contact"] = owner.contact
            relation("wasAttributedTo", {"prov:entity": _node(node_id), "prov:agent": aid,
                                         "prov:type": _qn("lineage:owner")})
        author = rec.properties.get("author") if rec.kind is NodeKind.CODE_COMMIT else None
        if isinstance(author, str) and author:
            relation("wasAttributedTo", {"prov:entity": _node(node_id), "prov:agent": agent(author, "prov:Person"),
                                         "prov:type": _qn("lineage:author")})

    doc["entity"]["lineage:report"] = {
        "prov:type": _qn("lineage:Report"),
        "prov:label": report.title,
        "lineage:root": report.root.id,
        "lineage:direction": report.lineage.direction.value,
        "lineage:asOf": _time(report.as_of),
        "lineage:auditHeadSeq": report.state.head_seq,
        "lineage:auditHeadHash": report.state.head_hash,
        "lineage:graphDigest": report.digest,
    }
    return {"prefix": dict(PREFIXES), **{k: v for k, v in doc.items() if v}}


def render_prov_json(report: Report) -> str:
    return json.dumps(prov_document(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
