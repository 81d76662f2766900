"""The embedded store copies its write-ahead log into the database file in the background.

A large commit leaves its pages in the log; a thread of the store's own copies them into the
database file after it (SQLite's checkpoint inside the commit is only a backstop, at 1 GiB of log).
Small commits keep SQLite's own checkpoint. These
tests hold the behaviour, not the timing: a large write reaches the database file while the store
stays open and nothing else is written; closing stops the thread; and a writer killed while its
checkpoints run loses no acknowledged batch and leaves a file that passes SQLite's integrity check.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from lineage.model import Batch, NodeKind, NodeSpec
from lineage.storage import open_store
from lineage.storage.sqlite import SQLiteStore
from lineage.storage.sqlite_checkpoint import SMALL_COMMIT_PAGES

BLOB = 2_000


def batch(prefix: str, n: int) -> Batch:
    return Batch(
        nodes=[
            NodeSpec(kind=NodeKind.DATASET, namespace="ckpt", name=f"{prefix}{i}", version="1",
                     properties={"blob": "x" * BLOB, "i": i})
            for i in range(n)
        ]
    )


def checkpoint_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "lineage-sqlite-checkpoint")


def test_a_large_write_reaches_the_database_file_while_the_store_is_open(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    threads_before = checkpoint_threads()
    store = open_store(f"sqlite:///{db}")
    assert isinstance(store, SQLiteStore)
    try:
        store.register(batch("seed", 10), principal="test")
        deadline = time.monotonic() + 30
        while db.stat().st_size < 100_000 and time.monotonic() < deadline:  # the schema and the seed
            time.sleep(0.05)
        size_before = db.stat().st_size
        result = store.register(batch("d", 3_000), principal="test")  # about 7 MB of pages: past 1,000
        assert result.nodes_created == 3_000
        assert Path(f"{db}-wal").stat().st_size > 6_000_000  # the commit left its pages in the log
        deadline = time.monotonic() + 60
        while db.stat().st_size < size_before + 6_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        # copied by the store's own thread: no other write happened and the store is still open
        assert db.stat().st_size >= size_before + 6_000_000
        assert checkpoint_threads() == threads_before + 1
        assert store.get_node("dataset:ckpt/d2999@1").properties["i"] == 2_999
    finally:
        store.close()
    assert checkpoint_threads() == threads_before
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM nodes WHERE namespace = 'ckpt'").fetchone()[0] == 3_010
    finally:
        conn.close()


def test_small_commits_keep_sqlites_own_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "small.db"
    threads_before = checkpoint_threads()
    with open_store(f"sqlite:///{db}") as store:
        store.register(batch("first", 3), principal="test")
        size_before = db.stat().st_size
        for i in range(800):  # each a handful of rows, as one run or one OpenLineage event writes
            store.register(batch(f"s{i}-", 3), principal="test")
        assert checkpoint_threads() == threads_before  # no thread for small commits
        # SQLite copied the log inside the commits that took it past SMALL_COMMIT_PAGES pages
        assert db.stat().st_size >= size_before + 2_000_000  # most of 2,400 nodes of 2 kB each
        assert Path(f"{db}-wal").stat().st_size < 2 * SMALL_COMMIT_PAGES * 4096
        assert len(store.get_nodes([f"dataset:ckpt/s{i}-2@1" for i in range(800)])) == 800


def test_a_store_reopened_after_close_checkpoints_again(tmp_path: Path) -> None:
    db = tmp_path / "again.db"
    store = open_store(f"sqlite:///{db}")
    store.register(batch("a", 1_000), principal="test")
    store.close()
    before = checkpoint_threads()
    store.register(batch("b", 1_000), principal="test")  # a closed store reconnects on use
    try:
        assert checkpoint_threads() == before + 1
        ids = ["dataset:ckpt/a0@1", "dataset:ckpt/b999@1"]
        assert set(store.get_nodes(ids)) == set(ids)
    finally:
        store.close()
    assert checkpoint_threads() == before


WRITER = textwrap.dedent(
    """
    import sys
    from lineage.model import Batch, NodeKind, NodeSpec
    from lineage.storage import open_store

    path = sys.argv[1]
    store = open_store(f"sqlite:///{path}")
    for b in range(1000):
        nodes = [
            NodeSpec(kind=NodeKind.DATASET, namespace="kill", name=f"b{b}n{i}", version="1",
                     properties={"blob": "y" * 2000, "i": i})
            for i in range(1500)
        ]
        store.register(Batch(nodes=nodes), principal="killed-writer")
        print("committed", b, flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize("after", [2, 5])
def test_a_writer_killed_while_checkpoints_run_keeps_every_acknowledged_batch(tmp_path: Path, after: int) -> None:
    db = tmp_path / "killed.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged = -1
    try:
        for line in proc.stdout:
            acknowledged = int(line.split()[1])
            if acknowledged >= after:
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert acknowledged >= after, proc.stderr.read() if proc.stderr else ""
    with open_store(f"sqlite:///{db}") as store:
        for b in range(acknowledged + 1):  # every batch acknowledged before the kill is there, whole
            assert len(store.get_nodes([f"dataset:kill/b{b}n{i}@1" for i in (0, 749, 1499)])) == 3
        counts = store.counts()
        assert counts["nodes"] % 1500 == 0 and counts["nodes"] >= 1500 * (acknowledged + 1)
        assert store.verify_audit().ok
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


@pytest.mark.slow
def test_the_log_of_a_large_write_is_cut_back_once_copied(tmp_path: Path) -> None:
    db = tmp_path / "cut.db"
    wal = Path(f"{db}-wal")
    with open_store(f"sqlite:///{db}") as store:
        store.register(batch("big", 25_000), principal="test")  # about 100 MB of log
        grown = wal.stat().st_size
        assert grown > 80_000_000
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # small writes start the log over once it is copied
            store.register(batch(f"after{int(deadline - time.monotonic())}-", 1), principal="test")
            if wal.stat().st_size < grown:
                break
            time.sleep(0.1)
        assert wal.stat().st_size <= 64 * 1024 * 1024 + 1_000_000
        assert store.get_node("dataset:ckpt/big24999@1").properties["i"] == 24_999
