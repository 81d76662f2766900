"""A process killed (SIGKILL) in the middle of a batch leaves the SQLite store exactly as before it.

A real child process registers a big batch; the parent kills it once the write transaction is open:
while the batch is being planned, and while its pages are being written to the WAL file. After
reopening, every observable part of the store is what it was before, the file passes SQLite's
integrity check, and the next registration works.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from contract_support import PRINCIPAL, ds, edge, nid, reg, run, snapshot

from lineage.storage import open_store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

NODES = 20_000
BLOB = 2_000  # bytes of properties per node: enough pages that SQLite spills to the WAL mid-transaction

CHILD = textwrap.dedent(
    """
    import sys
    from contextlib import contextmanager

    from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec
    from lineage.storage.sqlite import SQLiteStore

    path, n, blob = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


    class Announcing(SQLiteStore):
        @contextmanager
        def write(self):
            with super().write() as tx:
                print("in-transaction", flush=True)
                yield tx


    nodes = [
        NodeSpec(kind=NodeKind.DATASET, namespace="big", name=f"d{i}", version="1",
                 properties={"blob": "x" * blob, "i": i})
        for i in range(n)
    ]
    edges = [EdgeSpec(source=nodes[i].id, type=EdgeType.FEEDS, target=nodes[i + 1].id) for i in range(n - 1)]
    batch = Batch(nodes=nodes, edges=edges)
    store = Announcing(f"sqlite:///{path}")
    print("ready", len(batch), flush=True)
    store.register(batch, principal="crashing-writer")
    print("done", flush=True)
    """
)


def big_ids() -> list[str]:
    return [nid(ds(f"d{i}", ns="big")) for i in (0, 1, NODES // 2, NODES - 1)]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A store with some history, closed (so it is one self-contained file), and its snapshot."""
    folder = tmp_path_factory.mktemp("crash-base")
    path = folder / "base.db"
    with open_store(f"sqlite:///{path}") as st:
        a, r, b = ds("a"), run("r"), ds("b")
        reg(st, [a, r, b], [edge(a, "INPUT_TO", r), edge(r, "PRODUCED", b)])
        reg(st, [ds("a", rows=3)])
        st.retract(nid(b), reason="bad", principal=PRINCIPAL)
        state = snapshot(st, big_ids())
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path, state


def kill_mid_write(db: Path, script: Path, mode: str) -> bool:
    """Run the writer and SIGKILL it inside its transaction. True if the kill landed before it finished."""
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(NODES), str(BLOB)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    wal = Path(f"{db}-wal")
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("in-transaction"):
                break
        else:
            pytest.fail(f"writer ended before its transaction: {lines} {proc.stderr.read() if proc.stderr else ''}")
        if mode == "planning":
            time.sleep(0.2)
        else:
            start = wal.stat().st_size if wal.exists() else 0
            while proc.poll() is None and (wal.stat().st_size if wal.exists() else 0) < start + 2_000_000:
                time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()
    return proc.returncode == -signal.SIGKILL and "done" not in rest


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["planning", "writing"])
def test_sigkill_mid_batch_leaves_the_store_unchanged(
    base: tuple[Path, dict], tmp_path: Path, mode: str
) -> None:
    base_path, before = base
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    for attempt in range(5):
        db = tmp_path / f"attempt{attempt}.db"
        shutil.copy(base_path, db)
        if not kill_mid_write(db, script, mode):
            continue  # it finished before the kill landed; try again on a fresh copy
        if mode == "writing":
            # the WAL really holds uncommitted pages of the killed transaction
            assert Path(f"{db}-wal").stat().st_size > 2_000_000
        with open_store(f"sqlite:///{db}") as st:
            assert snapshot(st, big_ids()) == before
            assert st.get_nodes(big_ids()) == {}
            assert st.search("d1", limit=5) == []
            verification = st.verify_audit()
            assert verification.ok and verification.head == before["audit_head"][2]
            conn = sqlite3.connect(db)
            try:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            finally:
                conn.close()
            # the store keeps working: the next batch is entry n+1 of an unbroken chain
            after = reg(st, [ds("d0", ns="big"), ds("next")], [edge(ds("d0", ns="big"), "FEEDS", ds("next"))])
            assert after.nodes_created == 2 and after.audit_seq == before["audit_head"][1] + 1
            assert st.verify_audit().ok
        return
    pytest.fail(f"the writer finished before every one of 5 kills ({mode}); the batch is too small")


def test_open_store_survives_a_stale_wal_of_a_killed_writer(base: tuple[Path, dict], tmp_path: Path) -> None:
    """Cheap companion of the slow test: a WAL holding only uncommitted frames is ignored on open."""
    db = tmp_path / "stale.db"
    shutil.copy(base[0], db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA cache_size=1")  # spill every page to the WAL before commit
    conn.execute("BEGIN IMMEDIATE")
    for i in range(2_000):
        conn.execute(
            "INSERT INTO nodes (id, kind, namespace, name, version, properties, recorded_at, recorded_by) "
            "VALUES (?, 'Dataset', 'big', ?, '1', ?, 1, 'x')",
            (f"dataset:big/s{i}@1", f"s{i}", "{}" + " " * 500),
        )
    wal = Path(f"{db}-wal")
    assert wal.stat().st_size > 0
    # simulate the kill: copy the files as they are now, with the transaction still open
    crashed = tmp_path / "crashed.db"
    shutil.copy(db, crashed)
    shutil.copy(wal, Path(f"{crashed}-wal"))
    conn.execute("ROLLBACK")
    conn.close()
    with open_store(f"sqlite:///{crashed}") as st:
        assert snapshot(st, big_ids()) == base[1]
    os.remove(crashed)
