"""A store written by an earlier version opens with this one: upgraded in place, every row kept.

Version 2 kept ``nodes`` and ``node_revisions`` WITHOUT ROWID; version 3 rebuilds them as rowid
tables when the file is opened for writing. :func:`as_version_2` turns a store made by this code
into the version 2 layout, so the test does not depend on an old release being installed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from lineage.demo import build_demo_batch
from lineage.storage import open_store
from lineage.storage.base import Section

_V2 = """
BEGIN;
CREATE TABLE nodes_v2 (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, version TEXT,
    properties TEXT NOT NULL, event_time INTEGER, recorded_at INTEGER NOT NULL, recorded_by TEXT NOT NULL,
    retracted_at INTEGER, retracted_by TEXT, retract_reason TEXT
) WITHOUT ROWID;
INSERT INTO nodes_v2 SELECT * FROM nodes;
DROP TABLE nodes;
ALTER TABLE nodes_v2 RENAME TO nodes;
CREATE INDEX nodes_kind ON nodes (kind, id);
CREATE INDEX nodes_ns_name ON nodes (namespace, name);
CREATE INDEX nodes_name ON nodes (name);
CREATE INDEX nodes_recorded ON nodes (recorded_at);
CREATE TABLE node_revisions_v2 (
    node_id TEXT NOT NULL, recorded_at INTEGER NOT NULL, recorded_by TEXT NOT NULL, properties TEXT NOT NULL,
    event_time INTEGER, PRIMARY KEY (node_id, recorded_at)
) WITHOUT ROWID;
INSERT INTO node_revisions_v2 SELECT * FROM node_revisions;
DROP TABLE node_revisions;
ALTER TABLE node_revisions_v2 RENAME TO node_revisions;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
UPDATE meta SET value = 'v2' WHERE key = 'schema_ddl';
COMMIT;
"""


_OPEN_AND_CLOSE = "import sys; from lineage.storage import open_store; open_store(sys.argv[1]).close(); print('done')"


def as_version_2(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(_V2)
    finally:
        conn.close()


def _layout(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        tables = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    finally:
        conn.close()
    return {"tables": tables, "indexes": indexes, "version": version}


def _everything(url: str) -> dict[Section, list[Any]]:
    with open_store(url) as s:
        return {section: [r for chunk in s.export_section(section) for r in chunk] for section in Section}


def _populated(path: Path) -> str:
    url = f"sqlite:///{path}"
    with open_store(url) as s:
        batch = build_demo_batch()
        s.register(batch, principal="user:ann")
        first = batch.nodes[0]
        changed = first.model_copy(update={"properties": {**first.properties, "note": "revised"}})
        s.register(batch.model_copy(update={"nodes": [changed], "edges": []}), principal="user:bob")
        s.annotate(first.id, "tag", add=["before-upgrade"], principal="user:ann")
    return url


def test_a_version_2_store_is_rebuilt_as_version_3_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    url = _populated(path)
    before = _everything(url)
    as_version_2(path)
    assert "WITHOUT ROWID" in _layout(path)["tables"]["nodes"]
    with open_store(url) as s:
        layout = _layout(path)
        assert layout["version"] == "3"
        for table in ("nodes", "node_revisions"):
            assert "WITHOUT ROWID" not in layout["tables"][table].upper()
        assert {"nodes_kind", "nodes_ns_name", "nodes_name", "nodes_recorded"} <= layout["indexes"]
        assert not any(name.endswith(("_v2", "_v3")) for name in layout["tables"])
        assert s.verify_store().ok
    assert _everything(url) == before
    assert len(before[Section.REVISIONS]) > len(before[Section.NODES])  # the revision made above is kept


def test_an_upgraded_store_takes_writes_and_its_record_still_proves_the_graph(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    url = _populated(path)
    as_version_2(path)
    with open_store(url) as s:
        node = build_demo_batch().nodes[1]
        s.annotate(node.id, "tag", add=["after-upgrade"], principal="user:ann")
        again = node.model_copy(update={"properties": {**node.properties, "note": "after"}})
        s.register(build_demo_batch().model_copy(update={"nodes": [again], "edges": []}), principal="user:ann")
        assert s.get_node(node.id).properties["note"] == "after"
        result = s.verify_store()
        assert result.ok, result


def test_an_upgrade_killed_half_way_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    """The upgrade is one transaction: a process killed (SIGKILL) while it writes leaves the version
    2 store whole, and the next open upgrades it with every row."""
    import signal
    import subprocess
    import sys
    import time

    from lineage.model import Batch, NodeKind, NodeSpec

    path = tmp_path / "big.db"
    url = f"sqlite:///{path}"
    blob = "x" * 2_000
    with open_store(url) as s:  # enough rows that the rebuild writes megabytes to the log
        nodes = [
            NodeSpec(kind=NodeKind.DATASET, namespace="big", name=f"d{i}", version="1", properties={"blob": blob})
            for i in range(20_000)
        ]
        s.register(Batch(nodes=nodes), principal="user:ann")
    before = _everything(url)
    as_version_2(path)
    wal = Path(f"{path}-wal")
    for _attempt in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", _OPEN_AND_CLOSE, url],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            while proc.poll() is None and (wal.stat().st_size if wal.exists() else 0) < 2_000_000:
                time.sleep(0.002)
            proc.send_signal(signal.SIGKILL)
            out = proc.communicate()[0]
        finally:
            proc.kill()
            proc.wait()
        if proc.returncode == -signal.SIGKILL and "done" not in out:
            break
        as_version_2(path)  # it finished first: undo it and try again
    else:
        raise AssertionError("the upgrade finished before every one of 5 kills")
    assert "WITHOUT ROWID" in _layout(path)["tables"]["nodes"]  # still version 2
    assert _everything(url) == before
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert "WITHOUT ROWID" not in _layout(path)["tables"]["nodes"].upper()


def test_a_store_of_a_newer_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    """A file written by a later version (a schema this code does not know) is not opened, and so
    not rewritten to this version's schema: the error says to upgrade."""
    import pytest

    from lineage.errors import BackendUnavailableError
    from tests.cli.test_cli_core import lineage

    path = tmp_path / "future.db"
    url = _populated(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.execute("UPDATE meta SET value = 'future' WHERE key = 'schema_ddl'")
    conn.close()
    with pytest.raises(BackendUnavailableError, match=r"newer version of lineage .*schema 99.*upgrade lineage"):
        open_store(url)
    cli = lineage("audit", "verify", "--store", url)
    assert cli.returncode == 3 and "error [BACKEND_UNAVAILABLE]" in cli.stderr and "upgrade lineage" in cli.stderr
    assert _layout(path)["version"] == "99"
