"""The embedded store's rows for audit verification (:class:`lineage.audit.graph_verify.GraphRows`).

All of them are read in one read transaction on a connection of their own, so concurrent writers
neither block verification nor show it a half-written state (WAL snapshot). The file is opened
read-only, so a read-only copy of a store verifies too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from lineage.audit import AuditEntry
from lineage.audit.graph_verify import NodeRow
from lineage.errors import BackendUnavailableError
from lineage.storage.sqlite import audit_entry_of

_NODES = (
    "SELECT n.id, n.kind, n.namespace, n.name, n.version, n.properties, n.event_time, n.recorded_at, "
    "n.recorded_by, n.retracted_at, n.retracted_by, n.retract_reason, r.properties, r.event_time, "
    "r.node_id IS NOT NULL FROM nodes n LEFT JOIN node_revisions r ON r.node_id = n.id AND r.recorded_at = "
    "(SELECT max(recorded_at) FROM node_revisions WHERE node_id = n.id)"
)
_REVISIONS = "SELECT node_id, recorded_at, recorded_by, properties, event_time FROM node_revisions"
_EDGES = (
    "SELECT s.id, e.type, d.id, e.src_kind, e.dst_kind, e.properties, e.event_time, e.recorded_at, e.recorded_by, "
    "e.retracted_at, e.retracted_by, e.retract_reason FROM edges e "
    "LEFT JOIN nodes s ON s.n = e.src_n LEFT JOIN nodes d ON d.n = e.dst_n"
)
_ANNOTATIONS = "SELECT node_id, key, value, recorded_at, recorded_by, retracted_at, retracted_by FROM annotations"
_TOKENS = "SELECT name, role, namespaces, secret_hash, created_at, created_by, revoked_at FROM tokens"
_RAW = "SELECT seq, received_at, source, payload FROM raw_events"
_SUBJECTS = "SELECT subject, seq FROM audit_subjects"
_AUDIT = (
    "SELECT seq, at, principal, source, action, subjects, payload, payload_digest, prev_hash, hash, writes "
    "FROM audit ORDER BY seq"
)


class SQLiteRows:
    """Rows of one SQLite snapshot."""

    keeps_current_annotations = False

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.c = conn

    def _rows(self, sql: str) -> Iterator[Any]:
        cur = self.c.execute(sql)
        while batch := cur.fetchmany(5_000):
            yield from batch

    def entries(self) -> Iterator[AuditEntry]:
        for r in self._rows(_AUDIT):
            yield audit_entry_of(r)

    def stored_head(self) -> tuple[int, str] | None:
        return None  # the head is the last entry itself

    def nodes(self) -> Iterator[NodeRow]:
        for r in self._rows(_NODES):
            latest = (r[12], r[13]) if r[14] else None
            yield NodeRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], latest)

    def revisions(self) -> Iterator[Any]:
        return self._rows(_REVISIONS)

    def edges(self) -> Iterator[Any]:
        return self._rows(_EDGES)

    def annotations(self) -> Iterator[Any]:
        return self._rows(_ANNOTATIONS)

    def tokens(self) -> Iterator[Any]:
        return self._rows(_TOKENS)

    def raw_events(self) -> Iterator[Any]:
        return self._rows(_RAW)

    def subjects(self) -> Iterator[Any]:
        return self._rows(_SUBJECTS)


@contextmanager
def snapshot(path: Path, url: str, busy_timeout_s: float, *, immutable: bool = False) -> Iterator[SQLiteRows]:
    """One read transaction over the file, opened read-only (immutable on read-only media)."""
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?{'immutable=1' if immutable else 'mode=ro'}",
            uri=True,
            timeout=busy_timeout_s,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise BackendUnavailableError(f"cannot open store {url!r}: {exc}") from None
    try:
        conn.execute("BEGIN")
        yield SQLiteRows(conn)
    except sqlite3.OperationalError as exc:
        raise BackendUnavailableError(f"store {url!r} unavailable: {exc}") from None
    finally:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        conn.close()
