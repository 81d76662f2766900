"""Impact and provenance reports: who is reached, how far, along which path, and who to tell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.analysis.budget import WorkBudget, charge
from lineage.errors import LimitExceededError
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.storage.base import Direction, GraphStore, Reach, Reached, gc_paused

PRODUCTION_ENVS = frozenset({"prod", "production", "live"})

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


def is_production(node: NodeRecord) -> bool:
    """A deployment whose environment (property or namespace) is a production one."""
    if node.kind is not NodeKind.DEPLOYMENT:
        return False
    env = str(node.properties.get("environment") or node.namespace).lower()
    return env in PRODUCTION_ENVS


class _Records:
    """Node records of a report, read from the store a page at a time when a row is first shown.

    Pages follow the order rows are shown in (kind groups, production first), so a view of the
    first rows reads and decodes only those.
    """

    __slots__ = ("_as_of", "_loaded", "_order", "_page", "_position", "_store")

    def __init__(self, store: GraphStore, as_of: datetime | None, page: int = 512) -> None:
        self._store = store
        self._as_of = as_of
        self._page = page
        self._order: list[str] = []
        self._position: dict[str, int] = {}
        self._loaded: dict[str, NodeRecord] = {}

    def arrange(self, order: list[str]) -> None:
        self._order = order
        self._position = {}

    def preload(self, records: dict[str, NodeRecord]) -> None:
        self._loaded.update(records)

    def get(self, node_id: str) -> NodeRecord:
        found = self._loaded.get(node_id)
        if found is None:
            if not self._position and self._order:
                self._position = {node: i for i, node in enumerate(self._order)}
            at = self._position.get(node_id)
            wanted = [node_id] if at is None else self._order[at : at + self._page]
            self._loaded.update(self._store.get_nodes([n for n in wanted if n not in self._loaded], self._as_of))
            found = self._loaded[node_id]
        return found


class ReachedNode:
    """One reached node of a report: kind, distance, owners and production at hand; the full record
    and the explaining path are built when first asked for."""

    __slots__ = ("_reach", "_records", "distance", "id", "kind", "owners", "production")

    def __init__(
        self,
        hop: Reached,
        owners: tuple[str, ...],
        production: bool,
        reach: Reach,
        records: _Records,
    ) -> None:
        self.id = hop.id
        self.kind = hop.kind
        self.distance = hop.distance
        self.owners = owners
        self.production = production
        self._reach = reach
        self._records = records

    @property
    def node(self) -> NodeRecord:
        return self._records.get(self.id)

    @property
    def path(self) -> list[str]:
        """Node ids from the start to this node."""
        return self._reach.path_ids(self.id)

    @property
    def via(self) -> list[str]:
        """Edge types along :attr:`path`."""
        return [str(s.edge_type) for s in self._reach.path(self.id)]

    def path_text(self) -> str:
        path = self.path
        out = path[0]
        for edge, node in zip(self.via, path[1:], strict=True):
            out += f" -{edge}-> {node}"
        return out

    def to_dict(self) -> dict[str, Any]:
        steps = self._reach.path(self.id)
        return {
            "id": self.id,
            "kind": self.kind.value,
            "distance": self.distance,
            "production": self.production,
            "owners": list(self.owners),
            "path": [self._reach.start, *(s.node for s in steps)],
            "path_edges": [str(s.edge_type) for s in steps],
        }


@dataclass(slots=True)
class LineageReport:
    direction: Direction
    root: NodeRecord
    as_of: datetime | None
    max_depth: int | None
    kinds: tuple[NodeKind, ...]
    nodes: list[ReachedNode]
    truncated: bool
    edge_types: tuple[EdgeType, ...] = ()  # the walk followed only these, when given
    _grouped: list[tuple[NodeKind, list[ReachedNode]]] | None = field(default=None, repr=False, compare=False)

    def groups(self) -> list[tuple[NodeKind, list[ReachedNode]]]:
        """Reached nodes by kind in report order; production deployments first within deployments."""
        if self._grouped is None:
            self._grouped = _groups(self.nodes, self.direction)
        return [(kind, list(members)) for kind, members in self._grouped]

    def counts(self) -> dict[str, int]:
        return {kind.value: len(members) for kind, members in self.groups()}

    def production_deployments(self) -> list[ReachedNode]:
        return [n for n in self.nodes if n.production]

    def owners(self) -> dict[str, list[str]]:
        """Owner -> ids of the reached nodes they own, owners with production impact first."""
        out: dict[str, list[str]] = {}
        for n in self.nodes:
            for owner in n.owners:
                out.setdefault(owner, []).append(n.id)
        prod = {n.id for n in self.production_deployments()}
        return dict(sorted(out.items(), key=lambda kv: (not (set(kv[1]) & prod), -len(kv[1]), kv[0])))

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
    with gc_paused():
        reach: Reach = store.reach(
            start, direction, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes,
            edge_types=edge_types,
        )
        charge(budget, expanded=len(reach.nodes))
        records = _Records(store, as_of)
        deployments = [r.id for r in reach.nodes if r.kind is NodeKind.DEPLOYMENT]
        shown = store.get_nodes([start, *deployments], as_of)
        records.preload(shown)
        owners = store.owners_of([r.id for r in reach.nodes if r.kind is not NodeKind.DEPLOYMENT], as_of)
        nodes = []
        for r in reach.nodes:
            if r.kind is NodeKind.DEPLOYMENT:
                rec = shown[r.id]
                nodes.append(ReachedNode(r, rec.owners, is_production(rec), reach, records))
            else:
                nodes.append(ReachedNode(r, owners.get(r.id, ()), False, reach, records))
        grouped = _groups(nodes, direction)
        records.arrange([n.id for _, members in grouped for n in members])
    return LineageReport(
        direction, shown[start], as_of, max_depth, tuple(kinds), nodes, reach.truncated, tuple(edge_types), grouped
    )


def _groups(nodes: list[ReachedNode], direction: Direction) -> list[tuple[NodeKind, list[ReachedNode]]]:
    order = IMPACT_ORDER if direction is Direction.DOWNSTREAM else PROVENANCE_ORDER
    by_kind: dict[NodeKind, list[ReachedNode]] = {}
    for n in nodes:
        by_kind.setdefault(n.kind, []).append(n)
    out = []
    for kind in order:
        members = by_kind.get(kind)
        if members:
            if kind is NodeKind.DEPLOYMENT:
                members.sort(key=lambda n: (not n.production, n.distance, n.id))
            out.append((kind, members))  # other kinds: already in (distance, id) order
    return out


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
