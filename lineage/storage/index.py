"""An in-memory traversal index beside the store: integer node ids and CSR edge arrays (numpy).

The store stays the single source of truth. The index holds only what a traversal needs: for every
edge its two ends (as integers), its type, and when it was recorded and retracted (so as-of
questions are answered from the same arrays), plus each node's id and kind. It is built from the
store on first use and kept current by the audit sequence: every read first asks the store for the
sequence number of its newest audit entry (one indexed lookup) and, when it moved, reads the edges
touching the subjects of the new entries. Every write appends exactly one audit entry naming the
ends of every edge it adds or retracts, so a read that starts after a write returns (in this process
or any other: a CLI write while the server runs) sees it.

The walk is the breadth-first one of :meth:`GraphStore.reach`, done over arrays a level at a time:
within a level the frontier is taken in id order and each newly reached node keeps the smallest
(origin, edge type) hop that reaches it, so the explaining paths equal those of the level-by-level
walk over the store exactly. Cost stays linear in the reached subgraph, never in the number of paths.

Beside the edges, per node number: its id-order rank, its owners (a code into the distinct owner
sets) and whether it is a production deployment, so a report of the current graph reads nothing
from the store per reached node. These follow the same catch-up: the subjects of new audit entries
(and nodes numbered for the first time) have their facts read again.

Memory budget, measured with ``python bench/server_memory.py`` on the generated 1M-node graph (3.2M
edges): one ``lineage serve`` worker holding it with its index built has 844 MiB resident, 970 MiB
at peak after twenty impact queries of 330k to 520k-node closures (budget: 1.5 GiB per worker).
Of that, the index is about 41 bytes per edge (the arrays), about 200 bytes per node with edges (its
id string and the id -> integer map) and 10 bytes per node for rank, owners, production flag and
kind: about 0.35 GiB. Nodes without edges are not held at all: nothing is reached from them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from lineage.model import EdgeType, NodeKind

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]
Bools = npt.NDArray[np.bool_]

#: Recording time of "now" reads: after every recorded time, before NEVER.
FAR_FUTURE = 2**62
#: Retraction time of an edge that was never retracted.
NEVER = 2**63 - 1

KINDS: tuple[NodeKind, ...] = tuple(NodeKind)
KIND_CODE: dict[str, int] = {k.value: i for i, k in enumerate(KINDS)}
#: Edge types in the order of their string values: the code is the tie-break rank of a hop.
TYPES: tuple[EdgeType, ...] = tuple(sorted(EdgeType, key=lambda t: t.value))
TYPE_CODE: dict[str, int] = {t.value: i for i, t in enumerate(TYPES)}
_TYPE_BITS = 3
assert len(TYPES) <= 1 << _TYPE_BITS
_DST_SHIFT = _TYPE_BITS
_SRC_SHIFT = 30 + _TYPE_BITS  # node numbers below 2**30


#: One edge as a store reports it: source id, type, target id, source kind, target kind,
#: recorded_at and retracted_at in integer microseconds since the epoch (None: never retracted).
EdgeRow = tuple[str, str, str, str, str, int, int | None]

#: What reports show of every reached node besides the walk, as currently recorded: node id, its
#: owners (in value order) and whether it is a production deployment.
Fact = tuple[str, tuple[str, ...], bool]

#: Environments (a deployment's ``environment`` property, else its namespace) that count as production.
PRODUCTION_ENVS = frozenset({"prod", "production", "live"})


def is_production_env(kind: NodeKind | str, namespace: str, properties: dict[str, object]) -> bool:
    """A deployment whose environment (property or namespace) is a production one."""
    if kind != NodeKind.DEPLOYMENT:
        return False
    return str(properties.get("environment") or namespace).lower() in PRODUCTION_ENVS


class Changes(NamedTuple):
    """What the audit entries after a sequence number changed."""

    head: int
    edges: list[EdgeRow]  # every edge touching a subject
    subjects: list[str]  # the subjects themselves


class IndexFeed(Protocol):
    """What a backend provides so an index can follow it."""

    def index_head(self) -> int:
        """The sequence number of the newest audit entry (0 for an empty store)."""

    def index_load(self, consume: Callable[[Iterable[EdgeRow]], None]) -> int:
        """Pass every edge, retracted or not, to ``consume`` and return the audit head, both read
        in one transaction (so they describe the same state)."""

    def index_changes(self, after_seq: int) -> Changes | None:
        """The audit head, the subjects of the entries after ``after_seq`` and every edge touching them.

        None when the changes are too many to follow one by one: the index then loads afresh.
        """

    def index_facts(self, ids: Sequence[str] | None) -> list[Fact]:
        """The current :data:`Fact` of each of the nodes (None: of every node that has owners or is a
        deployment); nodes with neither may be left out."""


def as_of_us(as_of: datetime | None) -> int:
    from lineage.storage.sqlite import to_us

    return FAR_FUTURE if as_of is None else to_us(as_of)


@dataclass(slots=True)
class _Segment:
    """Edges in CSR form over ``n`` node numbers, sorted by (source, target, type)."""

    n: int
    src: I32
    dst: I32
    type: U8
    rec: I64
    ret: I64
    key: I64  # (src, dst, type) packed, sorted: exact lookup of one edge
    out_ptr: I64
    in_ptr: I64
    in_edges: I64  # edge positions sorted by target

    @classmethod
    def build(cls, n: int, src: I32, dst: I32, etype: U8, rec: I64, ret: I64) -> _Segment:
        key = (src.astype(np.int64) << _SRC_SHIFT) | (dst.astype(np.int64) << _DST_SHIFT) | etype.astype(np.int64)
        order = np.argsort(key, kind="stable")
        src, dst, etype, rec, ret, key = src[order], dst[order], etype[order], rec[order], ret[order], key[order]
        out_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=out_ptr[1:])
        in_edges = np.argsort(dst, kind="stable").astype(np.int64)
        in_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(dst, minlength=n), out=in_ptr[1:])
        return cls(n, src, dst, etype, rec, ret, key, out_ptr, in_ptr, in_edges)

    @classmethod
    def empty(cls, n: int) -> _Segment:
        z32 = np.zeros(0, dtype=np.int32)
        z64 = np.zeros(0, dtype=np.int64)
        return cls.build(n, z32, z32, np.zeros(0, dtype=np.uint8), z64, z64)

    def __len__(self) -> int:
        return int(self.src.size)

    def find(self, keys: I64) -> I64:
        """Position of each packed key, -1 where absent."""
        pos = np.searchsorted(self.key, keys)
        pos = np.minimum(pos, max(len(self) - 1, 0))
        hit = (self.key[pos] == keys) if len(self) else np.zeros(keys.size, dtype=np.bool_)
        return np.where(hit, pos, -1)

    def hops(self, frontier: I64, downstream: bool, t: int, allowed: Bools | None) -> tuple[I64, I64, I64, I64]:
        """Visible edges leaving (or entering) the frontier: (frontier position, reached, type, edge)."""
        inside = frontier < self.n
        pos = np.flatnonzero(inside)
        nodes = frontier[pos]
        ptr = self.out_ptr if downstream else self.in_ptr
        first = ptr[nodes]
        counts = ptr[nodes + 1] - first
        total = int(counts.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        ends = np.cumsum(counts)
        slots = np.arange(total, dtype=np.int64) + np.repeat(first - (ends - counts), counts)
        edges = slots if downstream else self.in_edges[slots]
        origin = np.repeat(pos, counts)
        visible = (self.rec[edges] <= t) & (self.ret[edges] > t)
        if allowed is not None:
            visible &= allowed[self.type[edges]]
        edges = edges[visible]
        origin = origin[visible]
        reached = (self.dst if downstream else self.src)[edges].astype(np.int64)
        return origin, reached, self.type[edges].astype(np.int64), edges


@dataclass(slots=True)
class Level:
    """The nodes first reached at one distance, in id order, with the hop that reached each.

    ``origins`` are positions in the previous level (or in the starts): a node's parent is
    ``previous.nodes[origins[i]]``, so explaining paths need no lookup by id.
    """

    nodes: I64
    parents: I64
    types: I64
    origins: I64


@dataclass(slots=True)
class Walk:
    """A breadth-first walk over the index, in node numbers."""

    start: int
    levels: list[Level] = field(default_factory=list)
    truncated: bool = False
    expanded: I64 | None = None  # every node whose edges were followed (walks that keep edges)
    edges: list[tuple[I64, I64, I64]] = field(default_factory=list)  # (source, type, target) chunks


class TraversalIndex:
    """Integer-numbered adjacency of the whole graph, following the store through its audit head.

    Beside the edges it keeps, per node number, the node's id-order rank (so a level is put in id
    order without comparing strings), its owners and whether it is a production deployment (so a
    report of the current graph needs no store query per reached node). Owners and production
    flags are the current ones; reports as of a past time read them from the store.

    Thread-safe: catching up takes a lock; walks read a consistent set of arrays.
    """

    #: When the edges added since the last full build exceed this share of them, they are merged.
    merge_ratio = 0.125

    def __init__(self, feed: IndexFeed) -> None:
        self._feed = feed
        self._lock = threading.Lock()
        self._head = -1
        self._ids: list[str] = []
        self._num: dict[str, int] = {}
        self._kind = np.zeros(0, dtype=np.uint8)
        #: id-order rank of node numbers below ``_ranked`` (later ones are ranked at the next re-rank)
        self._rank = np.zeros(0, dtype=np.int32)
        self._ranked = 0
        #: per node number: index into ``_owner_sets`` (-1: no owners), production deployment or not
        self._owner = np.zeros(0, dtype=np.int32)
        self._prod = np.zeros(0, dtype=np.bool_)
        self._owner_sets: list[tuple[str, ...]] = []
        self._owner_code: dict[tuple[str, ...], int] = {}
        #: (main, delta): replaced together, so a walk reads one consistent pair
        self._segs = (_Segment.empty(0), _Segment.empty(0))

    # -- following the store -------------------------------------------------------------------

    @property
    def head(self) -> int:
        return self._head

    def sync(self) -> None:
        """Catch up with the store: cheap when nothing was written since the last call."""
        head = self._feed.index_head()
        if head == self._head:
            return
        with self._lock:
            if head == self._head:
                return
            if head < self._head:
                # Another caller caught the index up past the head read here while this one
                # waited: it is fresh enough. Only a head still behind when read again (a store
                # replaced by an older copy) calls for a fresh load.
                if self._feed.index_head() >= self._head:
                    return
                self._load()
                return
            if self._head < 0:
                self._load()
                return
            changes = self._feed.index_changes(self._head)
            if changes is None:
                self._load()
                return
            known = len(self._ids)
            self._apply(changes.edges)
            wanted = dict.fromkeys(s for s in changes.subjects if s in self._num)
            wanted.update(dict.fromkeys(self._ids[known:]))
            if wanted:
                self._set_facts(self._feed.index_facts(list(wanted)))
            self._head = changes.head

    def _number(self, node: str, kind: str, kinds: list[int]) -> int:
        num = self._num.get(node)
        if num is None:
            num = self._num[node] = len(self._ids)
            self._ids.append(node)
            kinds.append(KIND_CODE[kind])
        return num

    def _columns(self, rows: Iterable[EdgeRow]) -> tuple[I32, I32, U8, I64, I64, list[int]]:
        src: list[int] = []
        dst: list[int] = []
        typ: list[int] = []
        rec: list[int] = []
        ret: list[int] = []
        kinds: list[int] = []
        number = self._number
        for s, t, d, sk, dk, r, x in rows:
            src.append(number(s, sk, kinds))
            dst.append(number(d, dk, kinds))
            typ.append(TYPE_CODE[t])
            rec.append(r)
            ret.append(NEVER if x is None else x)
        return (
            np.array(src, dtype=np.int32),
            np.array(dst, dtype=np.int32),
            np.array(typ, dtype=np.uint8),
            np.array(rec, dtype=np.int64),
            np.array(ret, dtype=np.int64),
            kinds,
        )

    def _load(self) -> None:
        columns: list[tuple[I32, I32, U8, I64, I64, list[int]]] = []
        self._ids = []
        self._num = {}
        head = self._feed.index_load(lambda rows: columns.append(self._columns(rows)))
        src = np.concatenate([c[0] for c in columns]) if columns else np.zeros(0, dtype=np.int32)
        dst = np.concatenate([c[1] for c in columns]) if columns else np.zeros(0, dtype=np.int32)
        typ = np.concatenate([c[2] for c in columns]) if columns else np.zeros(0, dtype=np.uint8)
        rec = np.concatenate([c[3] for c in columns]) if columns else np.zeros(0, dtype=np.int64)
        ret = np.concatenate([c[4] for c in columns]) if columns else np.zeros(0, dtype=np.int64)
        self._kind = np.array([k for c in columns for k in c[5]], dtype=np.uint8)
        columns.clear()
        n = len(self._ids)
        self._segs = (_Segment.build(n, src, dst, typ, rec, ret), _Segment.empty(n))
        self._rerank()
        self._owner = np.full(n, -1, dtype=np.int32)
        self._prod = np.zeros(n, dtype=np.bool_)
        self._owner_sets = []
        self._owner_code = {}
        # facts read after the edges may be newer than ``head``: the entries after it are read
        # again at the next catch-up, which sets the same (current) facts again
        self._set_facts(self._feed.index_facts(None))
        self._head = head

    def _rerank(self) -> None:
        ids = self._ids
        order = sorted(range(len(ids)), key=ids.__getitem__)
        rank = np.empty(len(ids), dtype=np.int32)
        rank[np.array(order, dtype=np.int64)] = np.arange(len(ids), dtype=np.int32)
        self._rank = rank
        self._ranked = len(ids)

    def _grow(self, n: int) -> None:
        """Room in the per-node arrays for ``n`` node numbers (new ones: no owners, not production)."""
        extra = n - self._owner.size
        if extra > 0:
            self._owner = np.concatenate([self._owner, np.full(extra, -1, dtype=np.int32)])
            self._prod = np.concatenate([self._prod, np.zeros(extra, dtype=np.bool_)])

    def _set_facts(self, facts: Iterable[Fact]) -> None:
        self._grow(len(self._ids))
        owner, prod, num, codes = self._owner, self._prod, self._num, self._owner_code
        for node, owners, production in facts:
            at = num.get(node)
            if at is None:
                continue  # no edge ever touched it: no walk reaches it
            if owners:
                code = codes.get(owners)
                if code is None:
                    code = codes[owners] = len(self._owner_sets)
                    self._owner_sets.append(owners)
                owner[at] = code
            else:
                owner[at] = -1
            prod[at] = production

    def _apply(self, rows: Sequence[EdgeRow]) -> None:
        if not rows:
            return
        src, dst, typ, rec, ret, kinds = self._columns(rows)
        if kinds:
            self._kind = np.concatenate([self._kind, np.array(kinds, dtype=np.uint8)])
            self._grow(len(self._ids))
            if len(self._ids) - self._ranked > self.merge_ratio * max(self._ranked, 1024):
                self._rerank()
        keys = (src.astype(np.int64) << _SRC_SHIFT) | (dst.astype(np.int64) << _DST_SHIFT) | typ.astype(np.int64)
        keys, first = np.unique(keys, return_index=True)
        src, dst, typ, rec, ret = src[first], dst[first], typ[first], rec[first], ret[first]
        fresh = np.ones(keys.size, dtype=np.bool_)
        main, delta = self._segs
        for seg in (main, delta):
            pos = seg.find(keys)
            known = pos >= 0
            seg.ret[pos[known]] = ret[known]  # retraction is the one change an edge can see
            fresh &= ~known
        n = len(self._ids)
        if not fresh.any() and n == delta.n:
            return
        merged = _Segment.build(
            n,
            np.concatenate([delta.src, src[fresh]]),
            np.concatenate([delta.dst, dst[fresh]]),
            np.concatenate([delta.type, typ[fresh]]),
            np.concatenate([delta.rec, rec[fresh]]),
            np.concatenate([delta.ret, ret[fresh]]),
        )
        if len(merged) > self.merge_ratio * max(len(main), 1):
            main = _Segment.build(
                n,
                np.concatenate([main.src, merged.src]),
                np.concatenate([main.dst, merged.dst]),
                np.concatenate([main.type, merged.type]),
                np.concatenate([main.rec, merged.rec]),
                np.concatenate([main.ret, merged.ret]),
            )
            self._segs = (main, _Segment.empty(n))
        else:
            self._segs = (main, merged)

    # -- reading -------------------------------------------------------------------------------

    def number(self, node: str) -> int | None:
        return self._num.get(node)

    def node_id(self, num: int) -> str:
        return self._ids[num]

    def ids(self, nums: I64) -> list[str]:
        ids = self._ids
        return [ids[i] for i in nums.tolist()]

    def kind(self, num: int) -> NodeKind:
        return KINDS[int(self._kind[num])]

    def kinds_of(self, nums: I64) -> U8:
        return self._kind[nums]

    def owner_codes(self, nums: I64) -> I32:
        """Per node: an index into :meth:`owner_sets` (-1: no owners), as currently recorded."""
        owner = self._owner
        inside = nums < owner.size
        if inside.all():
            return owner[nums]
        return np.where(inside, owner[np.where(inside, nums, 0)], -1).astype(np.int32)

    def owner_sets(self) -> list[tuple[str, ...]]:
        return self._owner_sets

    def production(self, nums: I64) -> Bools:
        """Per node: whether it is a production deployment, as currently recorded."""
        prod = self._prod
        inside = nums < prod.size
        if inside.all():
            return prod[nums]
        return np.where(inside, prod[np.where(inside, nums, 0)], False)

    def _id_order(self, nodes: I64) -> I64:
        """Positions that put the nodes in id order."""
        if nodes.size < 2:
            return np.arange(nodes.size, dtype=np.int64)
        if int(nodes.max()) < self._ranked:
            return np.argsort(self._rank[nodes], kind="stable").astype(np.int64)
        ids = self._ids
        strs = [ids[i] for i in nodes.tolist()]
        return np.array(sorted(range(len(strs)), key=strs.__getitem__), dtype=np.int64)

    def walk(
        self,
        starts: Sequence[int],
        downstream: bool,
        *,
        as_of: datetime | None = None,
        max_depth: int | None = None,
        max_nodes: int | None = None,
        keep_edges: bool = False,
        counted: int = 0,
        edge_types: Collection[EdgeType] = (),
        charge: Callable[[int], None] | None = None,
        within: Bools | None = None,
    ) -> Walk:
        """Breadth-first from ``starts`` (already in id order) over the edges visible as of the time.

        Truncation follows :meth:`GraphStore.reach`: the level that goes past ``max_nodes`` is kept
        whole and the walk stops there. With ``keep_edges`` every visible edge met is kept too,
        including the edges from the last level back into the reached set when the depth ran out
        (the induced subgraph of :func:`lineage.analysis.subgraph.walk`). ``counted`` nodes (the
        starts, for that walk) count towards ``max_nodes`` besides the reached ones. ``edge_types``,
        when given, limits the walk to edges of those types. ``charge``, when given, is called with
        the number of nodes of each level as it is reached (a work budget: it may raise to stop).
        ``within``, when given, is a mask over node numbers: the walk enters only nodes inside it.
        """
        t = as_of_us(as_of)
        allowed = None
        if edge_types:
            allowed = np.zeros(len(TYPES), dtype=np.bool_)
            allowed[[TYPE_CODE[e.value] for e in edge_types]] = True
        segs = [seg for seg in self._segs if len(seg)]
        seen = np.zeros(max(len(self._ids), 1), dtype=np.bool_)
        frontier = np.asarray(starts, dtype=np.int64)
        seen[frontier] = True
        out = Walk(int(frontier[0]) if frontier.size else -1)
        expanded: list[I64] = []
        reached_count = counted
        depth = 0
        while frontier.size and (max_depth is None or depth < max_depth):
            depth += 1
            origin, reached, types = self._hops(segs, frontier, downstream, t, allowed, keep_edges, out)
            expanded.append(frontier)
            new = ~seen[reached]
            if within is not None:
                new &= within[reached]
            origin, reached, types = origin[new], reached[new], types[new]
            if reached.size == 0:
                frontier = reached
                out.truncated = max_nodes is not None and reached_count > max_nodes
                break
            # the smallest (origin position, edge type) hop wins: frontier positions are id order
            order = np.lexsort((types, origin, reached))
            reached_sorted = reached[order]
            first = np.ones(order.size, dtype=np.bool_)
            first[1:] = reached_sorted[1:] != reached_sorted[:-1]
            win = order[first]
            win = win[self._id_order(reached[win])]
            level = Level(reached[win], frontier[origin[win]], types[win], origin[win])
            seen[level.nodes] = True
            out.levels.append(level)
            reached_count += level.nodes.size
            frontier = level.nodes
            if charge is not None:
                charge(int(level.nodes.size))
            if max_nodes is not None and reached_count > max_nodes:
                out.truncated = True
                break
        if keep_edges:
            if frontier.size and not out.truncated and max_depth is not None:
                origin, reached, types = self._hops(segs, frontier, downstream, t, allowed, False, out)
                back = seen[reached]
                if back.any():
                    o = frontier[origin[back]]
                    r = reached[back]
                    out.edges.append((o, types[back], r) if downstream else (r, types[back], o))
            out.expanded = np.concatenate(expanded) if expanded else np.zeros(0, dtype=np.int64)
        return out

    def mask(self, nums: I64) -> Bools:
        """A mask over node numbers, true at ``nums``."""
        out = np.zeros(max(len(self._ids), 1), dtype=np.bool_)
        out[nums] = True
        return out

    def induced(self, nums: I64, *, as_of: datetime | None = None) -> tuple[I64, I64, I64]:
        """Every edge visible as of the time with both ends among ``nums``: (sources, types, targets)."""
        inside = self.mask(nums)
        segs = [seg for seg in self._segs if len(seg)]
        origin, reached, types = self._hops(segs, nums, True, as_of_us(as_of), None, False, Walk(-1))
        keep = inside[reached]
        return nums[origin[keep]], types[keep], reached[keep]

    @staticmethod
    def _hops(
        segs: Sequence[_Segment],
        frontier: I64,
        downstream: bool,
        t: int,
        allowed: Bools | None,
        keep: bool,
        out: Walk,
    ) -> tuple[I64, I64, I64]:
        parts = [seg.hops(frontier, downstream, t, allowed) for seg in segs]
        parts = [p for p in parts if p[0].size]
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        origin = np.concatenate([p[0] for p in parts])
        reached = np.concatenate([p[1] for p in parts])
        types = np.concatenate([p[2] for p in parts])
        if keep:
            o = frontier[origin]
            out.edges.append((o, types, reached) if downstream else (reached, types, o))
        return origin, reached, types
