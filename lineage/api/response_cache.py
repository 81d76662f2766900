"""Answers to repeated GraphQL read queries, kept per server process until the graph changes.

Dashboards, the web UI and scripts ask the same questions again and again ("what does this broken
dataset reach?"): while nothing is written, the answer cannot change. A response is kept under the
document, the operation name, the variables and the caller (token holder, role and namespaces), and
every entry is dropped as soon as the store's audit head moves, whoever wrote (this process, another
worker, the CLI): each request reads the head first, the same indexed lookup the traversal index
makes to catch up, so a query sent after a write returns always sees it. Identical requests that
arrive while the first of them is executed wait for its answer instead of executing it again (after
each write, a busy dashboard's questions are each answered once).

Only what is a function of the recorded graph is kept:

- query operations (never mutations) whose top-level fields are all in :data:`CACHEABLE_FIELDS`,
  without ``@defer``/``@stream``, sent as a JSON ``POST``;
- answers without errors (a refused or failed request is executed every time);
- callers whose token was accepted: the token is checked on every request as before (a revoked or
  wrong token is refused even when its question was answered a moment ago).

Left out on purpose: ``auditVerification`` (it re-reads the stored bytes to detect tampering, which
does not move the head), ``policyReport`` (ages are measured against the clock), ``viewer`` and
``tokens`` (per-caller, with last-use times). Memory is bounded in bytes (least recently used first
out); one answer larger than a sixteenth of the budget is not kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field

from graphql.language import Visitor

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    visit,
)
from lineage.api.errors import parsed
from lineage.api.limits import MAX_CACHED_DOCUMENT
from lineage.errors import LineageError
from lineage.governance.access import Principal
from lineage.model.documents import loads_json
from lineage.storage.base import GraphStore

#: Top-level query fields whose answers depend only on the graph and its audit log at the head.
CACHEABLE_FIELDS = frozenset(
    {
        "__typename",
        "node",
        "nodes",
        "search",
        "impact",
        "provenance",
        "paths",
        "diff",
        "auditLog",
        "schemaInfo",
        "effectiveClassifications",
        "classificationReach",
    }
)
#: Distinct documents whose cacheability is remembered (clients repeat a few documents).
DOCUMENTS = 512
#: Bytes counted per entry beyond its body and key (dictionary slots, objects).
ENTRY_OVERHEAD = 200

Key = tuple[bytes, str | None, bytes, tuple[str, str, tuple[str, ...], bool] | None]


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a request asked, as a cache key, the audit head it was asked at, and whether it is the
    first of concurrent identical requests (the one that executes and shares its answer)."""

    key: Key
    head: int
    first: bool = True


def current_head(store: GraphStore) -> int | None:
    """The store's audit sequence number now, read fresh (the traversal index's own catch-up
    lookup); None for a store without an index (nothing is kept then)."""
    index = store.traversal_index()
    return None if index is None else index.head


@dataclass(slots=True)
class ResponseCache:
    """Response bodies by :data:`Key`, valid at one audit head, within ``max_bytes``."""

    max_bytes: int
    _head: int = -1
    _bytes: int = 0
    _entries: OrderedDict[Key, bytes] = field(default_factory=OrderedDict)
    _pending: dict[tuple[Key, int], asyncio.Future[bytes | None]] = field(default_factory=dict)
    #: whether a document's answers may be kept, by digest of (operation name, document)
    _documents: OrderedDict[bytes, bool] = field(default_factory=OrderedDict)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def size(self) -> int:
        """Bytes held now (bodies, keys and per-entry overhead)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, body: bytes, principal: Principal | None) -> Key | None:
        """The key of a JSON request body, or None when its answer is not kept."""
        try:  # bounded nesting: what the executor would refuse is refused before anything is encoded
            request = loads_json(body)
        except (LineageError, ValueError):  # JSON and Unicode errors included
            return None  # executed as usual, which reports the error
        if not isinstance(request, dict) or set(request) - {"query", "variables", "operationName"}:
            return None
        query = request.get("query")
        variables = request.get("variables")
        operation = request.get("operationName")
        if not isinstance(query, str) or not isinstance(operation, str | None) or len(query) > MAX_CACHED_DOCUMENT:
            return None
        if not isinstance(variables, dict | None) or not self.cacheable(query, operation):
            return None
        try:  # one spelling per value: NaN and infinities (which orjson writes as null) refused
            encoded = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
        except ValueError:
            return None
        digest = hashlib.blake2b(query.encode(), digest_size=16).digest()
        return digest, operation, encoded, _caller(principal)

    def cacheable(self, query: str, operation: str | None) -> bool:
        """Whether the operation of this document is a read whose answer may be kept (remembered)."""
        remembered = hashlib.blake2b(f"{operation or ''}\0{query}".encode(), digest_size=16).digest()
        known = self._documents.get(remembered)
        if known is None:
            known = _cacheable(query, operation)
            self._documents[remembered] = known
            while len(self._documents) > DOCUMENTS:
                self._documents.popitem(last=False)
        else:
            self._documents.move_to_end(remembered)
        return known

    def get(self, key: Key, head: int) -> bytes | None:
        """The body kept for ``key`` at ``head``; a new head first drops every entry."""
        self._advance(head)
        body = self._entries.get(key)
        if body is not None:
            self._entries.move_to_end(key)
        return body

    def put(self, key: Key, head: int, body: bytes) -> None:
        """Keep ``body`` for ``key``, unless the head moved on since it was asked (or it is too big)."""
        if head != self._head:
            return  # asked before the last write this cache saw: not kept
        size = _size(key, body)
        if size > self.max_bytes // 16:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= _size(key, old)
        self._entries[key] = body
        self._bytes += size
        while self._bytes > self.max_bytes:
            dropped_key, dropped = self._entries.popitem(last=False)
            self._bytes -= _size(dropped_key, dropped)

    def join(self, key: Key, head: int) -> asyncio.Future[bytes | None] | None:
        """None when no identical request is being executed at this head (the caller executes it,
        then calls :meth:`finish`); else the future that request resolves with its answer (None:
        it failed or had errors, and the caller executes the request itself)."""
        pending = self._pending.get((key, head))
        if pending is not None:
            return pending
        self._pending[(key, head)] = asyncio.get_running_loop().create_future()
        return None

    def finish(self, key: Key, head: int, body: bytes | None) -> None:
        """Hand the answer of a request that :meth:`join` let execute to those that waited for it."""
        pending = self._pending.pop((key, head), None)
        if pending is not None and not pending.done():
            pending.set_result(body)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _advance(self, head: int) -> None:
        if head != self._head:
            self.clear()
            self._head = head


def _size(key: Key, body: bytes) -> int:
    return len(body) + len(key[0]) + len(key[1] or "") + len(key[2]) + ENTRY_OVERHEAD


def _caller(principal: Principal | None) -> tuple[str, str, tuple[str, ...], bool] | None:
    if principal is None:
        return None
    return principal.name, str(principal.role), tuple(principal.namespaces), principal.anonymous


def _cacheable(query: str, operation: str | None) -> bool:
    try:
        document = parsed(query)
    except GraphQLError:
        return False
    chosen = _operation(document, operation)
    if chosen is None or chosen.operation is not OperationType.QUERY:
        return False
    for selection in chosen.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value not in CACHEABLE_FIELDS:
            return False
    return not _streams(document)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    named = [o for o in operations if o.name is not None and o.name.value == name]
    return named[0] if len(named) == 1 else None


def _streams(document: DocumentNode) -> bool:
    """Whether the document asks for incremental delivery anywhere (``@defer``, ``@stream``)."""
    finder = _IncrementalDelivery()
    visit(document, finder)
    return finder.found


class _IncrementalDelivery(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        if node.name.value in ("defer", "stream"):
            self.found = True
