"""The SDK over a lineage server: GraphQL at ``<url>/graphql`` with httpx and a bearer token.

Server errors come back as the engine's own exceptions (by their ``extensions.code``); a server
that cannot be reached raises BackendUnavailableError (CLI exit code 3).

Retries: every operation the SDK sends is idempotent (queries, and ``register``: registering the
same batch twice changes nothing), so a connection error, a timeout or a 502/503/504 answer is
retried with exponential backoff and jitter (honouring ``Retry-After``), until ``retry_for``
seconds have passed since the first attempt; then the error says how many attempts were made over
how long, and what the last failure was. ``retry_for=0`` turns retries off.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from lineage import errors
from lineage.model import Batch, EdgeType, NodeKind
from lineage.sdk.columns import column_lineage
from lineage.sdk.governance import (
    EFFECTIVE_QUERY,
    REACH_QUERY,
    ClassificationReach,
    NodeClassifications,
    effective_from_json,
    reach_from_json,
)
from lineage.sdk.types import AuditEntry, ColumnLineage, Edge, LineageGraph, Node, Reached, RegisterResult
from lineage.storage.base import Direction

NODE = (
    "fragment N on Node { id kind namespace name version properties owners tags eventTime recordedAt recordedBy "
    "retractedAt }"
)

REGISTER = """mutation Register($batch: BatchInput!) {
  register(batch: $batch) { nodesCreated nodesUpdated edgesCreated unchanged auditSeq recordedAt nodeIds }
}"""

GET = "query Get($id: ID!, $asOf: DateTime) { node(id: $id, asOf: $asOf) { ...N } } " + NODE

SEARCH = (
    "query Search($text: String!, $kinds: [NodeKind!], $first: Int!, $asOf: DateTime) "
    "{ search(text: $text, kinds: $kinds, first: $first, asOf: $asOf) { ...N } } " + NODE
)

IMPACT = (
    """query Impact($id: ID!, $depth: Int, $kinds: [NodeKind!], $asOf: DateTime, $first: Int!, $after: String) {
  impact(id: $id, depth: $depth, kinds: $kinds, asOf: $asOf, first: $first, after: $after) {
    root { ...N neighbours(direction: DOWNSTREAM, first: 500) { edgeType node { id } } }
    truncated
    reached {
      pageInfo { hasNextPage endCursor }
      edges {
        distance production path { nodeIds edgeTypes }
        node { ...N neighbours(direction: DOWNSTREAM, first: 500) { edgeType node { id } } }
      }
    }
  }
} """
    + NODE
)

PROVENANCE = (
    """query Provenance($id: ID!, $depth: Int, $kinds: [NodeKind!], $asOf: DateTime) {
  provenance(id: $id, depth: $depth, kinds: $kinds, asOf: $asOf) {
    root { ...N neighbours(direction: UPSTREAM, first: 500) { edgeType node { id } } }
    truncated
    groups {
      items {
        distance production path { nodeIds edgeTypes }
        node { ...N neighbours(direction: UPSTREAM, first: 500) { edgeType node { id } } }
      }
    }
  }
} """
    + NODE
)

AUDIT = """query Audit($filter: AuditFilterInput, $first: Int!, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { seq at principal source action subjects payload prevHash hash } }
  }
}"""

COLUMNS = (
    """query Columns($id: ID!) {
  node(id: $id) { ...N upstream(kinds: [RUN], first: 500) { id upstream(kinds: [DATASET], first: 500) { id } } }
} """
    + NODE
)

#: Every document the SDK sends (tests validate them against graphql/schema.graphql).
DOCUMENTS = {
    "register": REGISTER,
    "get": GET,
    "search": SEARCH,
    "impact": IMPACT,
    "provenance": PROVENANCE,
    "audit": AUDIT,
    "columns": COLUMNS,
}

_CODES: dict[str, type[errors.LineageError]] = {
    "BAD_INPUT": errors.BadInputError,
    "NOT_FOUND": errors.NotFoundError,
    "CONFLICT": errors.ConflictError,
    "LIMIT_EXCEEDED": errors.LimitExceededError,
    "UNAUTHENTICATED": errors.UnauthenticatedError,
    "FORBIDDEN": errors.ForbiddenError,
    "BACKEND_UNAVAILABLE": errors.BackendUnavailableError,
    "INTEGRITY": errors.IntegrityError,
}
PAGE = 500


def batch_input(batch: Batch) -> dict[str, Any]:
    """A Batch as the GraphQL ``BatchInput`` variable."""
    nodes = []
    for n in batch.nodes:
        item: dict[str, Any] = {"kind": n.kind.name, "namespace": n.namespace, "name": n.name}
        if n.version is not None:
            item["version"] = n.version
        if n.event_time is not None:
            item["eventTime"] = n.event_time.isoformat()
        if n.owners:
            item["owners"] = list(n.owners)
        if n.properties:
            item["properties"] = n.properties
        nodes.append(item)
    edges = []
    for e in batch.edges:
        item = {"from": e.source, "type": e.type.name, "to": e.target}
        if e.event_time is not None:
            item["eventTime"] = e.event_time.isoformat()
        if e.properties:
            item["properties"] = e.properties
        edges.append(item)
    return {"nodes": nodes, "edges": edges}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


#: Answers that mean "not now" (a proxy or the server itself): worth another try.
RETRY_STATUS = frozenset({502, 503, 504})


@dataclass(slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by the total time since the first attempt."""

    retry_for: float = 30.0  # seconds; 0 turns retries off
    first_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return self.rng.uniform(self.first_delay / 2, min(self.max_delay, self.first_delay * 2**attempt))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


class RemoteBackend:
    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        transport: Any = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.endpoint = self.url if self.url.endswith("/graphql") else f"{self.url}/graphql"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        self.retry = retry or RetryPolicy()

    def close(self) -> None:
        self._http.close()

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        """POST with retries on connection errors and 502/503/504 (every SDK operation is idempotent)."""
        policy = self.retry
        started = policy.clock()
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = self._http.post(self.endpoint, json=payload)
                if response.status_code not in RETRY_STATUS:
                    return response
                problem = f"HTTP {response.status_code}"
                retry_after = _retry_after(response)
                last: httpx.Response | None = response
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                last = None
            elapsed = policy.clock() - started
            wait = policy.delay(attempt, retry_after)
            if elapsed + wait > policy.retry_for:
                if last is not None and attempt == 1:
                    return last  # no retries wanted: the caller reports the answer as it is
                tried = f"after {attempt} attempt(s) over {elapsed:.1f}s" if attempt > 1 else "(no retries)"
                raise errors.BackendUnavailableError(
                    f"cannot reach the lineage server at {self.url} {tried}; last error: {problem}",
                    details={"url": self.url, "attempts": attempt},
                )
            policy.sleep(wait)

    def call(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one GraphQL operation; raise the engine error matching the server's code."""
        response = self._post({"query": document, "variables": variables})
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if response.status_code in (502, 503, 504):
                raise errors.BackendUnavailableError(
                    f"the lineage server at {self.url} is unavailable (HTTP {response.status_code})"
                )
            raise errors.LineageError(
                f"unexpected answer from {self.endpoint} (HTTP {response.status_code}); is it a lineage server?"
            )
        problems = body.get("errors") or []
        if problems:
            first = problems[0]
            ext = first.get("extensions") or {}
            cls = _CODES.get(str(ext.get("code")), errors.LineageError)
            raise cls(str(first.get("message")), details=ext.get("details") or None)
        if response.status_code >= 400:
            raise errors.LineageError(f"HTTP {response.status_code} from {self.endpoint}")
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def register(self, batch: Batch) -> RegisterResult:
        r = self.call(REGISTER, {"batch": batch_input(batch)})["register"]
        return RegisterResult(
            r["nodesCreated"],
            r["nodesUpdated"],
            r["edgesCreated"],
            r["unchanged"],
            r["auditSeq"],
            datetime.fromisoformat(r["recordedAt"]) if r.get("recordedAt") else None,
            tuple(r.get("nodeIds") or ()),
        )

    def get(self, node_id: str, as_of: datetime | None) -> Node:
        found = self.call(GET, {"id": node_id, "asOf": _iso(as_of)}).get("node")
        if not found:
            raise errors.NotFoundError(f"no node {node_id!r}")
        return Node.from_json(found)

    def search(self, text: str, kinds: Sequence[NodeKind], limit: int, as_of: datetime | None) -> list[Node]:
        variables = {"text": text, "kinds": [k.name for k in kinds] or None, "first": limit, "asOf": _iso(as_of)}
        return [Node.from_json(n) for n in self.call(SEARCH, variables).get("search") or []]

    def lineage(
        self, node_id: str, direction: Direction, depth: int | None, kinds: Sequence[NodeKind], as_of: datetime | None
    ) -> LineageGraph:
        variables: dict[str, Any] = {
            "id": node_id,
            "depth": depth,
            "kinds": [k.name for k in kinds] or None,
            "asOf": _iso(as_of),
        }
        items: list[dict[str, Any]] = []
        if direction is Direction.DOWNSTREAM:
            after = None
            while True:
                report = self.call(IMPACT, {**variables, "first": PAGE, "after": after})["impact"]
                page = report["reached"]
                items += page["edges"]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
        else:
            report = self.call(PROVENANCE, variables)["provenance"]
            items = [item for group in report["groups"] for item in group["items"]]
        reached = tuple(
            Reached(
                Node.from_json(i["node"]),
                int(i["distance"]),
                tuple(i["path"]["nodeIds"]),
                tuple(EdgeType(t) for t in i["path"]["edgeTypes"]),
                bool(i.get("production")),
            )
            for i in items
        )
        reached = tuple(sorted(reached, key=lambda r: (r.distance, r.node.id)))
        members = {node_id, *(r.node.id for r in reached)}
        edges: set[Edge] = set()
        for raw in [report["root"], *(i["node"] for i in items)]:
            for nb in raw.get("neighbours") or []:
                other = str(nb["node"]["id"])
                if other not in members:
                    continue
                kind = EdgeType(nb["edgeType"])
                me = str(raw["id"])
                edges.add(Edge(me, kind, other) if direction is Direction.DOWNSTREAM else Edge(other, kind, me))
        ordered = tuple(sorted(edges, key=lambda e: (e.source, e.type.value, e.target)))
        root = Node.from_json(report["root"])
        return LineageGraph(root, direction, reached, ordered, bool(report["truncated"]), as_of)

    def audit(
        self,
        *,
        principal: str | None,
        subject: str | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[AuditEntry]:
        filt = {
            "principal": principal,
            "subject": subject,
            "action": action,
            "since": _iso(since),
            "until": _iso(until),
        }
        out: list[AuditEntry] = []
        after = None
        while len(out) < limit:
            page = self.call(AUDIT, {"filter": filt, "first": min(PAGE, limit - len(out)), "after": after})["auditLog"]
            for edge in page["edges"]:
                e = edge["node"]
                out.append(
                    AuditEntry(
                        int(e["seq"]),
                        datetime.fromisoformat(e["at"]),
                        e["principal"],
                        e["source"],
                        e["action"],
                        tuple(e["subjects"]),
                        e["payload"],
                        e["hash"],
                        e["prevHash"],
                    )
                )
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        return out[:limit]

    def column_lineage(self, dataset_id: str, field: str | None) -> list[ColumnLineage]:
        node = self.call(COLUMNS, {"id": dataset_id}).get("node")
        if not node:
            raise errors.NotFoundError(f"no node {dataset_id!r}")
        inputs = [str(i["id"]) for run in node.get("upstream") or [] for i in run.get("upstream") or []]
        return column_lineage(dataset_id, dict(node.get("properties") or {}), inputs, field)

    def classifications(self, node_id: str, as_of: datetime | None) -> NodeClassifications:
        data = self.call(EFFECTIVE_QUERY, {"id": node_id, "asOf": _iso(as_of)})["effectiveClassifications"]
        return effective_from_json(data)

    def classification_reach(
        self, classification: str, kinds: Sequence[NodeKind], as_of: datetime | None
    ) -> ClassificationReach:
        variables = {"c": classification, "kinds": [k.name for k in kinds] or None, "asOf": _iso(as_of)}
        return reach_from_json(self.call(REACH_QUERY, variables)["classificationReach"])
