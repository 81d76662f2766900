"""The embedded store: one SQLite file in WAL mode, zero setup.

Readers run concurrently (one connection per thread); writers are serialised by
``BEGIN IMMEDIATE`` with a busy timeout, so several processes can share one file and the audit
chain stays a single line. SQL is static text with ``?`` parameters only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lineage.audit import GENESIS, AuditEntry
from lineage.audit.chain import fast_canonical
from lineage.errors import BackendUnavailableError, ValidationError
from lineage.model import EdgeRecord, EdgeType, NodeKind, NodeRecord
from lineage.storage.base import (
    Annotation,
    AuditFilter,
    Direction,
    GraphStore,
    Hop,
    NewEdge,
    NewNode,
    NodeFilter,
    RawEvent,
    Revision,
    Section,
    StoredEdge,
    StoredNode,
    TokenRecord,
    node_retraction_reason,
)
from lineage.storage.sqlite_checkpoint import LOG_SIZE_LIMIT, SMALL_COMMIT_PAGES, Checkpointer
from lineage.storage.sqlite_schema import DDL, SCHEMA_VERSION, upgrade

if TYPE_CHECKING:
    from lineage.storage.index import TraversalIndex
    from lineage.storage.sqlite_verify import SQLiteRows

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A run of digits that may be an integer beyond 64 bits (orjson would read it as a float).
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def _loads_json(text: str) -> Any:
    """``json.loads(text)``, decoded by orjson (several times faster on the small objects stored as
    node properties) when that reads it exactly alike: text with a run of 19 digits, or text orjson
    refuses (``NaN``, lone surrogates, numbers out of float range), goes to the standard library."""
    if _orjson_loads is not None and _LONG_DIGITS.search(text) is None:
        try:
            return _orjson_loads(text)
        except ValueError:  # orjson.JSONDecodeError is a ValueError
            pass
    return json.loads(text)


_orjson_loads: Callable[[str], Any] | None
_orjson_dumps: Callable[[Any], bytes] | None
try:  # orjson is a dependency; where it cannot be installed, the standard library decodes properties and
    # rows are written one by one
    from orjson import dumps as _orjson_dumps
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - where orjson cannot be installed
    _orjson_loads = _orjson_dumps = None


def to_us(value: datetime) -> int:
    """Exact integer microseconds since the epoch (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int | None) -> datetime | None:
    if value is None:
        return None
    return _EPOCH + timedelta(microseconds=value)


def _req(value: int) -> datetime:
    out = from_us(value)
    assert out is not None
    return out


# Annotation values of some nodes for one key. CROSS JOIN keeps json_each outside: otherwise the
# planner may walk every annotation with the key (index annotations_value) and scan the id list for each.
_ANNOTATIONS_OF = (
    "SELECT a.node_id, a.value FROM json_each(?) f CROSS JOIN annotations a ON a.node_id = f.value "
    "WHERE a.key = ? AND a.retracted_at IS "
)
_CURRENT_ANNOTATIONS = _ANNOTATIONS_OF + "NULL"
_REMOVED_ANNOTATIONS = _ANNOTATIONS_OF + "NOT NULL"


def audit_entry_of(r: Any) -> AuditEntry:
    """An audit entry from a row of ``seq, at, principal, source, action, subjects, payload,
    payload_digest, prev_hash, hash, writes``."""
    return AuditEntry(
        r[0],
        _req(r[1]),
        r[2],
        r[3],
        r[4],
        tuple(json.loads(r[5])),
        json.loads(r[6]),
        r[7],
        r[8],
        r[9],
        json.loads(r[10]) if r[10] is not None else None,
    )


_DDL_DIGEST = hashlib.sha256(DDL.encode()).hexdigest()


def _schema_applied(conn: sqlite3.Connection) -> bool:
    """Whether the store already holds the schema of this version of the code (read, no lock)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_ddl'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return False  # a new, empty file
        raise
    return row is not None and row[0] == _DDL_DIGEST


def _stored_version(conn: sqlite3.Connection) -> int | None:
    """The schema version the store says it holds (None: a new file, or none recorded)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return int(row[0]) if row is not None and str(row[0]).isdigit() else None


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _json(value: Any) -> str:
    if type(value) is list or type(value) is dict:
        fast = fast_canonical(value)
        if fast is not None:
            return fast.decode()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or a plain path."""
    if url.startswith("sqlite:///"):
        rest = url[len("sqlite:///") :]
    elif url.startswith("sqlite://"):
        raise ValidationError(f"store URL {url!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db")
    else:
        rest = url
    if not rest:
        raise ValidationError(f"store URL {url!r} names no file")
    return Path(rest)


_NODE_COLS = (
    "n.id, n.kind, n.namespace, n.name, n.version, n.properties, n.event_time, n.recorded_at, "
    "n.recorded_by, n.retracted_at, n.retracted_by, n.retract_reason"
)
_EDGE_COLS = (
    "s.id, e.type, d.id, e.properties, e.event_time, e.recorded_at, e.recorded_by, e.retracted_at, e.retracted_by, "
    "e.retract_reason"
)
#: Edges are keyed by their nodes' numbers (``nodes.n``); these joins give the ids back.
_OUT_OF = "nodes s CROSS JOIN edges e ON e.src_n = s.n CROSS JOIN nodes d ON d.n = e.dst_n"
_INTO = "nodes d CROSS JOIN edges e INDEXED BY edges_in ON e.dst_n = d.n CROSS JOIN nodes s ON s.n = e.src_n"
_NUMBERS = "SELECT f.value, n.n FROM json_each(?) f CROSS JOIN nodes n ON n.id = f.value"
_VISIBLE = "(n.recorded_at <= :t AND (n.retracted_at IS NULL OR n.retracted_at > :t))"
_E_VISIBLE = "(e.recorded_at <= :t AND (e.retracted_at IS NULL OR e.retracted_at > :t))"
_A_VISIBLE = "(a.recorded_at <= :t AND (a.retracted_at IS NULL OR a.retracted_at > :t))"
_FAR_FUTURE = 2**62
_SYNCHRONOUS = {"full": "PRAGMA synchronous=FULL", "normal": "PRAGMA synchronous=NORMAL"}


class _Members(dict[str, Any]):
    """Enum member by value, a dict lookup (the enum call is several times slower on hot paths)."""

    def __init__(self, enum: Any) -> None:
        super().__init__((m.value, m) for m in enum)
        self._enum = enum

    def __missing__(self, value: str) -> Any:
        return self._enum(value)  # raises ValueError like the enum itself


_KIND: dict[str, NodeKind] = _Members(NodeKind)
_EDGE: dict[str, EdgeType] = _Members(EdgeType)


def _props(value: dict[str, Any]) -> str:
    return _json(value) if value else "{}"


def _t(as_of: datetime | None) -> int:
    return _FAR_FUTURE if as_of is None else to_us(as_of)


#: Writes of at least this many rows send them as one JSON array: SQLite reads it and inserts every
#: row in one statement step, which runs without Python's global lock, so another thread (the
#: audit digests of a registration) runs meanwhile; row by row, each row would wait for the lock.
JSON_ROWS_MIN = 256


def _column(i: int) -> str:
    return f"json_extract(value, '$[{i}]')"


_NODES_FROM_JSON = (
    "INSERT INTO nodes (n, id, kind, namespace, name, version, properties, event_time, recorded_at, recorded_by) "
    f"SELECT {', '.join(_column(i) for i in range(8))}, ?2, ?3 FROM json_each(?1)"
)
_REVISIONS_FROM_JSON = (
    "INSERT INTO node_revisions (node_id, recorded_at, recorded_by, properties, event_time) "
    f"SELECT {_column(1)}, ?2, ?3, {_column(6)}, {_column(7)} FROM json_each(?1)"
)
_EDGES_FROM_JSON = (
    "INSERT INTO edges (src_n, type, dst_n, src_kind, dst_kind, properties, event_time, recorded_at, recorded_by) "
    f"SELECT {', '.join(_column(i) for i in range(7))}, ?2, ?3 FROM json_each(?1)"
)

#: In key order, as the rows of nodes and edges: each insert lands next to the one before.
_SUBJECTS_FROM_JSON = (
    "INSERT OR IGNORE INTO audit_subjects (subject, seq) SELECT value, ?2 FROM json_each(?1) ORDER BY value"
)


def _nothing() -> None:
    return None


def _rows_json(rows: list[tuple[Any, ...]]) -> str | None:
    """Rows of text, integers and nulls as one JSON array for ``json_each``; None when there are
    few (a statement per row costs less then) or orjson is absent or refuses a value."""
    if len(rows) < JSON_ROWS_MIN or _orjson_dumps is None:
        return None
    try:
        return _orjson_dumps(rows).decode()
    except TypeError:  # e.g. a lone surrogate: the row-by-row path reports it as before
        return None


class _Tx:
    """WriteTx over one connection inside BEGIN IMMEDIATE."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.c = conn
        # The last audit entry (seq, hash, at): read once per transaction (the write lock is held,
        # so only this transaction moves it) and kept current by append_audit.
        self._head: tuple[int, str, int | None] | None = None
        # Nodes read in this transaction, until it writes them: a group of OpenLineage events reads
        # the same jobs and dataset versions again and again. Readers never change what they get.
        self._nodes: dict[str, StoredNode | None] = {}
        # The numbers of nodes this transaction inserted (their edges, in the same batch, need them).
        self._numbered: dict[str, int] = {}

    def _last(self) -> tuple[int, str, int | None]:
        if self._head is None:
            row = self.c.execute("SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            self._head = (row[0], row[1], row[2]) if row else (0, GENESIS, None)
        return self._head

    def now(self) -> datetime:
        last = self._last()[2]
        now = to_us(datetime.now(UTC))
        return _req(max(now, last + 1) if last is not None else now)

    def audit_head(self) -> tuple[int, str]:
        seq, hash_, _at = self._last()
        return seq, hash_

    def nodes(self, ids: Sequence[str]) -> dict[str, StoredNode]:
        known = self._nodes
        missing = [i for i in ids if i not in known]
        if missing:
            rows = self.c.execute(
                "SELECT n.id, n.kind, n.properties, n.event_time, n.retracted_at FROM json_each(?) f "
                "JOIN nodes n ON n.id = f.value",
                (_json(missing),),
            )
            for i in missing:
                known[i] = None
            for r in rows:
                known[r[0]] = StoredNode(r[0], _KIND[r[1]], _loads_json(r[2]), from_us(r[3]), from_us(r[4]))
        return {i: found for i in ids if (found := known[i]) is not None}

    def edges(self, keys: Sequence[tuple[str, EdgeType, str]]) -> dict[tuple[str, EdgeType, str], StoredEdge]:
        rows = self.c.execute(
            "SELECT s.id, e.type, d.id, e.retracted_at FROM json_each(?) f "
            "CROSS JOIN nodes s ON s.id = json_extract(f.value, '$[0]') "
            "CROSS JOIN nodes d ON d.id = json_extract(f.value, '$[2]') "
            "CROSS JOIN edges e ON e.src_n = s.n AND e.type = json_extract(f.value, '$[1]') AND e.dst_n = d.n",
            (_json([[s, str(t), d] for s, t, d in keys]),),
        )
        out = {}
        for r in rows:
            edge_type = _EDGE[r[1]]
            out[(r[0], edge_type, r[2])] = StoredEdge(r[0], edge_type, r[2], from_us(r[3]))
        return out

    def successors(self, ids: Sequence[str]) -> list[tuple[str, str]]:
        rows = self.c.execute(
            f"SELECT s.id, d.id FROM json_each(?) f CROSS JOIN {_OUT_OF} WHERE s.id = f.value "
            "AND e.retracted_at IS NULL",
            (_json(list(ids)),),
        )
        return [(r[0], r[1]) for r in rows]

    def annotations(self, ids: Sequence[str], key: str) -> dict[str, set[str]]:
        return self._annotation_values(_CURRENT_ANNOTATIONS, ids, key)

    def removed_annotations(self, ids: Sequence[str], key: str) -> dict[str, set[str]]:
        return self._annotation_values(_REMOVED_ANNOTATIONS, ids, key)

    def _annotation_values(self, sql: str, ids: Sequence[str], key: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for node_id, value in self.c.execute(sql, (_json(list(ids)), key)):
            out.setdefault(node_id, set()).add(value)
        return out

    def stage_nodes(self, nodes: Sequence[NewNode], at: datetime, by: str) -> Callable[[], None]:
        if not nodes:
            return _nothing
        t = to_us(at)
        for n in nodes:
            self._nodes.pop(n.id, None)
        # In key order: each B-tree insert lands next to the previous one (a quarter faster).
        ordered = sorted(
            (
                n.id,
                str(n.kind),
                n.namespace,
                n.name,
                n.version,
                n.properties_json,
                to_us(n.event_time) if n.event_time else None,
            )
            for n in nodes
        )
        # Numbered here, in key order after the last number given, so that their edges need not
        # look them up. Nodes are never deleted, so a number is never given twice.
        last = self.c.execute("SELECT max(n) FROM nodes").fetchone()[0] or 0
        rows = [(last + 1 + i, *r) for i, r in enumerate(ordered)]
        self._numbered.update((r[1], r[0]) for r in rows)
        c = self.c
        text = _rows_json(rows)
        if text is not None:

            def send_text() -> None:
                c.execute(_NODES_FROM_JSON, (text, t, by))
                c.execute(_REVISIONS_FROM_JSON, (text, t, by))

            return send_text
        node_rows = [(*r, t, by) for r in rows]
        revision_rows = [(r[1], t, by, r[6], r[7]) for r in rows]

        def send_rows() -> None:
            c.executemany(
                "INSERT INTO nodes (n, id, kind, namespace, name, version, properties, event_time, recorded_at, "
                "recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                node_rows,
            )
            c.executemany(
                "INSERT INTO node_revisions (node_id, recorded_at, recorded_by, properties, event_time) "
                "VALUES (?, ?, ?, ?, ?)",
                revision_rows,
            )

        return send_rows

    def update_nodes(
        self, updates: Sequence[tuple[str, dict[str, Any], datetime | None]], at: datetime, by: str
    ) -> None:
        if not updates:
            return
        for node_id, _props, _event_time in updates:
            self._nodes.pop(node_id, None)
        t = to_us(at)
        rows = [(_json(p), to_us(e) if e else None, i) for i, p, e in updates]
        self.c.executemany("UPDATE nodes SET properties = ?, event_time = ? WHERE id = ?", rows)
        self.c.executemany(
            "INSERT INTO node_revisions (node_id, recorded_at, recorded_by, properties, event_time) "
            "VALUES (?, ?, ?, ?, ?)",
            [(i, t, by, p, e) for p, e, i in rows],
        )

    def stage_edges(self, edges: Sequence[NewEdge], at: datetime, by: str) -> Callable[[], None]:
        if not edges:
            return _nothing
        t = to_us(at)
        numbers = self._numbers({i for e in edges for i in (e.source, e.target)})
        rows = sorted(  # in key order, as the nodes
            (
                numbers[e.source],
                str(e.type),
                numbers[e.target],
                str(e.source_kind),
                str(e.target_kind),
                e.properties_json,
                to_us(e.event_time) if e.event_time else None,
            )
            for e in edges
        )
        c = self.c
        text = _rows_json(rows)
        if text is not None:

            def send_text() -> None:
                c.execute(_EDGES_FROM_JSON, (text, t, by))

            return send_text
        edge_rows = [(*r, t, by) for r in rows]

        def send_rows() -> None:
            c.executemany(
                "INSERT INTO edges (src_n, type, dst_n, src_kind, dst_kind, properties, event_time, recorded_at, "
                "recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                edge_rows,
            )

        return send_rows

    def _numbers(self, ids: set[str]) -> dict[str, int]:
        """Each node's number; every id must name a node (the write rules checked it)."""
        known = self._numbered
        numbers = {i: known[i] for i in ids if i in known}
        if len(numbers) < len(ids):
            rest = sorted(ids - numbers.keys())
            numbers.update(self.c.execute(_NUMBERS, (_json(rest),)).fetchall())
        missing = ids - numbers.keys()
        if missing:
            raise ValidationError(f"edge endpoint {min(missing)!r} is not a node of the store")
        return numbers

    def add_annotations(self, rows: Sequence[tuple[str, str, str]], at: datetime, by: str) -> None:
        if not rows:
            return
        t = to_us(at)
        self.c.executemany(
            "INSERT INTO annotations (node_id, key, value, recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?)",
            [(n, k, v, t, by) for n, k, v in rows],
        )

    def retract_annotations(self, rows: Sequence[tuple[str, str, str]], at: datetime, by: str) -> None:
        t = to_us(at)
        self.c.executemany(
            "UPDATE annotations SET retracted_at = ?, retracted_by = ? "
            "WHERE node_id = ? AND key = ? AND value = ? AND retracted_at IS NULL",
            [(t, by, n, k, v) for n, k, v in rows],
        )

    def retract_node(self, node_id: str, at: datetime, by: str, reason: str) -> list[tuple[str, EdgeType, str]]:
        self._nodes.pop(node_id, None)
        t = to_us(at)
        (number,) = self.c.execute(
            "UPDATE nodes SET retracted_at = ?, retracted_by = ?, retract_reason = ? WHERE id = ? RETURNING n",
            (t, by, reason, node_id),
        ).fetchone()
        rows = self.c.execute(
            "UPDATE edges SET retracted_at = ?, retracted_by = ?, retract_reason = ? "
            "WHERE (src_n = ? OR dst_n = ?) AND retracted_at IS NULL RETURNING "
            "(SELECT id FROM nodes WHERE n = src_n), type, (SELECT id FROM nodes WHERE n = dst_n)",
            (t, by, node_retraction_reason(node_id, reason), number, number),
        ).fetchall()
        return [(r[0], _EDGE[r[1]], r[2]) for r in rows]

    def retract_edge(self, key: tuple[str, EdgeType, str], at: datetime, by: str, reason: str) -> None:
        self.c.execute(
            "UPDATE edges SET retracted_at = ?, retracted_by = ?, retract_reason = ? "
            "WHERE src_n = (SELECT n FROM nodes WHERE id = ?) AND type = ? "
            "AND dst_n = (SELECT n FROM nodes WHERE id = ?)",
            (to_us(at), by, reason, key[0], key[1].value, key[2]),
        )

    def append_audit(self, entry: AuditEntry) -> None:
        self._head = None  # read again if asked: the insert below may still fail
        subjects = _json(list(entry.subjects))
        self.c.execute(
            "INSERT INTO audit (seq, at, principal, source, action, subjects, payload, payload_digest, "
            "prev_hash, hash, writes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.seq,
                to_us(entry.at),
                entry.principal,
                entry.source,
                entry.action,
                subjects,
                entry.payload_text(),
                entry.payload_digest,
                entry.prev_hash,
                entry.hash,
                _json(entry.writes) if entry.writes is not None else None,
            ),
        )
        if len(entry.subjects) >= JSON_ROWS_MIN:  # the list just stored, read back by SQLite in one statement
            self.c.execute(_SUBJECTS_FROM_JSON, (subjects, entry.seq))
        else:
            self.c.executemany(
                "INSERT OR IGNORE INTO audit_subjects (subject, seq) VALUES (?, ?)",
                [(s, entry.seq) for s in sorted(entry.subjects)],
            )
        self._head = (entry.seq, entry.hash, to_us(entry.at))

    def put_token(self, token: TokenRecord) -> None:
        self.c.execute(
            "INSERT INTO tokens (name, role, namespaces, secret_hash, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                token.name,
                token.role,
                _json(list(token.namespaces)),
                token.secret_hash,
                to_us(token.created_at),
                token.created_by,
            ),
        )

    def revoke_token(self, name: str, at: datetime) -> bool:
        cur = self.c.execute(
            "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (to_us(at), name)
        )
        return cur.rowcount > 0

    def insert_raw_events(self, source: str, texts: Sequence[str], at: datetime) -> list[int]:
        t = to_us(at)
        return [
            int(
                self.c.execute(
                    "INSERT INTO raw_events (received_at, source, payload) VALUES (?, ?, ?)", (t, source, text)
                ).lastrowid
                or 0
            )
            for text in texts
        ]


class SQLiteStore(GraphStore):
    """Graph store in one SQLite file (WAL)."""

    def __init__(
        self, url: str, *, busy_timeout_s: float = 60.0, create: bool = True, synchronous: str = "full"
    ) -> None:
        """``synchronous``: ``full`` (default) makes every commit durable on disk before it returns;
        ``normal`` keeps commits atomic and safe from a crashed or killed process, but the last
        ones may be lost on power loss or an OS crash (SQLite's WAL ``synchronous=NORMAL``)."""
        if synchronous.lower() not in _SYNCHRONOUS:
            raise ValidationError(
                f"sqlite synchronous {synchronous!r}: expected one of {', '.join(_SYNCHRONOUS)}",
                details={"element": "synchronous", "rule": "choice"},
            )
        self.synchronous = synchronous.lower()
        self.url = url
        self.path = sqlite_path(url)
        self._busy = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._index: TraversalIndex | None = None
        self._checkpointer = Checkpointer(self.path, _SYNCHRONOUS[self.synchronous], busy_timeout_s)
        #: The file sits on media this process cannot write (a read-only mount, an archive copy):
        #: open it immutable, so reading needs no lock files and never writes.
        self.read_only = self.path.exists() and not os.access(self.path.parent or ".", os.W_OK)
        wal = self.path.with_name(self.path.name + "-wal")
        if self.read_only and wal.exists() and wal.stat().st_size > 0:
            raise BackendUnavailableError(
                f"store {url!r} is on read-only media with writes still in its write-ahead log ({wal.name}); "
                "copy the store files to writable storage and open the copy"
            )
        if not create and not self.path.exists():
            raise BackendUnavailableError(f"no store file at {self.path}; run `lineage demo` or register first")
        if self.path.parent and not self.path.parent.exists():
            raise BackendUnavailableError(f"cannot open store {url!r}: directory {self.path.parent} does not exist")
        conn = self._conn()
        try:
            # Creating the schema takes the write lock. Skip it when this very DDL was applied
            # already, so that opening a store to read never waits for a long write to finish.
            stored = _stored_version(conn)
            if stored is not None and stored > SCHEMA_VERSION:
                raise BackendUnavailableError(
                    f"store {url!r} was written by a newer version of lineage (store schema {stored}; this "
                    f"version reads schema {SCHEMA_VERSION} and earlier): upgrade lineage to open it"
                )
            # Read-only media cannot be upgraded, and this version's queries need version 4's layout.
            if self.read_only and stored is not None and stored < SCHEMA_VERSION:
                raise BackendUnavailableError(
                    f"store {url!r} has schema {stored} and is on read-only media, where it cannot be upgraded "
                    f"to schema {SCHEMA_VERSION}: copy the store files to writable storage and open the copy"
                )
            if not (self.read_only and stored is not None) and not _schema_applied(conn):
                # Rebuilding an older store's tables sorts every row into new indexes: in temporary
                # files, not in memory, so that a large store's upgrade does not hold it all in RAM.
                conn.execute("PRAGMA temp_store=FILE")
                try:
                    with self._immediate(conn):
                        upgrade(conn)
                        for statement in DDL.split(";\n"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.execute(
                            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),),
                        )
                        conn.execute(
                            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_ddl', ?)", (_DDL_DIGEST,)
                        )
                finally:
                    conn.execute("PRAGMA temp_store=MEMORY")
        except sqlite3.DatabaseError as exc:
            raise BackendUnavailableError(f"cannot open store {url!r}: {exc}") from None

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self.connect(manual=True, check_same_thread=False)
                if not self.read_only:
                    conn.execute("PRAGMA journal_mode=WAL")
                    # A log that grew for a large write is cut back to this size when it starts over.
                    conn.execute(f"PRAGMA journal_size_limit={LOG_SIZE_LIMIT}")
                    conn.execute(f"PRAGMA wal_autocheckpoint={SMALL_COMMIT_PAGES}")
                conn.execute(_SYNCHRONOUS[self.synchronous])
                conn.execute(f"PRAGMA busy_timeout={int(self._busy * 1000)}")
                conn.execute("PRAGMA cache_size=-65536")
                conn.execute("PRAGMA temp_store=MEMORY")
                # SQLite's lower() and LIKE fold ASCII only; search needs Unicode case folding.
                conn.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
            except sqlite3.Error as exc:
                raise BackendUnavailableError(f"cannot open store {self.url!r}: {exc}") from None
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def connect(self, *, manual: bool = False, check_same_thread: bool = True) -> sqlite3.Connection:
        """A new connection to the file (immutable on read-only media); sqlite3.Error when it fails.

        ``manual``: transactions are begun and ended by the caller (no implicit BEGIN).
        """
        isolation_level: Literal["DEFERRED"] | None = None if manual else "DEFERRED"
        if self.read_only:
            return sqlite3.connect(
                f"{self.path.resolve().as_uri()}?immutable=1",
                uri=True,
                isolation_level=isolation_level,
                check_same_thread=check_same_thread,
            )
        return sqlite3.connect(
            self.path, timeout=self._busy, isolation_level=isolation_level, check_same_thread=check_same_thread
        )

    @contextmanager
    def _immediate(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        changes = conn.total_changes
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise BackendUnavailableError(f"store {self.url!r} is busy or unavailable: {exc}") from None
        try:
            yield conn
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            self._rollback(conn)
            if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
                raise
            raise self._write_failed(exc) from None
        except BaseException:
            self._rollback(conn)
            raise
        try:  # a large write's pages are copied into the database file in the background
            self._checkpointer.commit(conn, conn.total_changes - changes)
        except sqlite3.Error as exc:  # e.g. the disk filled up while committing: nothing was written
            self._rollback(conn)
            raise self._write_failed(exc) from None

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        """Roll back what is left of a transaction (SQLite may have rolled back already)."""
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _write_failed(self, exc: sqlite3.Error) -> BackendUnavailableError:
        where = " (the store is on read-only media)" if self.read_only else ""
        return BackendUnavailableError(f"store {self.url!r} could not be written{where}; nothing was changed: {exc}")

    def close(self) -> None:
        self._checkpointer.close()
        self._checkpointer = Checkpointer(self.path, _SYNCHRONOUS[self.synchronous], self._busy)
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def traversal_index(self) -> TraversalIndex:
        """The traversal index over this file, built on first use and caught up on every call."""
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    from lineage.storage.index import TraversalIndex  # numpy: only when traversing
                    from lineage.storage.sqlite_index import SQLiteIndexFeed

                    self._index = TraversalIndex(SQLiteIndexFeed(self))
                index = self._index
        index.sync()
        return index

    def ping(self) -> None:
        try:
            self._conn().execute("SELECT 1 FROM meta LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"store {self.url!r} unavailable: {exc}") from None

    @contextmanager
    def write(self) -> Iterator[_Tx]:
        with self._immediate(self._conn()) as conn:
            yield _Tx(conn)

    def _q(self, sql: str, params: Any = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise BackendUnavailableError(f"store {self.url!r} unavailable: {exc}") from None

    # -- reads -------------------------------------------------------------------------------

    def _records(self, rows: list[Any], as_of: datetime | None) -> list[NodeRecord]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        ann: dict[str, dict[str, list[str]]] = {}
        for node_id, key, value in self._q(
            f"SELECT a.node_id, a.key, a.value FROM json_each(:ids) f CROSS JOIN annotations a ON a.node_id = f.value "
            f"WHERE a.key IN ('owner', 'tag') AND {_A_VISIBLE} ORDER BY a.value",
            {"ids": _json(ids), "t": _t(as_of)},
        ):
            ann.setdefault(node_id, {}).setdefault(key, []).append(value)
        revs: dict[str, tuple[str, int | None]] = {}
        if as_of is not None:
            for node_id, props, event_time in self._q(
                "SELECT f.value, r.properties, r.event_time FROM json_each(:ids) f JOIN node_revisions r "
                "ON r.node_id = f.value AND r.recorded_at = (SELECT max(recorded_at) FROM node_revisions "
                "WHERE node_id = f.value AND recorded_at <= :t)",
                {"ids": _json(ids), "t": _t(as_of)},
            ):
                revs[node_id] = (props, event_time)
        out = []
        recorded: dict[int, datetime] = {}  # a batch's nodes share their recording time
        no_ann: dict[str, list[str]] = {}
        for r in rows:
            props, event_time = revs.get(r[0], (r[5], r[6])) if revs else (r[5], r[6])
            a = ann.get(r[0], no_ann)
            # As of a time before the retraction, the record reads as it did then: no trace of it.
            retracted = r[9] is not None and (as_of is None or r[9] <= _t(as_of))
            recorded_at = recorded.get(r[7])
            if recorded_at is None:
                recorded_at = recorded[r[7]] = _req(r[7])
            out.append(
                NodeRecord(
                    r[0],
                    _KIND[r[1]],
                    r[2],
                    r[3],
                    r[4],
                    _loads_json(props),
                    tuple(a.get("owner", ())),
                    tuple(a.get("tag", ())),
                    from_us(event_time),
                    recorded_at,
                    r[8],
                    from_us(r[9]) if retracted else None,
                    r[10] if retracted else None,
                    r[11] if retracted else None,
                )
            )
        return out

    def get_nodes(self, ids: Sequence[str], as_of: datetime | None = None) -> dict[str, NodeRecord]:
        rows = self._q(
            f"SELECT {_NODE_COLS} FROM json_each(:ids) f JOIN nodes n ON n.id = f.value WHERE {_VISIBLE}",
            {"ids": _json(list(ids)), "t": _t(as_of)},
        )
        return {r.id: r for r in self._records(rows, as_of)}

    def owners_of(self, ids: Sequence[str], as_of: datetime | None = None) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for node_id, value in self._q(
            "SELECT a.node_id, a.value FROM json_each(:ids) f CROSS JOIN annotations a ON a.node_id = f.value "
            f"AND a.key = 'owner' WHERE {_A_VISIBLE} ORDER BY a.value",
            {"ids": _json(list(ids)), "t": _t(as_of)},
        ):
            found.setdefault(node_id, []).append(value)
        return {k: tuple(v) for k, v in found.items()}

    def get_node_any(self, node_id: str) -> NodeRecord | None:
        rows = self._q(f"SELECT {_NODE_COLS} FROM nodes n WHERE n.id = ?", (node_id,))
        recs = self._records(rows, None)
        return recs[0] if recs else None

    def expand(self, frontier: Sequence[str], direction: Direction, as_of: datetime | None = None) -> list[Hop]:
        if direction is Direction.DOWNSTREAM:
            sql = (
                f"SELECT s.id, e.type, d.id, e.dst_kind FROM json_each(:f) f CROSS JOIN {_OUT_OF} "
                f"WHERE s.id = f.value AND {_E_VISIBLE}"
            )
        else:
            sql = (
                f"SELECT d.id, e.type, s.id, e.src_kind FROM json_each(:f) f CROSS JOIN {_INTO} "
                f"WHERE d.id = f.value AND {_E_VISIBLE}"
            )
        rows = self._q(sql, {"f": _json(list(frontier)), "t": _t(as_of)})
        return [Hop(r[0], _EDGE[r[1]], r[2], _KIND[r[3]]) for r in rows]

    def _edge(self, r: Any, as_of: datetime | None = None) -> EdgeRecord:
        # As of a time before the retraction, the edge reads as it did then (see _records).
        retracted = r[7] is not None and (as_of is None or r[7] <= _t(as_of))
        return EdgeRecord(
            r[0],
            _EDGE[r[1]],
            r[2],
            _loads_json(r[3]),
            from_us(r[4]),
            _req(r[5]),
            r[6],
            from_us(r[7]) if retracted else None,
            r[8] if retracted else None,
            r[9] if retracted else None,
        )

    def node_edges(
        self, node_id: str, as_of: datetime | None = None, include_retracted: bool = False
    ) -> list[EdgeRecord]:
        where = "1" if include_retracted else _E_VISIBLE
        rows = self._q(
            f"SELECT {_EDGE_COLS} FROM {_OUT_OF} WHERE s.id = :id AND {where} UNION ALL "
            f"SELECT {_EDGE_COLS} FROM {_INTO} WHERE d.id = :id AND {where} "
            "ORDER BY 2, 1, 3",
            {"id": node_id, "t": _t(as_of)},
        )
        return [self._edge(r, as_of) for r in rows]

    def get_edge_any(self, key: tuple[str, EdgeType, str]) -> EdgeRecord | None:
        rows = self._q(
            f"SELECT {_EDGE_COLS} FROM {_OUT_OF} WHERE s.id = ? AND e.type = ? AND d.id = ?",
            (key[0], key[1].value, key[2]),
        )
        return self._edge(rows[0]) if rows else None

    def revisions(self, node_id: str) -> list[Revision]:
        rows = self._q(
            "SELECT recorded_at, recorded_by, properties, event_time FROM node_revisions WHERE node_id = ? "
            "ORDER BY recorded_at",
            (node_id,),
        )
        return [Revision(_req(r[0]), r[1], json.loads(r[2]), from_us(r[3])) for r in rows]

    def annotations(self, node_id: str, include_retracted: bool = True) -> list[Annotation]:
        rows = self._q(
            "SELECT node_id, key, value, recorded_at, recorded_by, retracted_at, retracted_by FROM annotations "
            "WHERE node_id = ? AND (? OR retracted_at IS NULL) ORDER BY recorded_at, key, value",
            (node_id, include_retracted),
        )
        return [Annotation(r[0], r[1], r[2], _req(r[3]), r[4], from_us(r[5]), r[6]) for r in rows]

    def search(
        self, text: str, kinds: Sequence[NodeKind] = (), limit: int = 50, as_of: datetime | None = None
    ) -> list[NodeRecord]:
        needle = text.strip().lower()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # ASCII text: the built-in lower() and LIKE fold case correctly and fast. Other text (É, Ü,
        # ...) needs the Unicode folding of unicode_lower on both sides.
        low = "lower" if needle.isascii() else "unicode_lower"
        rows = self._q(
            f"SELECT {_NODE_COLS} FROM nodes n WHERE ({low}(n.name) LIKE :p ESCAPE '\\' "
            f"OR {low}(n.id) LIKE :p ESCAPE '\\') "
            f"AND {_VISIBLE} AND (:nk = 0 OR n.kind IN (SELECT value FROM json_each(:kinds))) "
            f"ORDER BY {low}(n.name) != :exact, instr({low}(n.name), :exact) = 0, length(n.id), n.id LIMIT :limit",
            {
                "p": pattern,
                "t": _t(as_of),
                "nk": len(kinds),
                "kinds": _json([k.value for k in kinds]),
                "exact": needle,
                "limit": limit,
            },
        )
        return self._records(rows, as_of)

    def list_nodes(
        self, filt: NodeFilter, after: str | None = None, limit: int = 100, as_of: datetime | None = None
    ) -> list[NodeRecord]:
        prefix = (filt.name_prefix or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._q(
            f"SELECT {_NODE_COLS} FROM nodes n WHERE {_VISIBLE} AND n.id > :after "
            "AND (:nk = 0 OR n.kind IN (SELECT value FROM json_each(:kinds))) "
            "AND (:ns IS NULL OR n.namespace = :ns) AND n.name LIKE :prefix ESCAPE '\\' "
            "AND (:since IS NULL OR n.recorded_at >= :since) AND (:until IS NULL OR n.recorded_at <= :until) "
            f"AND (:tag IS NULL OR EXISTS (SELECT 1 FROM annotations a WHERE a.node_id = n.id AND a.key = 'tag' "
            f"AND a.value = :tag AND {_A_VISIBLE})) "
            f"AND (:owner IS NULL OR EXISTS (SELECT 1 FROM annotations a WHERE a.node_id = n.id "
            f"AND a.key = 'owner' AND a.value = :owner AND {_A_VISIBLE})) "
            "ORDER BY n.id LIMIT :limit",
            {
                "t": _t(as_of),
                "after": after or "",
                "nk": len(filt.kinds),
                "kinds": _json([k.value for k in filt.kinds]),
                "ns": filt.namespace,
                "prefix": prefix,
                "since": to_us(filt.recorded_since) if filt.recorded_since else None,
                "until": to_us(filt.recorded_until) if filt.recorded_until else None,
                "tag": filt.tag,
                "owner": filt.owner,
                "limit": limit,
            },
        )
        return self._records(rows, as_of)

    def nodes_with_annotation(self, key: str, value: str, as_of: datetime | None = None) -> list[str]:
        rows = self._q(
            f"SELECT DISTINCT a.node_id FROM annotations a JOIN nodes n ON n.id = a.node_id "
            f"WHERE a.key = :k AND a.value = :v AND {_A_VISIBLE} AND {_VISIBLE} ORDER BY a.node_id",
            {"k": key, "v": value, "t": _t(as_of)},
        )
        return [r[0] for r in rows]

    def audit_entries(self, filt: AuditFilter | None = None) -> list[AuditEntry]:
        filt = filt or AuditFilter()
        rows = self._q(
            "SELECT seq, at, principal, source, action, subjects, payload, payload_digest, prev_hash, hash, writes "
            "FROM audit WHERE seq > :after AND (:p IS NULL OR principal = :p) "
            "AND (:a IS NULL OR action = :a) "
            "AND (:since IS NULL OR at >= :since) AND (:until IS NULL OR at <= :until) "
            "AND (:s IS NULL OR seq IN (SELECT seq FROM audit_subjects WHERE subject = :s)) "
            "ORDER BY seq LIMIT :limit",
            {
                "after": filt.after_seq,
                "p": filt.principal,
                "a": filt.action,
                "s": filt.subject,
                "since": to_us(filt.since) if filt.since else None,
                "until": to_us(filt.until) if filt.until else None,
                "limit": filt.limit,
            },
        )
        return [audit_entry_of(r) for r in rows]

    def iter_audit(self) -> Iterator[AuditEntry]:
        conn = self.connect()
        try:
            cur = conn.execute(
                "SELECT seq, at, principal, source, action, subjects, payload, payload_digest, prev_hash, hash, writes "
                "FROM audit ORDER BY seq"
            )
            for r in cur:
                yield audit_entry_of(r)
        finally:
            conn.close()

    def counts(self) -> dict[str, int]:
        row = self._q(
            "SELECT (SELECT count(*) FROM nodes), (SELECT count(*) FROM edges), (SELECT count(*) FROM audit), "
            "(SELECT count(*) FROM raw_events), (SELECT count(*) FROM nodes WHERE retracted_at IS NULL), "
            "(SELECT count(*) FROM edges WHERE retracted_at IS NULL)"
        )[0]
        return {
            "nodes": row[0],
            "edges": row[1],
            "audit_entries": row[2],
            "raw_events": row[3],
            "current_nodes": row[4],
            "current_edges": row[5],
        }

    def _token(self, r: Any) -> TokenRecord:
        return TokenRecord(r[0], r[1], tuple(json.loads(r[2])), r[3], _req(r[4]), r[5], from_us(r[6]))

    def tokens(self) -> list[TokenRecord]:
        rows = self._q(
            "SELECT name, role, namespaces, secret_hash, created_at, created_by, revoked_at "
            "FROM tokens ORDER BY created_at"
        )
        return [self._token(r) for r in rows]

    def find_token(self, secret_hash: str) -> TokenRecord | None:
        rows = self._q(
            "SELECT name, role, namespaces, secret_hash, created_at, created_by, revoked_at "
            "FROM tokens WHERE secret_hash = ?",
            (secret_hash,),
        )
        return self._token(rows[0]) if rows else None

    def iter_raw_events(self, after_seq: int = 0) -> Iterator[RawEvent]:
        conn = self.connect()
        try:
            for r in conn.execute(
                "SELECT seq, received_at, source, payload FROM raw_events WHERE seq > ? ORDER BY seq",
                (after_seq,),
            ):
                yield RawEvent(r[0], _req(r[1]), r[2], json.loads(r[3]))
        finally:
            conn.close()

    def export_section(self, section: Section, batch_size: int = 5_000) -> Iterator[list[Any]]:
        from lineage.storage import sqlite_bulk

        return sqlite_bulk.export_section(self, section, batch_size)

    def import_section(self, section: Section, records: Sequence[Any]) -> None:
        from lineage.storage import sqlite_bulk

        sqlite_bulk.import_section(self, section, records)

    def audit_rows(self) -> AbstractContextManager[SQLiteRows]:
        from lineage.storage.sqlite_verify import snapshot

        return snapshot(self.path, self.url, self._busy, immutable=self.read_only)

    def file_size(self) -> int:
        return sum(os.path.getsize(p) for p in (self.path, Path(f"{self.path}-wal")) if os.path.exists(p))
