"""Tampering with the audit log inside the SQLite file is detected, by the store and by the CLI.

Each test edits the file the way an attacker with write access would: through raw SQL, dropping the
append-only triggers first. Verification must fail naming the first entry that no longer fits, and
`lineage audit verify` must exit 1 naming it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lineage.audit import seal
from lineage.model import parse_batch
from lineage.storage import AuditFilter, open_store
from lineage.storage.sqlite import from_us, to_us

ENTRIES = 7
CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]


def ds(name: str) -> dict[str, Any]:
    return {"kind": "Dataset", "namespace": "w", "name": name, "version": "1"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store file with ENTRIES audit entries of several kinds, closed; and its head hash."""
    path = tmp_path_factory.mktemp("audit") / "pristine.db"
    with open_store(f"sqlite:///{path}") as st:
        st.register(parse_batch({"nodes": [ds("orders"), ds("customers")]}), principal="user:ann")
        st.register(parse_batch({"nodes": [ds("orders_clean")], "edges": [
            {"from": "dataset:w/orders@1", "type": "FEEDS", "to": "dataset:w/orders_clean@1"}]}), principal="ci:bob")
        st.annotate("dataset:w/orders@1", "owner", add=["team-data"], principal="user:ann")
        st.register(parse_batch({"nodes": [{**ds("orders"), "properties": {"rows": 5}}]}), principal="user:cy")
        st.register(parse_batch({"nodes": [ds("x1")]}), principal="user:ann")
        st.retract("dataset:w/x1@1", reason="typo", principal="user:ann")
        st.register(parse_batch({"nodes": [ds("x2")]}), principal="user:dee")
        result = st.verify_audit()
        assert result.ok and result.entries == ENTRIES
        return path, result.head


@pytest.fixture
def db(pristine: tuple[Path, str], tmp_path: Path) -> Path:
    path = tmp_path / "lineage.db"
    shutil.copy(pristine[0], path)
    return path


@contextmanager
def attacker(path: Path) -> Iterator[sqlite3.Connection]:
    """Raw write access to the file, with the append-only triggers removed."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        conn.execute("BEGIN")
        yield conn
        conn.execute("COMMIT")
    finally:
        conn.close()


def row(conn: sqlite3.Connection, seq: int) -> dict[str, Any]:
    cur = conn.execute("SELECT * FROM audit WHERE seq = ?", (seq,))
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def verify(path: Path, expect_head: str | None = None) -> Any:
    with open_store(f"sqlite:///{path}") as st:
        return st.verify_audit(expect_head)


def cli_verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "audit", "verify", "--store", f"sqlite:///{path}", *extra],
                          capture_output=True, text=True, timeout=120)


def assert_broken_at(path: Path, seq: int, words: str, expect_head: str | None = None) -> None:
    result = verify(path, expect_head)
    assert not result.ok
    assert result.first_bad_seq == seq, result.problem
    assert words in (result.problem or "")
    extra = ("--expect-head", expect_head) if expect_head else ()
    proc = cli_verify(path, *extra)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"entry {seq}" in proc.stdout and "BROKEN" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_intact_chain_verifies(db: Path, pristine: tuple[Path, str]) -> None:
    result = verify(db, pristine[1])
    assert result.ok and result.entries == ENTRIES and result.head == pristine[1]
    proc = cli_verify(db)
    assert proc.returncode == 0, proc.stderr
    assert f"{ENTRIES} entries" in proc.stdout and pristine[1] in proc.stdout
    assert cli_verify(db, "--expect-head", pristine[1]).returncode == 0
    head = subprocess.run([*CLI, "audit", "head", "--store", f"sqlite:///{db}"], capture_output=True, text=True)
    assert head.returncode == 0 and head.stdout.split() == [str(ENTRIES), pristine[1]]


def test_the_log_is_append_only_in_the_file(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit SET principal = 'x' WHERE seq = 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit WHERE seq = 1")
    finally:
        conn.close()
    assert verify(db).ok


def test_edited_payload(db: Path) -> None:
    with attacker(db) as conn:
        payload = json.loads(row(conn, 3)["payload"])
        payload["added"] = ["team-mallory"]
        conn.execute("UPDATE audit SET payload = ? WHERE seq = 3", (json.dumps(payload),))
    assert_broken_at(db, 3, "payload does not match its digest")


def test_edited_payload_with_recomputed_digest_and_hash(db: Path) -> None:
    """A careful attacker re-seals the edited entry: the next entry no longer follows it."""
    with attacker(db) as conn:
        r = row(conn, 3)
        prev = row(conn, 2)["hash"]
        forged = seal(seq=3, at=from_us(r["at"]), principal=r["principal"], source=r["source"],  # type: ignore[arg-type]
                      action=r["action"], subjects=json.loads(r["subjects"]),
                      payload={**json.loads(r["payload"]), "added": ["team-mallory"]}, prev_hash=prev,
                      writes=json.loads(r["writes"]))
        conn.execute("UPDATE audit SET payload = ?, payload_digest = ?, hash = ? WHERE seq = 3",
                     (json.dumps(forged.payload), forged.payload_digest, forged.hash))
    assert_broken_at(db, 4, "prev_hash does not match")


def test_edited_principal(db: Path) -> None:
    with attacker(db) as conn:
        conn.execute("UPDATE audit SET principal = 'user:mallory' WHERE seq = 2")
    assert_broken_at(db, 2, "hash does not match")
    js = subprocess.run([*CLI, "audit", "verify", "--store", f"sqlite:///{db}", "--format", "json"],
                        capture_output=True, text=True, timeout=120)
    assert js.returncode == 1
    report = json.loads(js.stdout)
    assert report["ok"] is False and report["first_bad_seq"] == 2 and "entry 2" in report["problem"]


def test_edited_time(db: Path) -> None:
    with attacker(db) as conn:
        conn.execute("UPDATE audit SET at = at + 1000000 WHERE seq = 5")
    assert_broken_at(db, 5, "hash does not match")


def test_edited_subjects(db: Path) -> None:
    with attacker(db) as conn:
        conn.execute("UPDATE audit SET subjects = '[]' WHERE seq = 6")
    assert_broken_at(db, 6, "hash does not match")


def test_deleted_middle_entry(db: Path) -> None:
    with attacker(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 3")
    assert_broken_at(db, 3, "missing")


def test_swapped_entries(db: Path) -> None:
    with attacker(db) as conn:
        conn.execute("UPDATE audit SET seq = -2 WHERE seq = 2")
        conn.execute("UPDATE audit SET seq = 2 WHERE seq = 4")
        conn.execute("UPDATE audit SET seq = 4 WHERE seq = -2")
    assert_broken_at(db, 2, "prev_hash does not match")


def test_forged_entry_appended(db: Path) -> None:
    with attacker(db) as conn:
        last = row(conn, ENTRIES)
        conn.execute(
            "INSERT INTO audit (seq, at, principal, source, action, subjects, payload, payload_digest, prev_hash, "
            "hash) VALUES (?, ?, 'user:mallory', 'cli', 'register', '[]', '{}', ?, ?, ?)",
            (ENTRIES + 1, last["at"] + 1, "0" * 64, last["hash"], "f" * 64),
        )
    assert_broken_at(db, ENTRIES + 1, "does not match")


def test_forged_entry_inserted_in_the_middle(db: Path) -> None:
    """Entries 4.. are renumbered one up and a well-sealed entry takes seq 4."""
    with attacker(db) as conn:
        for seq in range(ENTRIES, 3, -1):
            conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq + 1, seq))
        prev = row(conn, 3)
        forged = seal(seq=4, at=from_us(prev["at"] + 1), principal="user:mallory", source="cli",  # type: ignore[arg-type]
                      action="register", subjects=[], payload={"batch": {}}, prev_hash=prev["hash"])
        conn.execute(
            "INSERT INTO audit (seq, at, principal, source, action, subjects, payload, payload_digest, prev_hash, "
            "hash) VALUES (?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)",
            (4, to_us(forged.at), forged.principal, forged.source, forged.action, json.dumps(forged.payload),
             forged.payload_digest, forged.prev_hash, forged.hash),
        )
    assert_broken_at(db, 5, "does not match")


def test_truncated_tail_is_found_only_with_the_anchored_head(db: Path, pristine: tuple[Path, str]) -> None:
    with attacker(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq > ?", (ENTRIES - 2,))
    assert verify(db).ok  # a chain cannot see its own end removed
    assert cli_verify(db, "--log-only").returncode == 0
    # ...but the rows those entries wrote are still there, bound to no entry
    proc = cli_verify(db)
    assert proc.returncode == 1 and "ALTERED" in proc.stdout
    assert_broken_at(db, ENTRIES - 1, "removed from the end", expect_head=pristine[1])


def test_tampering_is_found_after_later_writes(db: Path) -> None:
    """New entries chain onto whatever is there; the old damage stays visible."""
    with attacker(db) as conn:
        conn.execute("UPDATE audit SET principal = 'user:mallory' WHERE seq = 2")
    with open_store(f"sqlite:///{db}") as st:
        st.register(parse_batch({"nodes": [ds("later")]}), principal="user:ann")
        assert st.audit_entries(AuditFilter(after_seq=ENTRIES))[0].seq == ENTRIES + 1
    assert_broken_at(db, 2, "hash does not match")
