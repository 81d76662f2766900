"""Bulk export and import of the embedded store, for copying stores (``lineage migrate``).

Rows go out and in exactly as stored: times as integer microseconds, retractions included, the
audit log entry by entry. Imports bypass the write rules on purpose; they fill an empty store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from lineage.errors import BackendUnavailableError, ConflictError
from lineage.model import EdgeRecord, EdgeType, NodeKind, NodeRecord
from lineage.model.ids import parse_node_id
from lineage.storage.base import Annotation, NodeRevision, RawEvent, Revision, Section, TokenRecord
from lineage.storage.sqlite import audit_entry_of, from_us, to_us

if TYPE_CHECKING:
    from lineage.storage.sqlite import SQLiteStore

_EXPORT: dict[Section, str] = {
    Section.NODES: (
        "SELECT id, kind, namespace, name, version, properties, event_time, recorded_at, recorded_by, "
        "retracted_at, retracted_by, retract_reason FROM nodes ORDER BY id"
    ),
    Section.REVISIONS: (
        "SELECT node_id, recorded_at, recorded_by, properties, event_time FROM node_revisions "
        "ORDER BY node_id, recorded_at"
    ),
    Section.EDGES: (
        "SELECT s.id, e.type, d.id, e.properties, e.event_time, e.recorded_at, e.recorded_by, e.retracted_at, "
        "e.retracted_by, e.retract_reason FROM edges e CROSS JOIN nodes s ON s.n = e.src_n "
        "CROSS JOIN nodes d ON d.n = e.dst_n ORDER BY s.id, e.type, d.id"
    ),
    Section.ANNOTATIONS: (
        "SELECT node_id, key, value, recorded_at, recorded_by, retracted_at, retracted_by FROM annotations "
        "ORDER BY node_id, key, value, recorded_at"
    ),
    Section.TOKENS: (
        "SELECT name, role, namespaces, secret_hash, created_at, created_by, revoked_at FROM tokens "
        "ORDER BY created_at, name"
    ),
    Section.RAW_EVENTS: "SELECT seq, received_at, source, payload FROM raw_events ORDER BY seq",
    Section.AUDIT: (
        "SELECT seq, at, principal, source, action, subjects, payload, payload_digest, prev_hash, hash, writes "
        "FROM audit ORDER BY seq"
    ),
}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _at(value: int) -> Any:
    return from_us(value)


def _us(value: Any) -> int | None:
    return to_us(value) if value is not None else None


def _record(section: Section, r: Any) -> Any:
    if section is Section.NODES:
        return NodeRecord(
            r[0],
            NodeKind(r[1]),
            r[2],
            r[3],
            r[4],
            json.loads(r[5]),
            (),
            (),
            from_us(r[6]),
            _at(r[7]),
            r[8],
            from_us(r[9]),
            r[10],
            r[11],
        )
    if section is Section.REVISIONS:
        return NodeRevision(r[0], Revision(_at(r[1]), r[2], json.loads(r[3]), from_us(r[4])))
    if section is Section.EDGES:
        return EdgeRecord(
            r[0], EdgeType(r[1]), r[2], json.loads(r[3]), from_us(r[4]), _at(r[5]), r[6], from_us(r[7]), r[8], r[9]
        )
    if section is Section.ANNOTATIONS:
        return Annotation(r[0], r[1], r[2], _at(r[3]), r[4], from_us(r[5]), r[6])
    if section is Section.TOKENS:
        return TokenRecord(r[0], r[1], tuple(json.loads(r[2])), r[3], _at(r[4]), r[5], from_us(r[6]))
    if section is Section.RAW_EVENTS:
        return RawEvent(r[0], _at(r[1]), r[2], json.loads(r[3]))
    return audit_entry_of(r)


def export_section(store: SQLiteStore, section: Section, batch_size: int) -> Iterator[list[Any]]:
    """Stream one section from its own connection, ``batch_size`` records at a time."""
    try:
        conn = store.connect()
    except sqlite3.Error as exc:
        raise BackendUnavailableError(f"store {store.url!r} unavailable: {exc}") from None
    try:
        cur = conn.execute(_EXPORT[Section(section)])
        while rows := cur.fetchmany(batch_size):
            yield [_record(section, r) for r in rows]
    finally:
        conn.close()


def _rows(section: Section, records: Sequence[Any]) -> list[tuple[Any, ...]]:
    if section is Section.NODES:
        return [
            (
                n.id,
                n.kind.value,
                n.namespace,
                n.name,
                n.version,
                _json(n.properties),
                _us(n.event_time),
                to_us(n.recorded_at),
                n.recorded_by,
                _us(n.retracted_at),
                n.retracted_by,
                n.retract_reason,
            )
            for n in records
        ]
    if section is Section.REVISIONS:
        return [
            (
                r.node_id,
                to_us(r.revision.recorded_at),
                r.revision.recorded_by,
                _json(r.revision.properties),
                _us(r.revision.event_time),
            )
            for r in records
        ]
    if section is Section.EDGES:
        return [
            (
                e.source,
                e.type.value,
                e.target,
                parse_node_id(e.source).kind.value,
                parse_node_id(e.target).kind.value,
                _json(e.properties),
                _us(e.event_time),
                to_us(e.recorded_at),
                e.recorded_by,
                _us(e.retracted_at),
                e.retracted_by,
                e.retract_reason,
            )
            for e in records
        ]
    if section is Section.ANNOTATIONS:
        return [
            (a.node_id, a.key, a.value, to_us(a.recorded_at), a.recorded_by, _us(a.retracted_at), a.retracted_by)
            for a in records
        ]
    if section is Section.TOKENS:
        return [
            (
                t.name,
                t.role,
                _json(list(t.namespaces)),
                t.secret_hash,
                to_us(t.created_at),
                t.created_by,
                _us(t.revoked_at),
            )
            for t in records
        ]
    if section is Section.RAW_EVENTS:
        return [(e.seq, to_us(e.received_at), e.source, json.dumps(e.payload, ensure_ascii=False)) for e in records]
    return [
        (
            e.seq,
            to_us(e.at),
            e.principal,
            e.source,
            e.action,
            _json(list(e.subjects)),
            _json(e.payload),
            e.payload_digest,
            e.prev_hash,
            e.hash,
            _json(e.writes) if e.writes is not None else None,
        )
        for e in records
    ]


_IMPORT: dict[Section, str] = {
    Section.NODES: (
        "INSERT INTO nodes (id, kind, namespace, name, version, properties, event_time, recorded_at, recorded_by, "
        "retracted_at, retracted_by, retract_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    Section.REVISIONS: (
        "INSERT INTO node_revisions (node_id, recorded_at, recorded_by, properties, event_time) VALUES (?, ?, ?, ?, ?)"
    ),
    Section.EDGES: (
        "INSERT INTO edges (src_n, type, dst_n, src_kind, dst_kind, properties, event_time, recorded_at, "
        "recorded_by, retracted_at, retracted_by, retract_reason) VALUES ((SELECT n FROM nodes WHERE id = ?), ?, "
        "(SELECT n FROM nodes WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    Section.ANNOTATIONS: (
        "INSERT INTO annotations (node_id, key, value, recorded_at, recorded_by, retracted_at, retracted_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    Section.TOKENS: (
        "INSERT INTO tokens (name, role, namespaces, secret_hash, created_at, created_by, revoked_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    Section.RAW_EVENTS: "INSERT INTO raw_events (seq, received_at, source, payload) VALUES (?, ?, ?, ?)",
    Section.AUDIT: (
        "INSERT INTO audit (seq, at, principal, source, action, subjects, payload, payload_digest, prev_hash, hash, "
        "writes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
}


def import_section(store: SQLiteStore, section: Section, records: Sequence[Any]) -> None:
    """Insert one chunk of exported records in one transaction."""
    section = Section(section)
    if not records:
        return
    rows = _rows(section, records)
    conn = store._conn()
    try:
        with store._immediate(conn):
            conn.executemany(_IMPORT[section], rows)
            if section is Section.AUDIT:
                conn.executemany(
                    "INSERT OR IGNORE INTO audit_subjects (subject, seq) VALUES (?, ?)",
                    [(s, e.seq) for e in records for s in e.subjects],
                )
    except sqlite3.IntegrityError as exc:
        if section is Section.EDGES and "NOT NULL" in str(exc):
            raise ConflictError(f"an edge names a node that store {store.url!r} does not hold: {exc}") from None
        raise ConflictError(f"store {store.url!r} already holds some of these {section.value}: {exc}") from None
    except sqlite3.OperationalError as exc:
        raise BackendUnavailableError(f"store {store.url!r} unavailable: {exc}") from None
