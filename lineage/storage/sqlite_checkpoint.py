"""Checkpoints of the embedded store's write-ahead log, run beside the writer instead of inside it.

In WAL mode every commit appends its pages to the log; a *checkpoint* copies them back into the
database file. By default SQLite checkpoints inside the commit that takes the log past 1,000
pages, so a large batch pays for writing its pages twice before ``register`` returns, and the cost
grows with the store: inserts into big indexes touch pages all over them. For a large commit
(:data:`LARGE_COMMIT_ROWS` rows or more) the store lifts SQLite's own checkpoint to a backstop
(:data:`BACKSTOP_PAGES`, so the log stays bounded whatever happens) and wakes a thread of its own
that runs a passive checkpoint after it. The copy overlaps with the writer's next work (planning
the next batch, computing its audit digests) and with readers, which a passive checkpoint never
blocks. Small commits (a run, an OpenLineage event: tens of rows) keep SQLite's own checkpoint,
every :data:`SMALL_COMMIT_PAGES` log pages rather than 1,000: a page that several commits in
between wrote is copied once.

Durability is unchanged: a commit is in the log, synced as the store's ``synchronous`` setting says,
before it returns. A checkpoint only moves committed pages; one cut short by a crash or a kill is
redone from the log the next time the file is opened.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

#: SQLite's own checkpoint, inside a commit, only past this many log pages (1 GiB of 4 KiB pages):
#: a bound on the log should the background checkpoints fall behind (for example behind a reader
#: holding an old snapshot). Its default is 1,000.
BACKSTOP_PAGES = 262_144
#: A commit writing at least this many rows leaves its checkpoint to the thread. Smaller ones
#: (a run, an OpenLineage event: tens of rows) keep SQLite's own checkpoint: run
#: beside such a stream, a checkpoint's sync of the database file delays the next commit's sync
#: of the log more than the copy costs inside the occasional commit.
LARGE_COMMIT_ROWS = 1_000
#: SQLite's own checkpoint, inside a small commit, once the log holds this many pages (16 MiB of
#: 4 KiB pages). SQLite's default is 1,000; with groups of 16 OpenLineage events (about 260 pages
#: each) that copied the log every fourth commit, and 4,000 wrote a fifth less and cost 4-6% less
#: CPU per event (bench/README.md, "Nodes and revisions in rowid tables").
SMALL_COMMIT_PAGES = 4_000
#: Bytes of log kept on disk once it has been copied and starts over (SQLite's
#: ``journal_size_limit``): a large batch grows the log, and without a limit the file keeps that
#: size until the last connection closes.
LOG_SIZE_LIMIT = 64 * 1024 * 1024
#: Pause after a checkpoint before the next one: commits in between share one copy.
PAUSE_S = 0.02


class Checkpointer:
    """One background thread per store, started by the first large commit and stopped by :meth:`close`."""

    def __init__(self, path: Path, synchronous_pragma: str, busy_timeout_s: float) -> None:
        self._path = path
        self._synchronous = synchronous_pragma
        self._busy = busy_timeout_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def commit(self, conn: sqlite3.Connection, rows: int) -> None:
        """Commit the transaction open on ``conn``, which wrote ``rows`` rows; copy its pages
        into the database file in the background when it is large (sqlite3.Error as COMMIT's)."""
        if rows < LARGE_COMMIT_ROWS:
            conn.execute("COMMIT")
            return
        conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        try:
            conn.execute("COMMIT")
        finally:
            conn.execute(f"PRAGMA wal_autocheckpoint={SMALL_COMMIT_PAGES}")
        self._committed()

    def _committed(self) -> None:
        if self._thread is None or self._pid != os.getpid():
            if self._pid != os.getpid():  # a forked child: the thread stayed in the parent
                self._pid, self._thread = os.getpid(), None
                self._wake, self._lock = threading.Event(), threading.Lock()
            with self._lock:
                if self._thread is None and not self._stop.is_set():
                    thread = threading.Thread(target=self._loop, name="lineage-sqlite-checkpoint", daemon=True)
                    thread.start()
                    self._thread = thread
        self._wake.set()

    def _loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self._path, timeout=self._busy, isolation_level=None, check_same_thread=False)
            conn.execute(self._synchronous)
            while True:
                self._wake.wait()
                if self._stop.is_set():
                    return
                self._wake.clear()
                # Busy or failing: the next commit wakes another try, and the backstop holds meanwhile.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                if self._stop.wait(PAUSE_S):
                    return
        except sqlite3.Error:
            return  # the file cannot be opened here: SQLite's backstop checkpoint still bounds the log
        finally:
            if conn is not None:
                conn.close()

    def close(self) -> None:
        """Stop the thread (waiting for a checkpoint under way) and close its connection."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
