"""Bulk export and import of the Neo4j store, for copying stores (``lineage migrate``).

Records leave and arrive exactly as stored (integer microseconds, retractions, the audit log entry
by entry), one managed transaction per chunk. Revisions need care: a node that never changed keeps
its one state on itself (no ``:Revision``), so export reports that state as its first revision and
import leaves such a first state implicit again when it is also the node's current state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import neo4j

from lineage.audit import AuditEntry
from lineage.model import EdgeRecord, EdgeType, NodeKind, NodeRecord
from lineage.storage import neo4j_cypher as q
from lineage.storage.base import Annotation, NodeRevision, RawEvent, Revision, Section, TokenRecord
from lineage.storage.neo4j_records import (
    CURRENT_KEYS,
    annotation_of,
    at_us,
    audit_props,
    edge_of,
    search_keys,
    to_json,
    token_props,
    us,
)
from lineage.storage.sqlite import from_us, to_us

if TYPE_CHECKING:
    from lineage.storage.neo4j import Neo4jStore


def _node(n: dict[str, Any]) -> NodeRecord:
    return NodeRecord(
        n["id"],
        NodeKind(n["kind"]),
        n["namespace"],
        n["name"],
        n.get("version"),
        json.loads(n["properties"]),
        (),
        (),
        from_us(n.get("event_time")),
        at_us(n["recorded_at"]),
        n["recorded_by"],
        from_us(n.get("retracted_at")),
        n.get("retracted_by"),
        n.get("retract_reason"),
    )


def _node_pages(store: Neo4jStore, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    after = ""
    while True:
        rows = store._read(q.EXPORT_NODES, after=after, limit=batch_size)[0]["nodes"]
        if rows:
            yield rows
            after = rows[-1]["id"]
        if len(rows) < batch_size:
            return


def export_section(store: Neo4jStore, section: Section, batch_size: int) -> Iterator[list[Any]]:
    section = Section(section)
    if section is Section.NODES:
        for page in _node_pages(store, batch_size):
            yield [_node(n) for n in page]
    elif section is Section.REVISIONS:
        for page in _node_pages(store, batch_size):
            revised = [n["id"] for n in page if n.get("revised")]
            stored: dict[str, list[Revision]] = {}
            if revised:
                for r in store._read(q.EXPORT_REVISIONS, ids=revised):
                    v = r["v"]
                    stored.setdefault(v["node_id"], []).append(
                        Revision(
                            at_us(v["recorded_at"]),
                            v["recorded_by"],
                            json.loads(v["properties"]),
                            from_us(v.get("event_time")),
                        )
                    )
            out: list[Any] = []
            for n in page:
                if n.get("revised"):
                    out.extend(NodeRevision(n["id"], rev) for rev in stored.get(n["id"], []))
                else:
                    first = Revision(
                        at_us(n["recorded_at"]),
                        n["recorded_by"],
                        json.loads(n["properties"]),
                        from_us(n.get("event_time")),
                    )
                    out.append(NodeRevision(n["id"], first))
            yield out
    elif section is Section.EDGES:
        after = ""
        while True:
            rows = store._read(q.EXPORT_EDGES, after=after, limit=batch_size)
            if not rows:
                return
            edges = [edge_of(r["src"], r["type"], r["dst"], r["e"]) for r in rows if r["type"] is not None]
            edges.sort(key=lambda e: (e.source, e.type.value, e.target))
            if edges:
                yield edges
            after = max(r["src"] for r in rows)
            if len({r["src"] for r in rows}) < batch_size:
                return
    elif section is Section.ANNOTATIONS:
        for page in _node_pages(store, batch_size):
            rows = store._read(q.EXPORT_ANNOTATIONS, ids=[n["id"] for n in page])
            if rows:
                yield [annotation_of(r["a"]) for r in rows]
    elif section is Section.TOKENS:
        tokens = store.tokens()
        for i in range(0, len(tokens), batch_size):
            yield list(tokens[i : i + batch_size])
    elif section is Section.RAW_EVENTS:
        chunk: list[Any] = []
        for event in store.iter_raw_events():
            chunk.append(event)
            if len(chunk) >= batch_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
    else:
        entries: list[AuditEntry] = []
        for entry in store.iter_audit():  # pages bounded by bytes too: entries can be megabytes
            entries.append(entry)
            if len(entries) >= batch_size:
                yield entries
                entries = []
        if entries:
            yield entries


def _import_revisions(tx: neo4j.ManagedTransaction, records: Sequence[NodeRevision]) -> None:
    ids = list(dict.fromkeys(r.node_id for r in records))
    state: dict[str, dict[str, Any]] = {r["id"]: dict(r) for r in tx.run(q.IMPORT_NODE_STATES, ids=ids)}
    rows: list[dict[str, Any]] = []
    marked: list[str] = []
    for rec in records:
        n = state.get(rec.node_id)
        if n is None:
            continue  # a revision of no node: nothing to attach it to
        rev = rec.revision
        row: dict[str, Any] = {
            "node_id": rec.node_id,
            "recorded_at": to_us(rev.recorded_at),
            "recorded_by": rev.recorded_by,
            "properties": to_json(rev.properties),
            "event_time": us(rev.event_time),
        }
        if not n.get("revised"):
            is_first = row["recorded_at"] == n["recorded_at"]
            if (
                is_first
                and row["recorded_by"] == n["recorded_by"]
                and rev.properties == json.loads(n["properties"])
                and row["event_time"] == n.get("event_time")
            ):
                continue  # the node's first state is also its current one: kept implicitly
            if not is_first:
                # The first state was left implicit above; keep it before the change.
                rows.append(
                    {k: n.get(k) for k in ("recorded_at", "recorded_by", "properties", "event_time")}
                    | {"node_id": rec.node_id}
                )
            n["revised"] = True
            marked.append(rec.node_id)
        rows.append(row)
    for i in range(0, len(rows), 10_000):
        tx.run(q.INSERT_REVISIONS, rows=rows[i : i + 10_000]).consume()
    if marked:
        tx.run(q.MARK_REVISED, ids=marked).consume()


def _import(tx: neo4j.ManagedTransaction, section: Section, records: Sequence[Any]) -> None:
    if section is Section.NODES:
        by_kind: dict[NodeKind, list[dict[str, Any]]] = {}
        for n in records:
            by_kind.setdefault(n.kind, []).append(
                {
                    "id": n.id,
                    "kind": n.kind.value,
                    "namespace": n.namespace,
                    "name": n.name,
                    "version": n.version,
                    "properties": to_json(n.properties),
                    "event_time": us(n.event_time),
                    "recorded_at": to_us(n.recorded_at),
                    "recorded_by": n.recorded_by,
                    "retracted_at": us(n.retracted_at),
                    "retracted_by": n.retracted_by,
                    "retract_reason": n.retract_reason,
                }
                | search_keys(n.id, n.name)
            )
        for kind, rows in by_kind.items():
            tx.run(q.IMPORT_NODES[kind], rows=rows).consume()
    elif section is Section.REVISIONS:
        _import_revisions(tx, records)
    elif section is Section.EDGES:
        by_type: dict[EdgeType, list[dict[str, Any]]] = {}
        for e in records:
            assert isinstance(e, EdgeRecord)
            by_type.setdefault(e.type, []).append(
                {
                    "src": e.source,
                    "dst": e.target,
                    "props": {
                        "properties": to_json(e.properties) if e.properties else None,
                        "event_time": us(e.event_time),
                        "recorded_at": to_us(e.recorded_at),
                        "recorded_by": e.recorded_by,
                        "retracted_at": us(e.retracted_at),
                        "retracted_by": e.retracted_by,
                        "retract_reason": e.retract_reason,
                    },
                }
            )
        for edge_type, rows in by_type.items():
            tx.run(q.IMPORT_EDGES[edge_type], rows=rows).consume()
    elif section is Section.ANNOTATIONS:
        rows = [
            {
                "node_id": a.node_id,
                "key": a.key,
                "value": a.value,
                "recorded_at": to_us(a.recorded_at),
                "recorded_by": a.recorded_by,
                "retracted_at": us(a.retracted_at),
                "retracted_by": a.retracted_by,
            }
            for a in records
            if isinstance(a, Annotation)
        ]
        tx.run(q.IMPORT_ANNOTATIONS, rows=rows).consume()
        touched = sorted({r["node_id"] for r in rows if r["key"] in CURRENT_KEYS})
        tx.run(q.REFRESH_CURRENT_ANNOTATIONS, ids=touched).consume()
    elif section is Section.TOKENS:
        tx.run(q.IMPORT_TOKENS, rows=[token_props(t) for t in records if isinstance(t, TokenRecord)]).consume()
    elif section is Section.RAW_EVENTS:
        rows = [
            {
                "seq": e.seq,
                "received_at": to_us(e.received_at),
                "source": e.source,
                "payload": json.dumps(e.payload, ensure_ascii=False),
            }
            for e in records
            if isinstance(e, RawEvent)
        ]
        tx.run(q.IMPORT_RAW_EVENTS, rows=rows).consume()
    else:
        entries = [e for e in records if isinstance(e, AuditEntry)]
        tx.run(q.IMPORT_AUDIT, rows=[audit_props(e) for e in entries]).consume()
        subjects = [[s, e.seq] for e in entries for s in dict.fromkeys(e.subjects)]
        for i in range(0, len(subjects), 10_000):
            tx.run(q.IMPORT_AUDIT_SUBJECTS, rows=subjects[i : i + 10_000]).consume()


def import_section(store: Neo4jStore, section: Section, records: Sequence[Any]) -> None:
    if not records:
        return
    section = Section(section)
    store._write_tx(lambda tx: _import(tx, section, records))
