"""DDL of the embedded store. Times are integer microseconds since the epoch, UTC.

Version 2 adds ``audit.writes`` (what each entry wrote, see :mod:`lineage.audit.facts`); a
version 1 store gains the column when opened, and its older entries keep none.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
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
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nodes_kind ON nodes (kind, id);
CREATE INDEX IF NOT EXISTS nodes_ns_name ON nodes (namespace, name);
CREATE INDEX IF NOT EXISTS nodes_name ON nodes (name);
CREATE INDEX IF NOT EXISTS nodes_recorded ON nodes (recorded_at);

CREATE TABLE IF NOT EXISTS node_revisions (
    node_id TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    properties TEXT NOT NULL,
    event_time INTEGER,
    PRIMARY KEY (node_id, recorded_at)
) WITHOUT ROWID;

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
