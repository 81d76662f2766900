"""DDL of the embedded store. Times are integer microseconds since the epoch, UTC.

Version 2 adds ``audit.writes`` (what each entry wrote, see :mod:`lineage.audit.facts`); a
version 1 store gains the column when opened, and its older entries keep none.

Version 3 keeps ``nodes`` and ``node_revisions`` as rowid tables, their text keys in an index of
their own. Their rows are large (a node's properties, a revision's), and a WITHOUT ROWID table
keeps whole rows in its interior pages too: few keys per page, deep trees, rows spilling onto
overflow pages, so each write dirtied several pages. In a rowid table new rows are appended and only
the key index takes a random insert. :func:`upgrade` rebuilds the tables of an older store.

Version 4 numbers nodes (``nodes.n``, an ``INTEGER PRIMARY KEY``: stable, never reused) and keys
``edges`` by those numbers (``src_n``, ``dst_n``) instead of the text ids. An edge's two B-trees then
hold keys of a few bytes, not two ids of tens of bytes each, and a batch's new edges land at the end
of the trees (its nodes' numbers are the newest) instead of at random pages throughout: at a million
nodes the edge inserts were most of a bulk batch's time (bench/edge_keys.py). Reads join ``nodes``
on its number to get the ids back. Version 4 also drops two indexes of ``nodes`` that no query
used, on ``name`` and on ``(namespace, name)``.

A store whose ``meta.schema_version`` is later than :data:`SCHEMA_VERSION` was written by a newer
release: it is refused rather than rewritten to this schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 4

_NODES = """(
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT,
    properties TEXT NOT NULL,
    event_time INTEGER,
    recorded_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    retracted_at INTEGER,
    retracted_by TEXT,
    retract_reason TEXT
)"""
_NODE_REVISIONS = """(
    node_id TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    properties TEXT NOT NULL,
    event_time INTEGER,
    PRIMARY KEY (node_id, recorded_at)
)"""
_EDGES = """(
    src_n INTEGER NOT NULL,
    type TEXT NOT NULL,
    dst_n INTEGER NOT NULL,
    src_kind TEXT NOT NULL,
    dst_kind TEXT NOT NULL,
    properties TEXT NOT NULL,
    event_time INTEGER,
    recorded_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    retracted_at INTEGER,
    retracted_by TEXT,
    retract_reason TEXT,
    PRIMARY KEY (src_n, type, dst_n)
) WITHOUT ROWID"""
DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS nodes {_NODES};
CREATE INDEX IF NOT EXISTS nodes_kind ON nodes (kind, id);
CREATE INDEX IF NOT EXISTS nodes_recorded ON nodes (recorded_at);

CREATE TABLE IF NOT EXISTS node_revisions {_NODE_REVISIONS};

CREATE TABLE IF NOT EXISTS edges {_EDGES};
CREATE INDEX IF NOT EXISTS edges_in ON edges (dst_n, type, src_n, src_kind, recorded_at, retracted_at);

CREATE TABLE IF NOT EXISTS annotations (
    node_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    retracted_at INTEGER,
    retracted_by TEXT,
    PRIMARY KEY (node_id, key, value, recorded_at)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS annotations_value ON annotations (key, value);

CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    principal TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    subjects TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_digest TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    writes TEXT
);
CREATE INDEX IF NOT EXISTS audit_principal ON audit (principal, seq);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE TABLE IF NOT EXISTS audit_subjects (
    subject TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (subject, seq)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE IF NOT EXISTS tokens (
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    namespaces TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE IF NOT EXISTS raw_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""


_COPY_REVISIONS = (
    "INSERT INTO node_revisions_new SELECT node_id, recorded_at, recorded_by, properties, event_time "
    "FROM node_revisions ORDER BY recorded_at"
)
_COPY_NODES = (
    "INSERT INTO nodes_new (n, id, kind, namespace, name, version, properties, event_time, recorded_at, "
    "recorded_by, retracted_at, retracted_by, retract_reason) SELECT {n}, id, kind, namespace, name, version, "
    "properties, event_time, recorded_at, recorded_by, retracted_at, retracted_by, retract_reason FROM nodes "
)
#: Version 3 nodes keep their rowids as numbers; version 2 nodes (no rowid) are numbered as recorded.
_NUMBER_NODES = _COPY_NODES.format(n="rowid") + "ORDER BY rowid"
_NUMBER_NODES_V2 = _COPY_NODES.format(n="NULL") + "ORDER BY recorded_at, id"
#: Edges in their new key order without a sort (which would hold every edge in memory): nodes in
#: number order, each one's edges from the old key's index on ``src``.
_KEY_EDGES = (
    "INSERT INTO edges_new (src_n, type, dst_n, src_kind, dst_kind, properties, event_time, recorded_at, "
    "recorded_by, retracted_at, retracted_by, retract_reason) SELECT s.n, e.type, d.n, e.src_kind, e.dst_kind, "
    "e.properties, e.event_time, e.recorded_at, e.recorded_by, e.retracted_at, e.retracted_by, e.retract_reason "
    "FROM nodes s CROSS JOIN edges e ON e.src = s.id LEFT JOIN nodes d ON d.id = e.dst ORDER BY s.n"
)
_TABLES = {"nodes": _NODES, "node_revisions": _NODE_REVISIONS, "edges": _EDGES}


def _table_sql(conn: sqlite3.Connection, table: str) -> str:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return "" if row is None else str(row[0]).upper()


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}


def _every_edge_kept(conn: sqlite3.Connection) -> None:
    """An edge whose endpoint is not a node (an edited file) stops the upgrade, which then changes
    nothing, rather than be dropped: a missing target fails the NOT NULL, a missing source is
    counted here."""
    old, new = conn.execute("SELECT (SELECT count(*) FROM edges), (SELECT count(*) FROM edges_new)").fetchone()
    if old != new:
        raise sqlite3.IntegrityError(f"{old - new} edge(s) name a source that is not a node: upgrade stopped")


def _replace(
    conn: sqlite3.Connection, table: str, fill: str, check: Callable[[sqlite3.Connection], None] | None = None
) -> None:
    """Rebuild ``table`` in this version's layout, filled by ``fill`` (an INSERT into ``<table>_new``)."""
    conn.execute(f"CREATE TABLE {table}_new {_TABLES[table]}")
    conn.execute(fill)
    if check is not None:
        check(conn)
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {table}_new RENAME TO {table}")


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring a store of an earlier version to this one; inside the caller's write transaction,
    before :data:`DDL` (which then recreates the indexes of the rebuilt tables). Rows keep their
    order of arrival."""
    if "WITHOUT ROWID" in _table_sql(conn, "node_revisions"):  # version 2
        _replace(conn, "node_revisions", _COPY_REVISIONS)
    nodes = _table_sql(conn, "nodes")
    if nodes and "n" not in _columns(conn, "nodes"):  # version 3 or earlier
        _replace(conn, "nodes", _NUMBER_NODES_V2 if "WITHOUT ROWID" in nodes else _NUMBER_NODES)
    if _table_sql(conn, "edges") and "src_n" not in _columns(conn, "edges"):
        _replace(conn, "edges", _KEY_EDGES, check=_every_edge_kept)
    # No query reads these two (search folds case, listing walks ids in order); each cost a random
    # insert per node.
    conn.execute("DROP INDEX IF EXISTS nodes_ns_name")
    conn.execute("DROP INDEX IF EXISTS nodes_name")
    audit = _columns(conn, "audit")
    if audit and "writes" not in audit:  # a version 1 store
        conn.execute("ALTER TABLE audit ADD COLUMN writes TEXT")
