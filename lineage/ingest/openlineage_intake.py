"""The OpenLineage intake: events kept durably on arrival, mapped into the graph in the background.

With ``openlineage_ack=landed`` the endpoint answers 202 as soon as a validated event is committed
to the intake, a small SQLite file of its own (``<store>.intake`` by default), so answering never
waits for the store's single writer. A mapper process (:func:`main`, started by the server, one per
intake: the others wait on its lock file) takes the waiting events oldest first, in groups of up to
``group`` events, and maps each group with :class:`~lineage.ingest.openlineage.OpenLineageIngester`
exactly as the synchronous endpoint does: the raw events go to the store's landing zone and the
graph in one transaction, then leave the intake.

Nothing acknowledged is lost: an event leaves the intake only after the store's transaction that
holds it committed. If the mapper stops between the two, :meth:`IntakeMapper.recover` finds the
group in the store's landing zone (the raw events landed after the intake's mark, compared as JSON)
and drops it from the intake instead of landing it twice. An event that fails to map (one bad event
fails alone, as in the synchronous endpoint) moves to the intake's ``failed`` table with its error
code and message, kept for the operator (``GET /api/v1/lineage/intake``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.errors import BackendUnavailableError, LineageError, ValidationError
from lineage.ingest.openlineage import SOURCE, OpenLineageIngester, Outcome, event_error
from lineage.ingest.openlineage_events import parse_event
from lineage.settings import Settings, store_options
from lineage.storage.base import GraphStore, gc_paused
from lineage.storage.sqlite_checkpoint import LOG_SIZE_LIMIT
from lineage.storage.writes import raw_event_text

#: Events one background commit maps at most.
GROUP = 2000
#: Characters of event text one background commit maps at most (beyond its first event): a group of
#: large events (up to ``max_body_bytes`` each) must not take the mapper's memory past what a
#: restarted mapper could hold, or it would fail on the same group again and again.
GROUP_CHARS = 32 * 1024 * 1024
#: How long the mapper sleeps when the intake is empty.
IDLE_S = 0.004
#: Free pages an empty intake gives back to the file system (about 4 MiB).
SHRINK_PAGES = 1_024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    principal TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failed (
    seq INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    principal TEXT NOT NULL,
    payload TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    failed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS mark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    raw_seq INTEGER NOT NULL
);
"""
#: Why mapping waits, while the store is unavailable (a table of its own: added to older intakes).
_STALL = """
CREATE TABLE IF NOT EXISTS stall (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    since REAL NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
"""
#: The mapper's longest wait between two tries while the store is unavailable.
RETRY_MAX_S = 30.0

log = logging.getLogger("lineage.openlineage.intake")


def _loads(text: str) -> Any:
    """An intake text as JSON (the standard parser: exact for integers past 64 bits, and faster here
    than looking for them first)."""
    return json.loads(text)


def intake_path(settings: Settings) -> Path:
    """Where the intake lives: the setting, else beside a SQLite store; ValidationError for a Neo4j
    store without one (its server's disk is not this process's)."""
    if settings.openlineage_intake:
        return Path(settings.openlineage_intake)
    if settings.store.startswith(("neo4j", "bolt")):
        raise ValidationError(
            "openlineage_ack=landed with a Neo4j store needs an intake file: set LINEAGE_OPENLINEAGE_INTAKE "
            "to a path on this machine",
            details={"element": "openlineage_intake", "rule": "setting"},
        )
    from lineage.storage.sqlite import sqlite_path

    path = sqlite_path(settings.store)
    return path.with_name(path.name + ".intake")


@dataclass(frozen=True, slots=True)
class Accepted:
    """An event kept in the intake, to be mapped in the background: its number there."""

    intake_seq: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "accepted", "intake_seq": self.intake_seq}


@dataclass(frozen=True, slots=True)
class Waiting:
    seq: int
    received_at: float
    principal: str
    text: str


class Intake:
    """The intake file. Thread-safe: one connection, used under a lock."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        try:
            if not self.path.exists():  # raw events and who sent them: readable by this user only
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
            if not self._has_schema():
                # Pages freed by mapped events go back to the file system once the intake is empty
                # (see done()): a burst does not leave a large file behind. Set before any table.
                self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(f"PRAGMA journal_size_limit={LOG_SIZE_LIMIT}")
            if not self._has_schema():
                self._db.executescript(_SCHEMA)
            if not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'stall'").fetchone():
                self._db.executescript(_STALL)
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailableError(f"cannot open the OpenLineage intake {self.path}: {exc}") from None
        self._lock = threading.Lock()

    def _has_schema(self) -> bool:
        return bool(self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'mark'").fetchone())

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed statement, or a COMMIT that could not finish
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()

    def land(self, principals: Sequence[str], payloads: Sequence[Any]) -> list[int]:
        """Keep events (parsed JSON) in one durable commit; their intake numbers, in order."""
        texts = [raw_event_text(p) for p in payloads]
        now = time.time()
        with self._lock, self._tx() as db:
            first = db.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'intake'").fetchone()
            db.executemany(
                "INSERT INTO intake (received_at, principal, payload) VALUES (?, ?, ?)",
                [(now, who, text) for who, text in zip(principals, texts, strict=True)],
            )
        start = int(first[0]) + 1
        return list(range(start, start + len(texts)))

    def backlog(self) -> int:
        """How many events wait (exact when none left the middle of the queue, which never happens)."""
        with self._lock:
            row = self._db.execute("SELECT min(seq), max(seq) FROM intake").fetchone()
        return 0 if row[0] is None else int(row[1]) - int(row[0]) + 1

    def state(self, seq: int) -> dict[str, Any] | None:
        """Where an accepted event is: waiting, mapped or failed (with its error); None for a number
        this intake never gave."""
        with self._lock:
            given = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'intake'").fetchone()
            if seq < 1 or given is None or seq > int(given[0]):
                return None
            if self._db.execute("SELECT 1 FROM intake WHERE seq = ?", (seq,)).fetchone():
                return {"intake_seq": seq, "state": "waiting"}
            failed = self._db.execute("SELECT code, message FROM failed WHERE seq = ?", (seq,)).fetchone()
        if failed:
            return {"intake_seq": seq, "state": "failed", "code": failed[0], "message": failed[1]}
        return {"intake_seq": seq, "state": "mapped"}

    def counts(self) -> tuple[int, int]:
        """(events waiting, events that failed to map)."""
        with self._lock:
            failed = self._db.execute("SELECT count(*) FROM failed").fetchone()[0]
        return self.backlog(), int(failed)

    def waiting(self, limit: int, max_chars: int = GROUP_CHARS) -> list[Waiting]:
        """The oldest waiting events: at most ``limit``, and no more than ``max_chars`` characters of
        event text beyond the first one."""
        out: list[Waiting] = []
        chars = 0
        with self._lock:
            cursor = self._db.execute(
                "SELECT seq, received_at, principal, payload FROM intake ORDER BY seq LIMIT ?", (limit,)
            )
            try:
                for row in cursor:  # read lazily: the rows past the budget are never loaded
                    chars += len(row[3])
                    if out and chars > max_chars:
                        break
                    out.append(Waiting(*row))
            finally:
                cursor.close()
        return out

    def mark(self) -> int:
        """The store's landing-zone number of the last event mapped from here (0 before any)."""
        with self._lock:
            row = self._db.execute("SELECT raw_seq FROM mark WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def anchor(self, raw_seq: int) -> bool:
        """Set the mark of an intake that has none and holds nothing (so none of its events can be in
        the store's landing zone) to ``raw_seq``: recovery then never reads the landing zone from its
        start. False when the intake has a mark or holds events."""
        with self._lock, self._tx() as db:
            if db.execute("SELECT 1 FROM mark UNION ALL SELECT 1 FROM intake LIMIT 1").fetchone():
                return False
            db.execute("INSERT INTO mark (id, raw_seq) VALUES (1, ?)", (raw_seq,))
        return True

    def done(self, rows: Sequence[Waiting], failures: dict[int, LineageError], raw_seq: int | None) -> None:
        """Take mapped events out (failed ones to ``failed``), and move the mark to ``raw_seq``."""
        now = time.time()
        with self._lock, self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO failed VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.seq, r.received_at, r.principal, r.text, failures[r.seq].code, failures[r.seq].message, now)
                 for r in rows if r.seq in failures],
            )
            db.executemany("DELETE FROM intake WHERE seq = ?", [(r.seq,) for r in rows])
            if raw_seq is not None:
                db.execute("INSERT OR REPLACE INTO mark (id, raw_seq) VALUES (1, ?)", (raw_seq,))
            empty = db.execute("SELECT 1 FROM intake LIMIT 1").fetchone() is None
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
        if empty and free >= SHRINK_PAGES:
            with self._lock:
                # Run to the end (sqlite3's execute() would take one step, freeing one page), then
                # copy the log back and truncate it.
                self._db.executescript("PRAGMA incremental_vacuum;")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def retry_failed(self) -> list[int]:
        """Put the failed events back at the end of the queue, in their order, with their sender;
        their new numbers. For events that failed for a reason since removed: an upgrade, or an
        outage recorded as a failure by an older release."""
        with self._lock, self._tx() as db:
            rows = db.execute("SELECT seq, received_at, principal, payload FROM failed ORDER BY seq").fetchall()
            before = db.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'intake'").fetchone()
            db.executemany(
                "INSERT INTO intake (received_at, principal, payload) VALUES (?, ?, ?)", [r[1:] for r in rows]
            )
            db.executemany("DELETE FROM failed WHERE seq = ?", [(r[0],) for r in rows])
        start = int(before[0]) + 1
        return list(range(start, start + len(rows)))

    def stalled(self, error: LineageError | None) -> None:
        """Record that mapping waits for the store (``error``: why; kept from the first failed try),
        or that it maps again (None)."""
        with self._lock, self._tx() as db:
            if error is None:
                db.execute("DELETE FROM stall")
            else:
                db.execute(
                    "INSERT INTO stall VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET code = excluded.code, "
                    "message = excluded.message",
                    (time.time(), error.code, error.message),
                )

    def stall(self) -> dict[str, Any] | None:
        """Why mapping waits for the store, since when; None while it maps."""
        with self._lock:
            row = self._db.execute("SELECT since, code, message FROM stall").fetchone()
        if row is None:
            return None
        return {"since": row[0], "for_s": round(max(0.0, time.time() - row[0]), 3), "code": row[1], "message": row[2]}

    def status(self, failed_limit: int = 20) -> dict[str, Any]:
        """What waits and what failed: counts, the oldest waiting event's age, the latest failures,
        and why mapping waits when the store is unavailable."""
        waiting, failed = self.counts()
        stall = self.stall()
        with self._lock:
            oldest = self._db.execute("SELECT received_at FROM intake ORDER BY seq LIMIT 1").fetchone()
            latest = self._db.execute(
                "SELECT seq, principal, code, message, failed_at FROM failed ORDER BY seq DESC LIMIT ?",
                (failed_limit,),
            ).fetchall()
        return {
            "waiting": waiting,
            "oldest_waiting_s": round(max(0.0, time.time() - oldest[0]), 3) if oldest else None,
            "failed": failed,
            "stalled": stall,
            "latest_failures": [
                {"intake_seq": s, "principal": p, "code": c, "message": m, "failed_at": f} for s, p, c, m, f in latest
            ],
        }


class IntakeMapper:
    """Maps what waits in an intake into a store, a group at a time (see the module doc)."""

    def __init__(
        self, store: GraphStore, intake: Intake, *, group: int = GROUP, group_chars: int = GROUP_CHARS
    ) -> None:
        self.store = store
        self.intake = intake
        self.group = group
        self.group_chars = group_chars
        self.ingester = OpenLineageIngester(store, principal="openlineage")

    def anchor(self) -> None:
        """Anchor a new intake's mark at the store's landing zone as it is now (see
        :meth:`Intake.anchor`); before any mapping."""
        if self.intake.mark() == 0 and self.intake.backlog() == 0:
            # Raw events are numbered from 1 without gaps and never removed: their count is the last
            # number (a smaller count would only make recovery read a little more).
            self.intake.anchor(int(self.store.counts().get("raw_events", 0)))

    def recover(self) -> int:
        """Take out of the intake the events a stopped mapper already landed in the store (found, in
        order, among the raw events landed after the mark); how many.

        Landed is not always mapped: where the store lands an event in a transaction of its own
        before mapping it (Neo4j), the mapper may have stopped in between. So each one found is
        mapped again from its landed copy, without landing it twice; mapping is idempotent, and an
        event already mapped changes nothing. Raises BackendUnavailableError (nothing taken out)."""
        rows = self.intake.waiting(self.group, self.group_chars)
        if not rows:
            return 0
        wanted = [_loads(r.text) for r in rows]
        landed: list[int] = []
        for raw in self.store.iter_raw_events(self.intake.mark()):
            if raw.source == SOURCE and raw.payload == wanted[len(landed)]:
                landed.append(raw.seq)
                if len(landed) == len(rows):
                    break
        if not landed:
            return 0
        rows = rows[: len(landed)]
        failures: dict[int, LineageError] = {}
        with gc_paused():
            for row, payload, raw_seq in zip(rows, wanted, landed, strict=False):
                try:
                    self.ingester.apply(parse_event(payload, checked=True), principal=row.principal, raw_seq=raw_seq)
                except BackendUnavailableError:
                    raise
                except Exception as exc:  # this event fails alone, as in step()
                    failures[row.seq] = event_error(exc)
        self.intake.done(rows, failures, landed[-1])
        log.warning("%d event(s) of the OpenLineage intake were already landed in the store; not landed twice",
                    len(rows))
        return len(rows)

    def step(self) -> int:
        """Map one group (the oldest waiting events); how many events it held (0: nothing waits).

        Raises BackendUnavailableError when the store is unavailable: the events it did not take
        wait, and the ones before them (mapped, or failed on their own) leave the intake."""
        rows = self.intake.waiting(self.group, self.group_chars)
        if not rows:
            return 0
        # Parsing and mapping a group build many short-lived objects and no cycles worth collecting
        # meanwhile: each collection would walk the whole heap (version caches included) again.
        with gc_paused():
            return self._map(rows)

    def _map(self, rows: list[Waiting]) -> int:
        failures: dict[int, LineageError] = {}
        keep, payloads, events = [], [], []
        for row in rows:
            try:
                payload = _loads(row.text)
                # Checked (nesting, text) and validated before it was accepted: only a rule changed
                # by an upgrade meanwhile can refuse it here.
                events.append(parse_event(payload, checked=True))
            except LineageError as exc:
                failures[row.seq] = exc
                continue
            keep.append(row)
            payloads.append(payload)
        results = self.ingester.apply_many(events, principals=[r.principal for r in keep], payloads=payloads)
        unavailable: BackendUnavailableError | None = None
        raw_seqs = [r.raw_seq for r in results if isinstance(r, Outcome) and r.raw_seq is not None]
        for row, result in zip(keep, results, strict=True):
            if isinstance(result, BackendUnavailableError):
                # This one and the later ones wait (events leave the intake oldest first only).
                unavailable = result
                rows = [r for r in rows if r.seq < row.seq]
                break
            if isinstance(result, LineageError):
                failures[row.seq] = result
                log.warning("OpenLineage event %d of the intake failed to map: %s %s", row.seq, result.code, result)
        self.intake.done(rows, failures, max(raw_seqs) if raw_seqs else None)
        if unavailable is not None:
            raise unavailable
        return len(rows)

    def run(self, stop: threading.Event) -> None:
        """Map until ``stop`` is set (the group under way is finished first). While the store is
        unavailable (or mapping fails unexpectedly, outside any one event), the events wait: the
        mapper tries again, waiting twice as long each time (up to :data:`RETRY_MAX_S`), and the
        intake's status says why (:meth:`Intake.stall`)."""
        wait, recover = 0.0, True  # at start, and after a failed try: what was landed is found first
        while not stop.is_set():
            try:
                if recover:
                    self.anchor()
                    self.recover()
                    recover = False
                mapped = self.step()
            except Exception as exc:  # the events wait; the error is shown and logged
                wait, recover = min(RETRY_MAX_S, max(0.25, 2 * wait)), True
                error = exc if isinstance(exc, LineageError) else LineageError(f"mapping failed unexpectedly: {exc!r}")
                if not self.intake.stall():
                    log.error("OpenLineage events wait in the intake: %s", error.message,
                              exc_info=not isinstance(exc, BackendUnavailableError))
                self.intake.stalled(error)
                stop.wait(wait)
                continue
            if wait:
                log.warning("mapping the OpenLineage intake again")
                self.intake.stalled(None)
                wait = 0.0
            if not mapped:
                stop.wait(IDLE_S)


class MapperProcess:
    """The background mapper of one server process: a child process (:func:`main`), started again
    if it dies, stopped (its group under way finished) with the server."""

    def __init__(self, path: Path, settings: Settings) -> None:
        from lineage.settings import settings_env

        self.path = path
        self.env = {**os.environ, **settings_env(settings)}
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None
        # The watchdog's restart and stop() take turns: no mapper is started once stopping began.
        self._turn = threading.Lock()

    def start(self) -> None:
        self._spawn()
        self._watch = threading.Thread(target=self._watchdog, daemon=True, name="intake-mapper-watch")
        self._watch.start()

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "lineage.ingest.openlineage_intake", str(self.path)]
        self._proc = subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL)

    def _watchdog(self) -> None:
        while not self._stopping.wait(1.0):
            with self._turn:
                proc = self._proc
                if proc is not None and proc.poll() is not None and not self._stopping.is_set():
                    log.error("the OpenLineage intake mapper exited with %s; starting it again", proc.returncode)
                    self._spawn()

    def stop(self, timeout: float = 60.0) -> None:
        with self._turn:
            self._stopping.set()
            proc = self._proc
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def map_all(settings: Settings, path: Path) -> int:
    """Map everything waiting in the intake at ``path`` now, in this process; how many events."""
    from lineage.storage import open_store

    if not path.exists():
        return 0
    lock = _try_lock(path)
    if lock is None:  # another process maps this intake
        return 0
    intake = Intake(path)
    try:
        if not intake.backlog():
            return 0
        with open_store(settings.store, **store_options(settings)) as store:
            mapper = IntakeMapper(store, intake)
            total = mapper.recover()
            while n := mapper.step():
                total += n
            return total
    finally:
        intake.close()
        os.close(lock)


def _try_lock(path: Path) -> int | None:
    """The intake's mapper lock (an open descriptor holding it), or None when another process has it."""
    import fcntl

    fd = os.open(f"{path}.mapper-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def main() -> None:
    """The mapper process: ``python -m lineage.ingest.openlineage_intake <intake path>``, settings
    from ``LINEAGE_*``. Waits for the intake's lock file (one mapper per intake), maps until SIGTERM
    (the group under way is finished) or until its parent process is gone."""
    from lineage.settings import load_settings
    from lineage.storage import open_store

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    path = Path(sys.argv[1])
    parent = os.getppid()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C reaches the whole process group: the server stops, then stops this process (SIGTERM).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def orphaned() -> bool:
        return os.getppid() != parent

    while (lock := _try_lock(path)) is None:
        if orphaned() or stop.wait(0.25):
            return
    settings = load_settings()

    def watch_parent() -> None:
        while not stop.wait(0.5):
            if orphaned():
                stop.set()

    threading.Thread(target=watch_parent, daemon=True, name="parent-watch").start()
    intake = Intake(path)
    with open_store(settings.store, **store_options(settings)) as store:
        import gc

        gc.freeze()  # what start-up built stays: later collections need not walk it
        IntakeMapper(store, intake).run(stop)
    intake.close()
    os.close(lock)


if __name__ == "__main__":
    main()
