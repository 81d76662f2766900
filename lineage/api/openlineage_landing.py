"""Landing OpenLineage events in the intake, on the event loop (``openlineage_ack=landed``).

Requests queue their validated events; one callback per turn of the event loop lands everything
queued in that turn in one durable commit, then answers each request. The commit runs on the loop
thread itself: it is short (a few inserts and one sync of the intake's log), and no worker thread
then competes with the loop for the interpreter lock, which under load costs more CPU than the
commit. While the intake holds ``limit`` waiting events, new requests wait (asynchronously) for
the mapper to catch up, up to ``INTAKE_WAIT_S``, then get 503.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineage.errors import BackendUnavailableError, LineageError, ValidationError
from lineage.ingest.openlineage_intake import Accepted, Intake
from lineage.ingest.openlineage_scope import Author, author_id

#: How long a request waits for a full intake to drain before answering 503.
INTAKE_WAIT_S = 30.0
#: How often the intake's backlog is read while it is below the limit.
BACKLOG_EVERY_S = 0.05

_REFUSED = (UnicodeError, ValueError, OverflowError)


@dataclass(slots=True)
class _Queued:
    payloads: Sequence[Any]
    principal: str
    future: asyncio.Future[list[Accepted | LineageError]]


class Lander:
    """Group commit into the intake for the requests of one event loop (see the module doc)."""

    def __init__(self, intake: Intake, limit: int) -> None:
        self.intake = intake
        self.limit = limit
        self._queue: list[_Queued] = []
        self._scheduled = False
        self._backlog = 0
        self._backlog_at = 0.0

    async def submit(self, payloads: Sequence[Any], author: Author) -> list[Accepted | LineageError]:
        """Land validated events; one result per event (Accepted, or the error of one the file refuses)."""
        await self._room()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Accepted | LineageError]] = loop.create_future()
        self._queue.append(_Queued(payloads, author_id(author), future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    async def _room(self) -> None:
        now = time.monotonic()
        if now - self._backlog_at < BACKLOG_EVERY_S and self._backlog < self.limit:
            return
        deadline = now + INTAKE_WAIT_S
        while True:
            self._backlog, self._backlog_at = self.intake.backlog(), time.monotonic()
            if self._backlog < self.limit:
                return
            if self._backlog_at > deadline:
                raise BackendUnavailableError(
                    f"the OpenLineage intake holds {self._backlog} events waiting to be mapped (at most "
                    f"{self.limit}); send again later"
                )
            await asyncio.sleep(BACKLOG_EVERY_S)

    def _flush(self) -> None:
        self._scheduled = False
        group, self._queue = self._queue, []
        principals = [q.principal for q in group for _ in q.payloads]
        try:
            results = land(self.intake, principals, [p for q in group for p in q.payloads])
        except Exception as exc:  # handed to every waiting request (sqlite3.Error: a full disk, say)
            error = exc if isinstance(exc, LineageError) else _unavailable(self.intake, exc)
            for q in group:
                if not q.future.done():
                    q.future.set_exception(error)
            return
        at = 0
        for q in group:
            if not q.future.done():
                q.future.set_result(results[at : at + len(q.payloads)])
            at += len(q.payloads)


def _unavailable(intake: Intake, exc: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(f"the OpenLineage intake {intake.path} refused the events: {exc}")


def land(intake: Intake, principals: Sequence[str], payloads: Sequence[Any]) -> list[Accepted | LineageError]:
    """Keep events in the intake in one durable commit; one event the file refuses fails alone."""
    try:
        return [Accepted(seq) for seq in intake.land(principals, payloads)]
    except _REFUSED:
        pass
    out: list[Accepted | LineageError] = []
    for principal, payload in zip(principals, payloads, strict=True):
        try:
            out.append(Accepted(intake.land([principal], [payload])[0]))
        except _REFUSED as exc:
            out.append(ValidationError(f"the event cannot be stored: {exc}", details={"rule": "storable"}))
    return out
