"""Group commit for concurrent OpenLineage requests.

Each request hands its (already validated) events to the committer and waits. Whichever request
takes the write lock first becomes the leader: it lands every queued event in one write, maps them
in one transaction, and wakes the requests it served. Under load many events share one commit (one
disk flush); a lone request is served at once. No background thread: leaders are request threads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lineage.errors import LineageError
from lineage.ingest.openlineage import OpenLineageIngester, Outcome
from lineage.ingest.openlineage_events import Event
from lineage.ingest.openlineage_scope import Author

Result = Outcome | LineageError


@dataclass(slots=True)
class _Item:
    payloads: Sequence[Any]
    events: Sequence[Event]
    principal: Author
    results: list[Result] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class GroupCommitter:
    def __init__(self, ingester: OpenLineageIngester, *, max_events: int = 500) -> None:
        self.ingester = ingester
        self.max_events = max_events
        self._queue: list[_Item] = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()

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
                    group: list[_Item] = []
                    size = 0
                    while self._queue and (not group or size + len(self._queue[0].events) <= self.max_events):
                        size += len(self._queue[0].events)
                        group.append(self._queue.pop(0))
                self._run(group)
        if item.error is not None:
            raise item.error
        return item.results

    def _run(self, group: list[_Item]) -> None:
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
