"""A store written by an earlier version opens with this one: upgraded in place, every row kept.

Version 2 kept ``nodes`` and ``node_revisions`` WITHOUT ROWID; version 3 rebuilt them as rowid
tables; version 4 numbers the nodes and keys edges by those numbers. The tables are rebuilt when the
file is opened for writing. :func:`as_version_3` and :func:`as_version_2` turn a store made by this
code into the older layouts, so the test does not depend on an old release being installed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lineage.demo import build_demo_batch
from lineage.errors import BackendUnavailableError
from lineage.storage import open_store
from lineage.storage.base import Direction, Section

_V3 = """
BEGIN;
CREATE TABLE nodes_v3 (
    id TEXT NOT NULL PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, version TEXT,
    properties TEXT NOT NULL, event_time INTEGER, recorded_at INTEGER NOT NULL, recorded_by TEXT NOT NULL,
    retracted_at INTEGER, retracted_by TEXT, retract_reason TEXT
);
INSERT INTO nodes_v3 SELECT id, kind, namespace, name, version, properties, event_time, recorded_at, recorded_by,
    retracted_at, retracted_by, retract_reason FROM nodes ORDER BY n;
CREATE TABLE edges_v3 (
    src TEXT NOT NULL, type TEXT NOT NULL, dst TEXT NOT NULL, src_kind TEXT NOT NULL, dst_kind TEXT NOT NULL,
    properties TEXT NOT NULL, event_time INTEGER, recorded_at INTEGER NOT NULL, recorded_by TEXT NOT NULL,
    retracted_at INTEGER, retracted_by TEXT, retract_reason TEXT, PRIMARY KEY (src, type, dst)
) WITHOUT ROWID;
INSERT INTO edges_v3 SELECT s.id, e.type, d.id, e.src_kind, e.dst_kind, e.properties, e.event_time, e.recorded_at,
    e.recorded_by, e.retracted_at, e.retracted_by, e.retract_reason
    FROM edges e JOIN nodes s ON s.n = e.src_n JOIN nodes d ON d.n = e.dst_n;
DROP TABLE edges;
ALTER TABLE edges_v3 RENAME TO edges;
CREATE INDEX edges_in ON edges (dst, type, src, src_kind, recorded_at, retracted_at);
DROP TABLE nodes;
ALTER TABLE nodes_v3 RENAME TO nodes;
CREATE INDEX nodes_kind ON nodes (kind, id);
CREATE INDEX nodes_ns_name ON nodes (namespace, name);
CREATE INDEX nodes_name ON nodes (name);
CREATE INDEX nodes_recorded ON nodes (recorded_at);
UPDATE meta SET value = '3' WHERE key = 'schema_version';
UPDATE meta SET value = 'v3' WHERE key = 'schema_ddl';
COMMIT;
"""

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


def as_version_3(path: Path) -> None:
    """Nodes unnumbered, edges keyed by the text ids of their nodes."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(_V3)
    finally:
        conn.close()


def as_version_2(path: Path) -> None:
    """Version 3, with nodes and revisions WITHOUT ROWID."""
    as_version_3(path)
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


def _node_numbers(path: Path, column: str) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {column}, id FROM nodes ORDER BY 1").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("older", [as_version_2, as_version_3], ids=["version 2", "version 3"])
def test_an_older_store_is_rebuilt_as_version_4_keeping_every_row(tmp_path: Path, older: Any) -> None:
    path = tmp_path / "old.db"
    url = _populated(path)
    before = _everything(url)
    with open_store(url) as s:
        reach = {n.id: s.expand([n.id], Direction.DOWNSTREAM) for n in build_demo_batch().nodes}
    older(path)
    assert "src_n" not in _layout(path)["tables"]["edges"]
    rowids = _node_numbers(path, "rowid") if older is as_version_3 else None
    with open_store(url) as s:
        layout = _layout(path)
        assert layout["version"] == "4"
        for table in ("nodes", "node_revisions"):
            assert "WITHOUT ROWID" not in layout["tables"][table].upper()
        assert "src_n INTEGER NOT NULL" in layout["tables"]["edges"]
        assert {"nodes_kind", "nodes_recorded", "edges_in"} <= layout["indexes"]
        assert not {"nodes_ns_name", "nodes_name"} & layout["indexes"]  # no query used them
        assert not any(name.endswith(("_v2", "_v3", "_new")) for name in layout["tables"])
        assert s.verify_store().ok
        assert {i: s.expand([i], Direction.DOWNSTREAM) for i in reach} == reach
    assert _everything(url) == before
    assert len(before[Section.REVISIONS]) > len(before[Section.NODES])  # the revision made above is kept
    assert len(before[Section.EDGES]) > 0
    if rowids is not None:  # a version 3 node keeps its rowid as its number
        assert _node_numbers(path, "n") == rowids


@pytest.mark.parametrize(
    ("end", "error"),
    [("dst", "NOT NULL constraint failed: edges_new"), ("src", "1 edge.s. name a source that is not a node")],
)
def test_an_edge_to_a_missing_node_stops_the_upgrade_and_changes_nothing(tmp_path: Path, end: str, error: str) -> None:
    path = tmp_path / "v3.db"
    _populated(path)
    as_version_3(path)
    conn = sqlite3.connect(path, isolation_level=None)
    src, dst = ("src", "'dataset:gone/nowhere@1'") if end == "dst" else ("'dataset:gone/nowhere@1'", "dst")
    conn.execute(f"INSERT INTO edges SELECT {src}, type, {dst}, src_kind, dst_kind, properties, "
                 "event_time, recorded_at, recorded_by, NULL, NULL, NULL FROM edges LIMIT 1")  # fmt: skip
    conn.close()
    before = path.read_bytes()
    with pytest.raises(BackendUnavailableError, match=error):
        open_store(f"sqlite:///{path}")
    assert _layout(path)["version"] == "3" and "src_n" not in _layout(path)["tables"]["edges"]
    assert path.read_bytes() == before


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
