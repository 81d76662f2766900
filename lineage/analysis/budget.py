"""Work budgets: how much traversal one request may do, checked while it works.

A result-size limit checked after the work does not stop a request that works hard to return
little (``paths`` on a ladder of diamonds, thirty aliases of the same field). A :class:`WorkBudget`
is made per request and handed to every traversal of that request; traversals :meth:`charge` it as
they go (nodes expanded, paths built) and each charge also checks the wall-clock deadline. Fields of
one request run in parallel worker threads and share one budget, so the request as a whole is
bounded, not each field. Past any bound the traversal stops with LIMIT_EXCEEDED.

Library callers (CLI, SDK) pass no budget: their work is their own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from lineage.errors import LimitExceededError

#: Defaults for one API request.
MAX_EXPANDED = 2_000_000
MAX_PATHS = 2_000
MAX_SECONDS = 5.0


class WorkBudget:
    """Nodes expanded, paths built and wall time one request may spend, across all its fields."""

    def __init__(
        self,
        *,
        max_expanded: float = MAX_EXPANDED,
        max_paths: float = MAX_PATHS,
        seconds: float = MAX_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_expanded = max_expanded
        self.max_paths = max_paths
        self.seconds = seconds
        self._clock = clock
        #: Set when the first traversal starts (time spent queueing for a worker does not count).
        self.deadline: float | None = None
        self.expanded = 0
        self.paths = 0
        self._lock = threading.Lock()

    @classmethod
    def unlimited(cls) -> WorkBudget:
        return cls(max_expanded=math.inf, max_paths=math.inf, seconds=math.inf)

    def start(self) -> None:
        """Start the clock, if it is not running yet."""
        with self._lock:
            if self.deadline is None:
                self.deadline = self._clock() + self.seconds

    def charge(self, *, expanded: int = 0, paths: int = 0) -> None:
        """Count work just done; raise LimitExceededError once any bound is passed."""
        self.start()
        with self._lock:
            self.expanded += expanded
            self.paths += paths
            over_nodes = self.expanded > self.max_expanded
            over_paths = self.paths > self.max_paths
        if over_nodes:
            self._refuse("nodes expanded", self.max_expanded)
        if over_paths:
            self._refuse("paths built", self.max_paths)
        if self.deadline is not None and self._clock() > self.deadline:
            self._refuse("seconds of traversal", self.seconds)

    def _refuse(self, what: str, limit: float) -> None:
        shown = int(limit) if float(limit).is_integer() else limit
        raise LimitExceededError(
            f"this request used up its work budget ({shown} {what}); ask for fewer paths, a smaller depth, "
            "or fewer fields per request",
            details={"budget": what, "limit": shown},
        )


def charge(budget: WorkBudget | None, *, expanded: int = 0, paths: int = 0) -> None:
    """:meth:`WorkBudget.charge` when there is a budget."""
    if budget is not None:
        budget.charge(expanded=expanded, paths=paths)


def charger(budget: WorkBudget | None) -> Callable[[int], None] | None:
    """A callback charging nodes expanded to the budget (None without a budget), for traversals
    that report their work level by level."""
    if budget is None:
        return None
    return lambda expanded: budget.charge(expanded=expanded)
