"""DDL of the embedded store. Times are integer microseconds since the epoch, UTC.

Version 2 adds ``audit.writes`` (what each entry wrote, see :mod:`lineage.audit.facts`); a
version 1 store gains the column when opened, and its older entries keep none.

Version 3 keeps ``nodes`` and ``node_revisions`` as rowid tables, their text keys in an index of
their own. Their rows are large (a node's properties, a revision's), and a WITHOUT ROWID table
keeps whole rows in its interior pages too: few keys per page, deep trees, rows spilling onto
overflow pages, so each write dirtied several pages. In a rowid table new rows are appended and only
the key index takes a random insert. :func:`upgrade` rebuilds the two tables of an older store.

A store whose ``meta.schema_version`` is later than :data:`SCHEMA_VERSION` was written by a newer
release: it is refused rather than rewritten to this schema.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 3

_NODES = """(
    id TEXT NOT NULL PRIMARY KEY,
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
DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS nodes {_NODES};
CREATE INDEX IF NOT EXISTS nodes_kind ON nodes (kind, id);
CREATE INDEX IF NOT EXISTS nodes_ns_name ON nodes (namespace, name);
CREATE INDEX IF NOT EXISTS nodes_name ON nodes (name);
CREATE INDEX IF NOT EXISTS nodes_recorded ON nodes (recorded_at);

CREATE TABLE IF NOT EXISTS node_revisions {_NODE_REVISIONS};

CREATE TABLE IF NOT EXISTS edges (
    src TEXT NOT NULL,
    type TEXT NOT NULL,
    dst TEXT NOT NULL,
    src_kind TEXT NOT NULL,
    dst_kind TEXT NOT NULL,
    properties TEXT NOT NULL,
    event_time INTEGER,
    recorded_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    retracted_at INTEGER,
    retracted_by TEXT,
    retract_reason TEXT,
    PRIMARY KEY (src, type, dst)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_in ON edges (dst, type, src, src_kind, recorded_at, retracted_at);

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


#: How version 3 rebuilds each table an older store kept WITHOUT ROWID (rows in time order).
_REBUILD = {
    "nodes": (
        "CREATE TABLE nodes_v3 " + _NODES,
        "INSERT INTO nodes_v3 SELECT id, kind, namespace, name, version, properties, event_time, recorded_at, "
        "recorded_by, retracted_at, retracted_by, retract_reason FROM nodes ORDER BY recorded_at",
        "DROP TABLE nodes",
        "ALTER TABLE nodes_v3 RENAME TO nodes",
    ),
    "node_revisions": (
        "CREATE TABLE node_revisions_v3 " + _NODE_REVISIONS,
        "INSERT INTO node_revisions_v3 SELECT node_id, recorded_at, recorded_by, properties, event_time "
        "FROM node_revisions ORDER BY recorded_at",
        "DROP TABLE node_revisions",
        "ALTER TABLE node_revisions_v3 RENAME TO node_revisions",
    ),
}


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring a store of an earlier version to this one; inside the caller's write transaction,
    before :data:`DDL` (which then recreates the indexes of the rebuilt tables)."""
    for table, statements in _REBUILD.items():
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        if row is None or "WITHOUT ROWID" not in row[0].upper():
            continue  # a new store, or one already at version 3
        for statement in statements:
            conn.execute(statement)
    audit = {r[1] for r in conn.execute("PRAGMA table_info(audit)")}
    if audit and "writes" not in audit:  # a version 1 store
        conn.execute("ALTER TABLE audit ADD COLUMN writes TEXT")
