"""Impact and provenance reports: who is reached, how far, along which path, and who to tell.

A report holds its rows as the columns of the traversal (:mod:`lineage.storage.reach_table`) plus
one owner code and one production flag per row, taken from the traversal index for the current
graph (so a report needs no store query per reached node), and builds a row's objects, record and
path only when the row is shown.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

import numpy as np

from lineage.analysis.budget import WorkBudget, charger
from lineage.errors import LimitExceededError
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.storage.base import Direction, GraphStore, Reach
from lineage.storage.index import (
    I32,
    I64,
    KIND_CODE,
    KINDS,
    PRODUCTION_ENVS,
    TYPES,
    Bools,
    TraversalIndex,
    is_production_env,
)
from lineage.storage.reach_table import ListNames, ReachTable

__all__ = ["PRODUCTION_ENVS", "LineageReport", "ReachedNode", "impact", "is_production", "provenance"]

#: Kind order in reports: what matters most first.
IMPACT_ORDER = (
    NodeKind.DEPLOYMENT,
    NodeKind.MODEL,
    NodeKind.FEATURE,
    NodeKind.DATASET,
    NodeKind.RUN,
    NodeKind.CODE_COMMIT,
)
PROVENANCE_ORDER = (
    NodeKind.DATASET,
    NodeKind.FEATURE,
    NodeKind.CODE_COMMIT,
    NodeKind.RUN,
    NodeKind.MODEL,
    NodeKind.DEPLOYMENT,
)

#: Records read per store call when rows are shown (the API's page is 100, the CLI's table 200).
RECORD_PAGE = 100


def is_production(node: NodeRecord) -> bool:
    """A deployment whose environment (property or namespace) is a production one."""
    return is_production_env(node.kind, node.namespace, node.properties)


class _Rows:
    """What a report holds per row of its reach table: owners and production flag (as arrays),
    the display order, and the node records, read from the store a page at a time when a row is
    first shown (pages follow the display order, so a view of the first rows reads only those)."""

    __slots__ = ("_as_of", "_display", "_loaded", "_store", "order", "owner", "owner_sets", "prod", "reach", "table")

    def __init__(
        self,
        store: GraphStore,
        reach: Reach,
        table: ReachTable,
        owner: I32,
        owner_sets: list[tuple[str, ...]],
        prod: Bools,
    ) -> None:
        self._store = store
        self._as_of = reach.as_of
        self.reach = reach
        self.table = table
        self.owner = owner
        self.owner_sets = owner_sets
        self.prod = prod
        self.order: I64 = np.zeros(0, dtype=np.int64)  # rows in display order
        self._display: I64 | None = None
        self._loaded: dict[str, NodeRecord] = {}

    def preload(self, records: dict[str, NodeRecord]) -> None:
        self._loaded.update(records)

    def record(self, row: int, node_id: str) -> NodeRecord:
        found = self._loaded.get(node_id)
        if found is None:
            at = self.display_at(row)
            wanted = [node_id] if at < 0 else self.table.ids_of(self.order[at : at + RECORD_PAGE])
            self._loaded.update(self._store.get_nodes([n for n in wanted if n not in self._loaded], self._as_of))
            found = self._loaded[node_id]
        return found

    def display_at(self, row: int) -> int:
        """The display position of a table row (-1: not shown, its kind was not asked for)."""
        if self._display is None:
            self._display = np.full(len(self.table), -1, dtype=np.int64)
            self._display[self.order] = np.arange(self.order.size, dtype=np.int64)
        return int(self._display[row])

    def nodes(self, rows: I64) -> _Nodes:
        return _Nodes(self, rows)


class _Nodes(Sequence["ReachedNode"]):
    """Report rows as :class:`ReachedNode` objects, built when read."""

    __slots__ = ("_rows", "_sel")

    def __init__(self, rows: _Rows, sel: I64) -> None:
        self._rows = rows
        self._sel = sel

    def __len__(self) -> int:
        return int(self._sel.size)

    @overload
    def __getitem__(self, i: int) -> ReachedNode: ...

    @overload
    def __getitem__(self, i: slice) -> list[ReachedNode]: ...

    def __getitem__(self, i: int | slice) -> ReachedNode | list[ReachedNode]:
        if isinstance(i, slice):
            return [ReachedNode(self._rows, r) for r in self._sel[i].tolist()]
        return ReachedNode(self._rows, int(self._sel[i]))

    def __iter__(self) -> Iterator[ReachedNode]:
        rows = self._rows
        return (ReachedNode(rows, r) for r in self._sel.tolist())

    def __repr__(self) -> str:
        return f"<{len(self)} reached nodes>"


class ReachedNode:
    """One reached node of a report: kind, distance, owners and production at hand; the full record
    and the explaining path are built when first asked for."""

    __slots__ = ("_row", "_rows", "distance", "id", "kind", "owners", "production")

    def __init__(self, rows: _Rows, row: int) -> None:
        table = rows.table
        self._rows = rows
        self._row = row
        self.id = table.id_of(row)
        self.kind = KINDS[int(table.kind[row])]
        self.distance = int(table.dist[row])
        code = int(rows.owner[row])
        self.owners: tuple[str, ...] = rows.owner_sets[code] if code >= 0 else ()
        self.production = bool(rows.prod[row])

    def __repr__(self) -> str:
        return f"ReachedNode({self.id!r}, distance={self.distance})"

    @property
    def node(self) -> NodeRecord:
        return self._rows.record(self._row, self.id)

    def _chain(self) -> list[int]:
        return self._rows.table.chain(self._row)

    @property
    def path(self) -> list[str]:
        """Node ids from the start to this node."""
        table = self._rows.table
        return [table.start, *table.ids_of(np.array(self._chain(), dtype=np.int64))]

    @property
    def edges(self) -> list[EdgeType]:
        """Edge types along :attr:`path`."""
        code = self._rows.table.etype.item
        return [TYPES[code(r)] for r in self._chain()]

    @property
    def via(self) -> list[str]:
        """Edge types along :attr:`path`, as their values."""
        return [e.value for e in self.edges]

    def path_text(self) -> str:
        path = self.path
        out = path[0]
        for edge, node in zip(self.via, path[1:], strict=True):
            out += f" -{edge}-> {node}"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "distance": self.distance,
            "production": self.production,
            "owners": list(self.owners),
            "path": self.path,
            "path_edges": self.via,
        }


@dataclass(slots=True)
class LineageReport:
    direction: Direction
    root: NodeRecord
    as_of: datetime | None
    max_depth: int | None
    kinds: tuple[NodeKind, ...]
    nodes: Sequence[ReachedNode]
    truncated: bool
    edge_types: tuple[EdgeType, ...] = ()  # the walk followed only these, when given
    _grouped: list[tuple[NodeKind, Sequence[ReachedNode]]] | None = field(default=None, repr=False, compare=False)
    _rows: _Rows | None = field(default=None, repr=False, compare=False)

    def _columns(self) -> _Rows:
        assert self._rows is not None, "reports are made by impact() and provenance()"
        return self._rows

    def groups(self) -> list[tuple[NodeKind, Sequence[ReachedNode]]]:
        """Reached nodes by kind in report order; production deployments first within deployments."""
        assert self._grouped is not None, "reports are made by impact() and provenance()"
        return list(self._grouped)

    def shown(self, start: int = 0, stop: int | None = None) -> list[ReachedNode]:
        """Rows ``start:stop`` in display order (the order of :meth:`groups`), building only those."""
        rows = self._columns()
        return list(rows.nodes(rows.order[start:stop]))

    def position(self, node_id: str) -> int | None:
        """The display position of a reached node's row; None when it is not in the report."""
        rows = self._columns()
        row = rows.table.position(node_id)
        if row is None:
            return None
        at = rows.display_at(row)
        return at if at >= 0 else None

    def counts(self) -> dict[str, int]:
        return {kind.value: len(members) for kind, members in self.groups()}

    def production_deployments(self) -> list[ReachedNode]:
        rows = self._columns()
        sel = rows.table.rows()
        return list(rows.nodes(sel[rows.prod[sel]]))

    def owners(self) -> dict[str, list[str]]:
        """Owner -> ids of the reached nodes they own, owners with production impact first."""
        rows = self._columns()
        out: dict[str, list[str]] = {}
        prod_owners: set[str] = set()
        sel = rows.table.rows()
        codes = rows.owner[sel]
        owned = np.flatnonzero(codes >= 0)  # positions in the report's node order
        by_owner: dict[str, list[I64]] = {}
        for code in np.unique(codes[owned]).tolist():
            at = owned[codes[owned] == code]
            for owner in rows.owner_sets[code]:
                by_owner.setdefault(owner, []).append(at)
        for owner, parts in by_owner.items():
            at = np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]
            out[owner] = rows.table.ids_of(sel[at])
            if rows.prod[sel[at]].any():
                prod_owners.add(owner)
        return dict(sorted(out.items(), key=lambda kv: (kv[0] not in prod_owners, -len(kv[1]), kv[0])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction.value,
            "root": self.root.to_dict(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "max_depth": self.max_depth,
            "kinds": [k.value for k in self.kinds],
            **({"edge_types": [e.value for e in self.edge_types]} if self.edge_types else {}),
            "truncated": self.truncated,
            "counts": self.counts(),
            "total": len(self.nodes),
            "production_deployments": [n.id for n in self.production_deployments()],
            "owners_to_notify": self.owners(),
            "nodes": [n.to_dict() for _, members in self.groups() for n in members],
        }


def _facts(store: GraphStore, reach: Reach, table: ReachTable) -> tuple[I32, list[tuple[str, ...]], Bools]:
    """Owners and production flags per row: from the traversal index for the current graph, else
    (as of a past time, or a store without an index) from the store."""
    names = table.names
    if reach.as_of is None and isinstance(names, TraversalIndex):
        return names.owner_codes(table.nums), names.owner_sets(), names.production(table.nums)
    n = len(table)
    owner = np.full(n, -1, dtype=np.int32)
    prod = np.zeros(n, dtype=np.bool_)
    sel = table.rows()
    deployed = sel[table.kind[sel] == KIND_CODE[NodeKind.DEPLOYMENT.value]]
    others = sel[table.kind[sel] != KIND_CODE[NodeKind.DEPLOYMENT.value]]
    found: dict[str, tuple[str, ...]] = {}
    if deployed.size:
        records = store.get_nodes(table.ids_of(deployed), reach.as_of)
        for row, node_id in zip(deployed.tolist(), table.ids_of(deployed), strict=True):
            rec = records.get(node_id)
            if rec is not None:
                prod[row] = is_production(rec)
                found[node_id] = rec.owners
    if others.size:
        found.update(store.owners_of(table.ids_of(others), reach.as_of))
    sets: list[tuple[str, ...]] = []
    codes: dict[tuple[str, ...], int] = {}
    for row, node_id in zip(sel.tolist(), table.ids_of(sel), strict=True):
        owners = found.get(node_id)
        if owners:
            code = codes.get(owners)
            if code is None:
                code = codes[owners] = len(sets)
                sets.append(owners)
            owner[row] = code
    return owner, sets, prod


def _report(
    store: GraphStore,
    start: str,
    direction: Direction,
    *,
    max_depth: int | None,
    kinds: Sequence[NodeKind],
    as_of: datetime | None,
    depth_limit: int,
    max_nodes: int,
    edge_types: Sequence[EdgeType] = (),
    budget: WorkBudget | None = None,
) -> LineageReport:
    if max_depth is not None and (max_depth < 1 or max_depth > depth_limit):
        raise LimitExceededError(f"depth must be between 1 and {depth_limit}, got {max_depth}")
    root = store.get_node(start, as_of)
    reach: Reach = store.reach_from(
        root, direction, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes,
        edge_types=edge_types, charge=charger(budget),
    )  # fmt: skip
    table = reach.table if reach.table is not None else ReachTable(ListNames([]), start)
    rows = _Rows(store, reach, table, *_facts(store, reach, table))
    rows.preload({start: root})
    sel = table.rows()
    order = IMPACT_ORDER if direction is Direction.DOWNSTREAM else PROVENANCE_ORDER
    rank = np.zeros(len(KINDS), dtype=np.int64)
    rank[[KIND_CODE[k.value] for k in order]] = np.arange(len(order))
    kind_rank = rank[table.kind[sel]]
    # stable: within a kind rows stay in (distance, id) order; deployments in production first
    rows.order = sel[np.lexsort((~rows.prod[sel], kind_rank))]
    sizes = np.bincount(kind_rank, minlength=len(order)).tolist()
    grouped: list[tuple[NodeKind, Sequence[ReachedNode]]] = []
    at = 0
    for kind, size in zip(order, sizes, strict=True):
        if size:
            grouped.append((kind, rows.nodes(rows.order[at : at + size])))
        at += size
    return LineageReport(
        direction, root, as_of, max_depth, tuple(kinds), rows.nodes(sel), reach.truncated, tuple(edge_types),
        grouped, rows,
    )  # fmt: skip


def impact(
    store: GraphStore,
    start: str,
    *,
    max_depth: int | None = None,
    kinds: Sequence[NodeKind] = (),
    as_of: datetime | None = None,
    depth_limit: int = 100,
    max_nodes: int = 1_000_000,
    edge_types: Sequence[EdgeType] = (),
    budget: WorkBudget | None = None,
) -> LineageReport:
    """Everything downstream of ``start``: what a broken version affects.

    ``edge_types`` limits the walk: ``(PARENT_OF, PRODUCED)`` from an orchestrator run lists the runs
    it launched, at any depth, and exactly what they produced.
    """
    return _report(
        store,
        start,
        Direction.DOWNSTREAM,
        max_depth=max_depth,
        kinds=kinds,
        as_of=as_of,
        depth_limit=depth_limit,
        max_nodes=max_nodes,
        edge_types=edge_types,
        budget=budget,
    )


def provenance(
    store: GraphStore,
    start: str,
    *,
    max_depth: int | None = None,
    kinds: Sequence[NodeKind] = (),
    as_of: datetime | None = None,
    depth_limit: int = 100,
    max_nodes: int = 1_000_000,
    edge_types: Sequence[EdgeType] = (),
    budget: WorkBudget | None = None,
) -> LineageReport:
    """Everything upstream of ``start``: its bill of materials."""
    return _report(
        store,
        start,
        Direction.UPSTREAM,
        max_depth=max_depth,
        kinds=kinds,
        as_of=as_of,
        depth_limit=depth_limit,
        max_nodes=max_nodes,
        edge_types=edge_types,
        budget=budget,
    )
