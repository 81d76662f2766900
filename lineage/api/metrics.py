"""Prometheus metrics, one registry per app (never the process-global one).

Several apps can live in one process (tests, embedded use) without their series colliding, and
``/metrics`` shows exactly this app's numbers.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from strawberry.extensions import SchemaExtension

from graphql import GraphQLError

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: Operation names are chosen by clients: cap the number of label values kept.
MAX_OPERATION_LABELS = 200


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lineage_graphql_requests",
            "GraphQL operations executed, by operation name and type.",
            ["operation", "type"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lineage_graphql_request_duration_seconds",
            "Time to execute a GraphQL operation, by operation name.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.response_cache = Counter(
            "lineage_graphql_response_cache",
            "GraphQL POST requests by response cache outcome: hit (answered from the cache, or by an identical "
            "request executed meanwhile), miss (executed, "
            "then kept when free of errors), bypass (a document whose answer is never kept).",
            ["result"],
            registry=self.registry,
        )
        self.errors = Counter(
            "lineage_errors",
            "Errors returned to clients, by stable error code.",
            ["code"],
            registry=self.registry,
        )
        self.store_latency = Histogram(
            "lineage_store_call_duration_seconds",
            "Time spent in store calls (run in worker threads), by call.",
            ["call"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.intake_waiting = Gauge(
            "lineage_openlineage_intake_waiting",
            "OpenLineage events accepted and waiting in the intake to be mapped (openlineage_ack=landed).",
            registry=self.registry,
        )
        self.intake_failed = Gauge(
            "lineage_openlineage_intake_failed",
            "OpenLineage events accepted that failed to map, kept in the intake with their error.",
            registry=self.registry,
        )
        self.intake_stalled = Gauge(
            "lineage_openlineage_intake_stalled_seconds",
            "How long mapping the OpenLineage intake has waited for an unavailable store (0 while it maps).",
            registry=self.registry,
        )
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def operation_label(self, name: str | None) -> str:
        """The label for a client-chosen operation name, bounded in format and number."""
        if not name:
            return "anonymous"
        if not _OPERATION_NAME.match(name):
            return "invalid"
        with self._lock:
            if name in self._names:
                return name
            if len(self._names) >= MAX_OPERATION_LABELS:
                return "other"
            self._names.add(name)
            return name

    def error(self, code: str) -> None:
        self.errors.labels(code).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class OperationMetrics(SchemaExtension):
    """Count and time every operation, and count its errors by code."""

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        metrics: Metrics | None = getattr(self.execution_context.context, "metrics", None)
        if metrics is None:
            return
        ec = self.execution_context
        name = metrics.operation_label(ec.operation_name or _first_operation_name(ec))
        try:
            kind = ec.operation_type.value
        except Exception:  # an unparsable document has no operation type
            kind = "unknown"
        metrics.requests.labels(name, kind).inc()
        metrics.latency.labels(name).observe(time.perf_counter() - start)
        result = ec.result
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        for error in errors:
            code = (error.extensions or {}).get("code", "INTERNAL")
            metrics.error(str(code))


def _first_operation_name(ec: object) -> str | None:
    document = getattr(ec, "graphql_document", None)
    for definition in getattr(document, "definitions", ()):
        name = getattr(definition, "name", None)
        if getattr(definition, "operation", None) is not None:
            return str(name.value) if name is not None else None
    return None
