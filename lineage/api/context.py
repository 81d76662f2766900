"""Per-app services and the per-request GraphQL context.

The store is synchronous; every call goes through :meth:`Context.call`, which runs it in a worker
thread (the event loop never blocks on storage) and times it for ``/metrics``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import BaseContext

from lineage.api.limits import Limits
from lineage.api.metrics import Metrics
from lineage.api.principals import PrincipalCache
from lineage.api.response_cache import ResponseCache
from lineage.errors import LimitExceededError, LineageError
from lineage.governance.access import Principal, require_admin, require_read, require_writer
from lineage.settings import Settings
from lineage.storage.base import GraphStore

if TYPE_CHECKING:
    from lineage.api.schema.loaders import Loaders
    from lineage.ingest.openlineage_intake import Intake

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(slots=True)
class Services:
    """What one app shares between requests: built in the lifespan, closed there."""

    settings: Settings
    store: GraphStore
    metrics: Metrics
    limits: Limits
    anonymous_read: bool
    #: Traversals (CPU work) run at most this many at a time per process, so a flood of expensive
    #: fields queues up instead of starving the event loop of the interpreter lock.
    traversals: anyio.CapacityLimiter | None = None
    #: Principals of recently seen tokens (see :mod:`lineage.api.principals`).
    principals: PrincipalCache = field(default_factory=PrincipalCache)
    #: Set once the traversal index built at start is ready (or failed to build: reads then report
    #: the error themselves). Traversals wait for it before their work budget's clock starts. Set
    #: from the start for services that build no index at start.
    index_ready: threading.Event = field(default_factory=lambda: _set(threading.Event()))
    #: Answers to repeated read queries while the audit head stays (None: nothing kept).
    response_cache: ResponseCache | None = None
    #: The OpenLineage intake, when events are answered once landed (openlineage_ack=landed).
    intake: Intake | None = None


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


async def timed_call(metrics: Metrics, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking store call in a worker thread and record how long it took."""
    start = time.perf_counter()
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    finally:
        metrics.store_latency.labels(_name(fn)).observe(time.perf_counter() - start)


async def traversal_call(services: Services, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a traversal in a worker thread, at most ``services.traversals`` at a time, timed."""
    start = time.perf_counter()
    try:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=services.traversals)
    finally:
        services.metrics.store_latency.labels(_name(fn)).observe(time.perf_counter() - start)


def _name(fn: object) -> str:
    return str(getattr(getattr(fn, "func", fn), "__name__", "call"))


class Context(BaseContext):
    """Everything a resolver needs: the store, limits, the caller and request-scoped loaders."""

    def __init__(
        self, services: Services, principal: Principal | None, auth_error: LineageError | None = None
    ) -> None:
        super().__init__()
        self.services = services
        self.principal = principal
        self.auth_error = auth_error
        self._budget = services.limits.max_result_nodes
        #: Traversal work this request may do, shared by all its fields (see lineage.analysis.budget).
        self.work = services.limits.work_budget()
        self._loaders: Loaders | None = None

    @property
    def store(self) -> GraphStore:
        return self.services.store

    @property
    def limits(self) -> Limits:
        return self.services.limits

    @property
    def metrics(self) -> Metrics:
        return self.services.metrics

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from lineage.api.schema.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

    async def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await timed_call(self.metrics, fn, *args, **kwargs)

    async def traverse(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Like :meth:`call`, for traversals: bounded concurrency (see ``Services.traversals``); the
        request's work budget starts counting time when its first traversal gets a worker and the
        traversal index built at start is ready (waiting for it is not the request's work)."""
        ready = self.services.index_ready

        @functools.wraps(fn)
        def started() -> R:
            ready.wait()
            self.work.start()
            return fn(*args, **kwargs)

        return await traversal_call(self.services, started)

    # -- access ------------------------------------------------------------------------------

    def _caller(self) -> Principal | None:
        if self.auth_error is not None:
            raise self.auth_error
        return self.principal

    def reader(self) -> Principal:
        return require_read(self._caller(), self.services.anonymous_read)

    def writer(self, action: str) -> Principal:
        return require_writer(self._caller(), action)

    def admin(self, action: str) -> Principal:
        return require_admin(self._caller(), action)

    # -- limits ------------------------------------------------------------------------------

    def spend(self, nodes: int) -> None:
        """Count nodes about to be returned; refuse the request past the per-request budget."""
        self._budget -= nodes
        if self._budget < 0:
            limit = self.limits.max_result_nodes
            raise LimitExceededError(
                f"this request would return more than {limit} nodes; ask for fewer levels or smaller pages "
                "(impact and provenance return whole closures without nesting)",
                details={"limit": limit},
            )
