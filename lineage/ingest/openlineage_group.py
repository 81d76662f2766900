"""Group commit for concurrent OpenLineage requests.

Each request hands its (already validated) events to the committer and waits. Events queued while
a commit is under way go together into the next one: they are landed in one write, mapped in one
transaction and acknowledged together, so under load many events share one commit (one disk
flush) while a lone request is served at once.

Two ways in, with the same grouping:

- :meth:`GroupCommitter.submit_async` for an event loop (the HTTP endpoint): the request awaits a
  future; the first request finding no commit under way starts a drain task on the loop, which
  runs each group in a worker thread (one thread hop per group, not per request) until the queue
  is empty, then ends. No thread lives longer than a commit.
- :meth:`GroupCommitter.submit` for plain threads: whichever thread takes the write lock first
  leads and commits every queued event.

Server processes sharing one SQLite file (``lineage serve --workers N``) take turns through a lock
file beside it (``<database>.commit-lock``), so a waiting process starts its commit the moment the
other's ends instead of polling for SQLite's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage.errors import LineageError
from lineage.ingest.openlineage import OpenLineageIngester, Outcome
from lineage.ingest.openlineage_events import Event
from lineage.ingest.openlineage_scope import Author
from lineage.storage.sqlite import SQLiteStore

Result = Outcome | LineageError


@dataclass(slots=True)
class _Item:
    payloads: Sequence[Any]
    events: Sequence[Event]
    principal: Author
    results: list[Result] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False
    future: asyncio.Future[list[Result]] | None = None


class GroupCommitter:
    def __init__(self, ingester: OpenLineageIngester, *, max_events: int = 500) -> None:
        self.ingester = ingester
        self.max_events = max_events
        self._queue: list[_Item] = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._draining = False
        self._drainers: set[asyncio.Task[None]] = set()
        self._commit_lock = _CommitLock(ingester.store)

    def __del__(self) -> None:
        self._commit_lock.close()

    def submit(self, payloads: Sequence[Any], events: Sequence[Event], principal: Author) -> list[Result]:
        """Land and map validated events; return one outcome (or mapping error) per event."""
        item = _Item(payloads, events, principal)
        with self._queue_lock:
            self._queue.append(item)
        while True:
            with self._write_lock:
                if item.done:
                    break
                with self._queue_lock:
                    group = self._take()
                with self._commit_lock.held():
                    self._run(group)
        if item.error is not None:
            raise item.error
        return item.results

    async def submit_async(self, payloads: Sequence[Any], events: Sequence[Event], principal: Author) -> list[Result]:
        """:meth:`submit` for a coroutine: waits on the loop, not in a thread of its own."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Result]] = loop.create_future()
        item = _Item(payloads, events, principal, future=future)
        with self._queue_lock:
            self._queue.append(item)
            start = not self._draining
            self._draining = True
        if start:
            task = loop.create_task(self._drain())
            self._drainers.add(task)
            task.add_done_callback(self._drainers.discard)
        # The commit goes on if the request is cancelled (its client left): the events are landed.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        """Commit queued groups one after another in a worker thread until the queue is empty."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                with self._queue_lock:
                    group = self._take()
                    if not group:
                        self._draining = False
                        return
                # The group is answered by _run, in the thread, even if this task is cancelled.
                await loop.run_in_executor(None, self._run_locked, group)
        except BaseException:
            # Cancelled with the loop (the server stops): nobody else will commit what is queued.
            with self._queue_lock:
                left, self._queue = self._queue, []
                self._draining = False
            for item in left:
                item.error = LineageError("the server is stopping; the event was not stored, send it again")
                item.done = True
            _resolve(left)
            raise

    def _take(self) -> list[_Item]:
        """The next group (the caller holds the queue lock): queued items, oldest first, up to
        ``max_events`` events (at least one item)."""
        group: list[_Item] = []
        size = 0
        while self._queue and (not group or size + len(self._queue[0].events) <= self.max_events):
            size += len(self._queue[0].events)
            group.append(self._queue.pop(0))
        return group

    def _run_locked(self, group: list[_Item]) -> None:
        with self._write_lock, self._commit_lock.held():
            self._run(group)

    def _run(self, group: list[_Item]) -> None:
        if not group:
            return
        try:
            payloads = [p for item in group for p in item.payloads]
            events = [e for item in group for e in item.events]
            principals = [item.principal for item in group for _ in item.events]
            results = self.ingester.apply_many(events, principals=principals, payloads=payloads)
            at = 0
            for item in group:
                item.results = results[at : at + len(item.events)]
                at += len(item.events)
        except BaseException as exc:  # handed to every waiting request
            for item in group:
                item.error = exc
        finally:
            for item in group:
                item.done = True
            _resolve(group)


class _CommitLock:
    """For a SQLite file served by several processes: their group commits take turns on a lock
    file beside the database, so a process waiting for the write lock wakes as soon as it is free
    (SQLite's own busy wait polls, sleeping up to 100 ms between tries). Other writers are not
    affected; where no lock file can be used, commits wait for SQLite's lock as before."""

    def __init__(self, store: Any) -> None:
        self._path = Path(f"{store.path}.commit-lock") if isinstance(store, SQLiteStore) else None
        self._fd: int | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        fd = self._open()
        if fd is None:
            yield
            return
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int | None:
        if self._fd is None and self._path is not None:
            try:
                import fcntl  # noqa: F401  (POSIX only)

                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            except (ImportError, OSError):
                self._path = None  # not POSIX, or read-only media: SQLite's lock alone
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _resolve(group: list[_Item]) -> None:
    """Wake the requests of a committed group: one wake-up per event loop, not one per request."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    by_loop: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
    for item in group:
        if item.future is not None and not item.future.done():
            by_loop.setdefault(item.future.get_loop(), []).append(item)
    for loop, items in by_loop.items():
        if loop is running:
            _settle(items)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[_Item]) -> None:
    for item in items:
        future = item.future
        if future is None or future.done():
            continue
        if item.error is not None:
            future.set_exception(item.error)
        else:
            future.set_result(item.results)
