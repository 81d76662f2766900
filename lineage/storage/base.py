"""The storage contract every backend passes.

A backend implements a handful of primitives: one atomic write transaction (:class:`WriteTx`), point
reads, one-level expansion and the audit log. Everything with rules in it (batch validation, cycle
checks, idempotence, audit chaining, breadth-first traversal with one explaining path per node) is
written once, here and in :mod:`lineage.storage.writes`, so the backends cannot drift apart.

The contract tests in ``tests/storage/`` run unchanged against every backend.
"""

from __future__ import annotations

import abc
import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from lineage.audit import AuditEntry, Verification, verify
from lineage.errors import LimitExceededError, NotFoundError
from lineage.model import Batch, EdgeRecord, EdgeType, NodeKind, NodeRecord, Step, WriteResult
from lineage.model.ids import parse_node_id

if TYPE_CHECKING:
    from lineage.audit.graph_verify import GraphRows, GraphVerification
    from lineage.storage.index import TraversalIndex, Walk
    from lineage.storage.reach_table import ReachTable


class Direction(StrEnum):
    DOWNSTREAM = "downstream"  # impact: follow edges out
    UPSTREAM = "upstream"  # provenance: follow edges in


@dataclass(frozen=True, slots=True)
class Hop:
    """One edge met while expanding a frontier: ``origin`` was in the frontier, ``reached`` is new."""

    origin: str
    edge_type: EdgeType
    reached: str
    reached_kind: NodeKind


#: Hops in (origin, edge type, reached) order; an EdgeType compares as its string value.
_HOP_ORDER = attrgetter("origin", "edge_type", "reached")


_GC_LOCK = threading.Lock()
_GC_PAUSES = 0
_GC_WAS_ENABLED = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a registration or a traversal builds its many objects.

    They hold no reference cycles, yet each collection would walk all of them again: a third of
    the CPU time of a 50k-element batch or a 10k-node closure. Concurrent users are counted, so
    collection resumes (if it was on) when the last one leaves; nothing else changes.
    """
    global _GC_PAUSES, _GC_WAS_ENABLED
    with _GC_LOCK:
        if _GC_PAUSES == 0:
            _GC_WAS_ENABLED = gc.isenabled()
            gc.disable()
        _GC_PAUSES += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES -= 1
            if _GC_PAUSES == 0 and _GC_WAS_ENABLED:
                gc.enable()


class Reached(NamedTuple):
    """One reached node (a named tuple: reports build one per reached node, so creation is cheap)."""

    id: str
    kind: NodeKind
    distance: int
    via: str  # the node one step closer to the start on a shortest path
    edge_type: EdgeType


class Reach:
    """The result of a traversal: distinct nodes with their distance and a BFS tree for paths.

    Held as columns (:class:`~lineage.storage.reach_table.ReachTable`); :attr:`nodes` builds a
    :class:`Reached` for a node when it is read, so a caller that counts, pages or filters a large
    closure pays only for what it reads.
    """

    __slots__ = ("_view", "as_of", "direction", "start", "start_kind", "table", "truncated")

    def __init__(
        self,
        start: str,
        start_kind: NodeKind,
        direction: Direction,
        as_of: datetime | None,
        table: ReachTable | None = None,
        truncated: bool = False,
    ) -> None:
        self.start = start
        self.start_kind = start_kind
        self.direction = direction
        self.as_of = as_of
        self.table = table
        self.truncated = truncated
        self._view: Sequence[Reached] | None = None

    @property
    def nodes(self) -> Sequence[Reached]:
        """Reached nodes of the wanted kinds in (distance, id) order."""
        if self._view is None:
            if self.table is None or not len(self.table):
                self._view = []
            else:
                from lineage.storage.reach_table import ReachedView

                self._view = ReachedView(self.table)
        return self._view

    def _row(self, node: str) -> int:
        row = self.table.position(node) if self.table is not None else None
        if row is None:
            raise KeyError(node)
        return row

    def path(self, node: str) -> list[Step]:
        """One shortest path from the start to ``node``, each step oriented from the start."""
        if node == self.start:
            return []
        from lineage.storage.index import TYPES

        row = self._row(node)
        table = self.table
        assert table is not None
        return [Step(TYPES[int(table.etype[r])], table.id_of(r)) for r in table.chain(row)]

    def path_ids(self, node: str) -> list[str]:
        return [self.start, *(s.node for s in self.path(node))]

    def paths(self) -> dict[str, tuple[list[str], list[EdgeType]]]:
        """For every reached node at once: the ids along :meth:`path` (start first) and its edge types.

        Each node extends its parent's path, so this costs one short list per node instead of a
        walk to the start for each.
        """
        table: dict[str, tuple[list[str], list[EdgeType]]] = {self.start: ([self.start], [])}
        cols = self.table
        if cols is None or not len(cols):
            return table
        from lineage.storage.index import TYPES as types

        ids = cols.id_list()
        rows: list[tuple[list[str], list[EdgeType]]] = []
        for node, parent, etype in zip(ids, cols.parent.tolist(), cols.etype.tolist(), strict=True):
            via_ids, via_types = table[self.start] if parent < 0 else rows[parent]
            entry = ([*via_ids, node], [*via_types, types[etype]])
            rows.append(entry)
            table[node] = entry
        return table

    def counts(self) -> dict[str, int]:
        """Reached nodes by kind, kinds in the order they are first met."""
        cols = self.table
        if cols is None or not len(cols):
            return {}
        import numpy as np

        from lineage.storage.index import KINDS

        kinds = cols.kind[cols.rows()]
        codes, first, counts = np.unique(kinds, return_index=True, return_counts=True)
        order = np.argsort(first)
        return {KINDS[int(codes[i])].value: int(counts[i]) for i in order}


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit entries to list: by principal, subject, action and time, after a sequence number,
    at most ``limit``."""

    principal: str | None = None
    subject: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class NodeFilter:
    """Which nodes a search or listing returns: by kind, namespace, name prefix, tag, owner and time recorded."""

    kinds: tuple[NodeKind, ...] = ()
    namespace: str | None = None
    name_prefix: str | None = None
    tag: str | None = None
    owner: str | None = None
    recorded_since: datetime | None = None
    recorded_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Revision:
    """One state of a node's properties, as recorded at a time by a principal."""

    recorded_at: datetime
    recorded_by: str
    properties: dict[str, Any]
    event_time: datetime | None


@dataclass(frozen=True, slots=True)
class Annotation:
    """A mutable fact about a node (owner, tag, approval), recorded and retracted like the rest."""

    node_id: str
    key: str
    value: str
    recorded_at: datetime
    recorded_by: str
    retracted_at: datetime | None = None
    retracted_by: str | None = None


@dataclass(frozen=True, slots=True)
class StoredNode:
    """What a write transaction needs to know about a node already in the store."""

    id: str
    kind: NodeKind
    properties: dict[str, Any]
    event_time: datetime | None
    retracted_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredEdge:
    """An edge as a write transaction finds it in the store (to tell new edges from repeats)."""

    source: str
    type: EdgeType
    target: str
    retracted_at: datetime | None


@dataclass(slots=True)
class NewNode:
    """A node a registration inserts (not frozen: a 50k batch builds tens of thousands of them)."""

    id: str
    kind: NodeKind
    namespace: str
    name: str
    version: str | None
    properties: dict[str, Any]
    event_time: datetime | None
    #: ``properties`` as stored and audited (sorted keys, no whitespace), encoded once per write.
    properties_json: str


@dataclass(slots=True)
class NewEdge:
    """An edge a registration inserts (see :class:`NewNode`)."""

    source: str
    source_kind: NodeKind
    type: EdgeType
    target: str
    target_kind: NodeKind
    properties: dict[str, Any]
    event_time: datetime | None
    properties_json: str


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as stored: its role, namespaces and the hash of its secret (never the secret)."""

    name: str
    role: str
    namespaces: tuple[str, ...]
    secret_hash: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A raw event kept as received (an OpenLineage event, a dbt manifest), for replay."""

    seq: int
    received_at: datetime
    source: str
    payload: dict[str, Any]


class Section(StrEnum):
    """The parts of a store that a copy (``lineage migrate``) moves, in the order it loads them."""

    NODES = "nodes"
    REVISIONS = "revisions"
    EDGES = "edges"
    ANNOTATIONS = "annotations"
    TOKENS = "tokens"
    RAW_EVENTS = "raw_events"
    AUDIT = "audit"


@dataclass(frozen=True, slots=True)
class NodeRevision:
    """One recorded state of a node, with the node it belongs to (for copying stores)."""

    node_id: str
    revision: Revision


class WriteTx(Protocol):
    """Primitives available inside one atomic, serialised write transaction.

    Writers are serialised (SQLite: ``BEGIN IMMEDIATE``; Neo4j: a lock on the audit head), so the
    audit chain never forks. Leaving the context with an exception rolls everything back.
    """

    def now(self) -> datetime:
        """The recording time of this write: strictly after every earlier write in the store."""

    def audit_head(self) -> tuple[int, str]:
        """(seq, hash) of the last audit entry, or (0, GENESIS)."""

    def nodes(self, ids: Sequence[str]) -> dict[str, StoredNode]: ...

    def edges(
        self, keys: Sequence[tuple[str, EdgeType, str]]
    ) -> dict[tuple[str, EdgeType, str], StoredEdge]: ...

    def successors(self, ids: Sequence[str]) -> list[tuple[str, str]]:
        """(from, to) for every current edge leaving ``ids``; used by the cycle check."""

    def annotations(self, ids: Sequence[str], key: str) -> dict[str, set[str]]:
        """Current values of one annotation key on each of the nodes (absent: none)."""

    def removed_annotations(self, ids: Sequence[str], key: str) -> dict[str, set[str]]:
        """Values of one annotation key that were on each node and were removed (retracted)."""

    def stage_nodes(self, nodes: Sequence[NewNode], at: datetime, by: str) -> Callable[[], None]:
        """Build the rows of new nodes here; the call returned inserts them and does nothing else.

        The call may run on another thread while the caller computes the audit entry; the caller
        does not use the transaction until it has returned (see :func:`writes.register_in`)."""

    def stage_edges(self, edges: Sequence[NewEdge], at: datetime, by: str) -> Callable[[], None]:
        """As :meth:`stage_nodes`, for new edges; staged after the nodes they join."""

    def update_nodes(
        self, updates: Sequence[tuple[str, dict[str, Any], datetime | None]], at: datetime, by: str
    ) -> None:
        """Record a new revision (full properties, event time) for existing nodes."""

    def add_annotations(self, rows: Sequence[tuple[str, str, str]], at: datetime, by: str) -> None:
        """(node_id, key, value) rows; values already present are not passed in."""

    def retract_annotations(self, rows: Sequence[tuple[str, str, str]], at: datetime, by: str) -> None: ...

    def retract_node(
        self, node_id: str, at: datetime, by: str, reason: str
    ) -> list[tuple[str, EdgeType, str]]:
        """Retract a node and every current edge touching it (their reason: :func:`node_retraction_reason`);
        return the keys of the edges retracted."""

    def retract_edge(self, key: tuple[str, EdgeType, str], at: datetime, by: str, reason: str) -> None: ...

    def append_audit(self, entry: AuditEntry) -> None: ...

    def put_token(self, token: TokenRecord) -> None: ...

    def revoke_token(self, name: str, at: datetime) -> bool: ...

    def insert_raw_events(self, source: str, texts: Sequence[str], at: datetime) -> list[int]:
        """Land raw events (their JSON text, kept as given) received at ``at``; their new sequence numbers."""


def node_retraction_reason(node_id: str, reason: str) -> str:
    """The reason recorded on the edges a node's retraction retracts with it."""
    return f"node {node_id} retracted: {reason}"


class GraphStore(abc.ABC):
    """A lineage graph store. Open one per process (or per app lifespan) and close it.

    Reads take an optional ``as_of``: the graph as recorded at or before that time and not retracted
    by it. Every write appends exactly one audit entry, or none when it changed nothing.
    """

    url: str
    #: Maximum number of nodes plus edges in one registration batch.
    max_batch: int = 200_000

    # -- lifecycle ---------------------------------------------------------------------------

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise BackendUnavailableError if the store cannot answer."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- primitives --------------------------------------------------------------------------

    @abc.abstractmethod
    def write(self) -> AbstractContextManager[WriteTx]:
        """One atomic, serialised write transaction. Raises BackendUnavailableError."""

    @abc.abstractmethod
    def get_nodes(self, ids: Sequence[str], as_of: datetime | None = None) -> dict[str, NodeRecord]:
        """Nodes visible as of the time; unknown or invisible ids are simply absent."""

    def owners_of(self, ids: Sequence[str], as_of: datetime | None = None) -> dict[str, tuple[str, ...]]:
        """Owners of each node as of the time, in value order; nodes without owners are absent.

        Reports need the owners of every reached node but the full record of only the rows shown;
        backends answer this without decoding properties where they can.
        """
        return {i: r.owners for i, r in self.get_nodes(ids, as_of).items() if r.owners}

    @abc.abstractmethod
    def expand(
        self, frontier: Sequence[str], direction: Direction, as_of: datetime | None = None
    ) -> list[Hop]:
        """Every visible edge leaving (downstream) or entering (upstream) the frontier, in one round trip."""

    @abc.abstractmethod
    def node_edges(
        self, node_id: str, as_of: datetime | None = None, include_retracted: bool = False
    ) -> list[EdgeRecord]:
        """Edges touching a node, both directions."""

    @abc.abstractmethod
    def get_node_any(self, node_id: str) -> NodeRecord | None:
        """The node as currently recorded, retracted or not (for history and retraction)."""

    @abc.abstractmethod
    def get_edge_any(self, key: tuple[str, EdgeType, str]) -> EdgeRecord | None: ...

    @abc.abstractmethod
    def revisions(self, node_id: str) -> list[Revision]: ...

    @abc.abstractmethod
    def annotations(self, node_id: str, include_retracted: bool = True) -> list[Annotation]: ...

    @abc.abstractmethod
    def search(
        self, text: str, kinds: Sequence[NodeKind] = (), limit: int = 50, as_of: datetime | None = None
    ) -> list[NodeRecord]:
        """Nodes whose id or name contains the text (case-insensitive), best matches first."""

    @abc.abstractmethod
    def list_nodes(
        self, filt: NodeFilter, after: str | None = None, limit: int = 100, as_of: datetime | None = None
    ) -> list[NodeRecord]:
        """Nodes matching the filter ordered by id, starting after the cursor id."""

    @abc.abstractmethod
    def nodes_with_annotation(self, key: str, value: str, as_of: datetime | None = None) -> list[str]: ...

    @abc.abstractmethod
    def audit_entries(self, filt: AuditFilter | None = None) -> list[AuditEntry]: ...

    @abc.abstractmethod
    def iter_audit(self) -> Iterator[AuditEntry]:
        """Every entry in sequence order, streamed."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Totals: nodes and edges (all, including retracted), audit entries, raw events."""

    @abc.abstractmethod
    def tokens(self) -> list[TokenRecord]: ...

    @abc.abstractmethod
    def find_token(self, secret_hash: str) -> TokenRecord | None: ...

    def append_raw_event(self, source: str, payload: dict[str, Any], *, principal: str = "ingest") -> int:
        """Keep an incoming event unchanged (the landing zone), audited; return its sequence number."""
        return self.append_raw_events(source, [payload], principal=principal)[0]

    def append_raw_events(
        self, source: str, payloads: Sequence[dict[str, Any]], *, principal: str = "ingest"
    ) -> list[int]:
        """Keep several incoming events unchanged in one write with one audit entry; their sequence
        numbers, in order. Raises BackendUnavailableError."""
        from lineage.storage.writes import land_raw_events

        return land_raw_events(self, source, payloads, principal=principal)

    @abc.abstractmethod
    def iter_raw_events(self, after_seq: int = 0) -> Iterator[RawEvent]: ...

    # -- bulk copy (lineage migrate) ---------------------------------------------------------

    @abc.abstractmethod
    def export_section(self, section: Section, batch_size: int = 5_000) -> Iterator[list[Any]]:
        """Every record of one section exactly as stored, in chunks of about ``batch_size``.

        Retracted records are included, with their retraction. Record types by section: NODES
        :class:`NodeRecord` (owners and tags empty: they travel as annotations), REVISIONS
        :class:`NodeRevision` (every state of every node, each node's oldest first), EDGES
        :class:`EdgeRecord`, ANNOTATIONS :class:`Annotation`, TOKENS :class:`TokenRecord`,
        RAW_EVENTS :class:`RawEvent`, AUDIT :class:`AuditEntry` (in sequence order).
        Raises BackendUnavailableError.
        """

    @abc.abstractmethod
    def import_section(self, section: Section, records: Sequence[Any]) -> None:
        """Write exported records unchanged into a store being filled by a copy, in one transaction.

        No rules run and no audit entry is added: the audit log is itself copied, entry by entry,
        so its chain still verifies. Sections must be loaded in :class:`Section` order into an
        empty store. Raises ConflictError (a record is already there) and BackendUnavailableError.
        """

    # -- writes (rules written once) ---------------------------------------------------------

    def register(self, batch: Batch, *, principal: str, source: str = "api") -> WriteResult:
        """Register a batch atomically.

        Raises LimitExceededError (too large), SchemaViolationError, UnknownReferenceError,
        CycleError, ConflictError (a referenced node was retracted) and BackendUnavailableError.
        Nothing is written when any of them is raised; a batch that changes nothing writes nothing.
        """
        from lineage.storage.writes import register

        if len(batch) > self.max_batch:
            raise LimitExceededError(
                f"batch has {len(batch)} nodes and edges; the limit is {self.max_batch}. Split it.",
                details={"size": len(batch), "limit": self.max_batch},
            )
        return register(self, batch, principal=principal, source=source)

    def retract(self, target: str, *, reason: str, principal: str, source: str = "api") -> WriteResult:
        """Retract a node (with its edges) or an edge by id. NotFoundError, ConflictError if already retracted."""
        from lineage.storage.writes import retract

        return retract(self, target, reason=reason, principal=principal, source=source)

    def annotate(
        self,
        node_id: str,
        key: str,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        replace: Sequence[str] | None = None,
        principal: str,
        source: str = "api",
        payload: dict[str, Any] | None = None,
    ) -> WriteResult:
        """Add, remove or replace values of an annotation (owner, tag, ...) on a node; audited."""
        from lineage.storage.writes import annotate

        return annotate(
            self,
            node_id,
            key,
            add=add,
            remove=remove,
            replace=replace,
            principal=principal,
            source=source,
            payload=payload,
        )

    def record_token(self, token: TokenRecord, *, principal: str, source: str = "cli") -> WriteResult:
        from lineage.storage.writes import record_token

        return record_token(self, token, principal=principal, source=source)

    def revoke_token(self, name: str, *, principal: str, source: str = "cli") -> WriteResult:
        from lineage.storage.writes import revoke_token

        return revoke_token(self, name, principal=principal, source=source)

    # -- reads built on the primitives -------------------------------------------------------

    def get_node(self, node_id: str, as_of: datetime | None = None) -> NodeRecord:
        """The node visible as of the time. Raises ValidationError (malformed id) or NotFoundError."""
        from lineage.storage.writes import check_node_id

        check_node_id(node_id)
        found = self.get_nodes([node_id], as_of).get(node_id)
        if found is None:
            when = f" as of {as_of.isoformat()}" if as_of else ""
            raise NotFoundError(f"no node {node_id!r}{when}; try `lineage search` to find its id")
        return found

    def traversal_index(self) -> TraversalIndex | None:
        """The in-memory traversal index, caught up with the store; None where reads walk the store.

        Backends that feed an index (:mod:`lineage.storage.index`) override this. Raises
        BackendUnavailableError.
        """
        return None

    def reach(
        self,
        start: str,
        direction: Direction,
        *,
        max_depth: int | None = None,
        kinds: Sequence[NodeKind] = (),
        as_of: datetime | None = None,
        max_nodes: int | None = None,
        edge_types: Sequence[EdgeType] = (),
        charge: Callable[[int], None] | None = None,
    ) -> Reach:
        """Breadth-first closure from ``start``: distinct nodes with their distance and one shortest path.

        Cost is linear in the reached subgraph, never in the number of paths. ``kinds`` filters the
        result, not the walk (paths may pass through any kind); ``edge_types``, when given, limits the
        walk to those edge types (``PARENT_OF, PRODUCED`` from an orchestrator run: what its runs made).
        Within a level, frontier and edges are taken in id order so the explaining paths are
        reproducible. Served from the traversal index where the backend keeps one (the same answer,
        see :meth:`reach_by_expand`). ``charge``, when given, is called with the number of nodes
        reached at each level as the walk goes (a request's work budget, which raises to stop it).
        Raises ValidationError (malformed id), NotFoundError and BackendUnavailableError.
        """
        root = self.get_node(start, as_of)
        return self.reach_from(
            root, direction, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes,
            edge_types=edge_types, charge=charge,
        )  # fmt: skip

    def reach_from(
        self,
        root: NodeRecord,
        direction: Direction,
        *,
        max_depth: int | None = None,
        kinds: Sequence[NodeKind] = (),
        as_of: datetime | None = None,
        max_nodes: int | None = None,
        edge_types: Sequence[EdgeType] = (),
        charge: Callable[[int], None] | None = None,
    ) -> Reach:
        """:meth:`reach` from a start whose record (visible as of the time) the caller already read."""
        direction = Direction(direction)
        start = root.id
        index = self.traversal_index()
        if index is None:
            return self.reach_by_expand(
                start, direction, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes,
                edge_types=edge_types, charge=charge, root=root,
            )  # fmt: skip
        num = index.number(start)
        if num is None:  # no edge ever touched it
            return Reach(start, root.kind, direction, as_of)
        walked = index.walk(
            [num],
            direction is Direction.DOWNSTREAM,
            as_of=as_of,
            max_depth=max_depth,
            max_nodes=max_nodes,
            edge_types=edge_types,
            charge=charge,
        )
        return reach_from_walk(index, walked, start, root.kind, direction, as_of, kinds)

    def reach_by_expand(
        self,
        start: str,
        direction: Direction,
        *,
        max_depth: int | None = None,
        kinds: Sequence[NodeKind] = (),
        as_of: datetime | None = None,
        max_nodes: int | None = None,
        edge_types: Sequence[EdgeType] = (),
        charge: Callable[[int], None] | None = None,
        root: NodeRecord | None = None,
    ) -> Reach:
        """:meth:`reach` over the store itself, one :meth:`expand` round trip per level."""
        from lineage.storage.reach_table import ReachTable

        allowed = frozenset(edge_types)
        direction = Direction(direction)
        if root is None:
            root = self.get_node(start, as_of)
        parents: dict[str, Reached] = {}
        seen = {start}
        frontier = [start]
        depth = 0
        truncated = False
        with gc_paused():
            while frontier and (max_depth is None or depth < max_depth):
                depth += 1
                hops = self.expand(frontier, direction, as_of)
                hops.sort(key=_HOP_ORDER)
                nxt: list[str] = []
                for hop in hops:
                    reached = hop.reached
                    if reached in seen or (allowed and hop.edge_type not in allowed):
                        continue
                    seen.add(reached)
                    parents[reached] = Reached(reached, hop.reached_kind, depth, hop.origin, hop.edge_type)
                    nxt.append(reached)
                if charge is not None:
                    charge(len(nxt))
                if max_nodes is not None and len(parents) > max_nodes:
                    truncated = True
                    break
                nxt.sort()
                frontier = nxt
            table = ReachTable.from_rows(start, list(parents.values()), kinds)
        return Reach(start, root.kind, direction, as_of, table, truncated)

    def history(self, node_id: str) -> dict[str, Any]:
        """Everything recorded about a node: revisions, annotations, retraction and audit entries."""
        from lineage.storage.writes import check_node_id

        check_node_id(node_id)
        node = self.get_node_any(node_id)
        if node is None:
            raise NotFoundError(f"no node {node_id!r}; try `lineage search` to find its id")
        return {
            "node": node,
            "revisions": self.revisions(node_id),
            "annotations": self.annotations(node_id),
            "audit": self.audit_entries(AuditFilter(subject=node_id, limit=1000)),
        }

    def verify_audit(self, expect_head: str | None = None) -> Verification:
        """The hash chain alone (fast): see :meth:`verify_store` for the stored graph too."""
        return verify(self.iter_audit(), expect_head)

    @abc.abstractmethod
    def audit_rows(self) -> AbstractContextManager[GraphRows]:
        """Every row audit verification reads, from one consistent snapshot. Raises BackendUnavailableError."""

    def verify_store(
        self,
        *,
        expect_head: str | None = None,
        anchors: dict[int, str] | None = None,
        log_only: bool = False,
    ) -> GraphVerification:
        """Check the audit chain and that the stored graph is exactly what it says was written.

        One linear pass over the log and every table (see :mod:`lineage.audit.graph_verify`);
        ``log_only`` checks the chain alone. Raises BackendUnavailableError.
        """
        from lineage.audit.graph_verify import verify_graph  # only when verifying

        with self.audit_rows() as rows:
            return verify_graph(rows, expect_head=expect_head, anchors=anchors, log_only=log_only)

    def kind_of(self, node_id: str) -> NodeKind:
        return parse_node_id(node_id).kind


def reach_from_walk(
    index: TraversalIndex,
    walked: Walk,
    start: str,
    start_kind: NodeKind,
    direction: Direction,
    as_of: datetime | None,
    kinds: Sequence[NodeKind] = (),
) -> Reach:
    """The :class:`Reach` of a walk over the traversal index (levels come in id order already)."""
    from lineage.storage.reach_table import ReachTable

    table = ReachTable.from_walk(index, walked, start, kinds)
    return Reach(start, start_kind, direction, as_of, table, walked.truncated)
