"""Impact and provenance reports: who is reached, how far, along which path, and who to tell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lineage.errors import LimitExceededError
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.storage.base import Direction, GraphStore, Reach, gc_paused

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


@dataclass(frozen=True, slots=True)
class ReachedNode:
    node: NodeRecord
    distance: int
    path: list[str]  # node ids from the start to this node
    via: list[str]  # edge types along the path

    @property
    def production(self) -> bool:
        return is_production(self.node)

    def path_text(self) -> str:
        out = self.path[0]
        for edge, node in zip(self.via, self.path[1:], strict=True):
            out += f" -{edge}-> {node}"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.node.id,
            "kind": self.node.kind.value,
            "distance": self.distance,
            "production": self.production,
            "owners": list(self.node.owners),
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
    nodes: list[ReachedNode]
    truncated: bool
    edge_types: tuple[EdgeType, ...] = ()  # the walk followed only these, when given

    def groups(self) -> list[tuple[NodeKind, list[ReachedNode]]]:
        """Reached nodes by kind in report order; production deployments first within deployments."""
        order = IMPACT_ORDER if self.direction is Direction.DOWNSTREAM else PROVENANCE_ORDER
        out = []
        for kind in order:
            members = [n for n in self.nodes if n.node.kind is kind]
            if members:
                members.sort(key=lambda n: (not n.production, n.distance, n.node.id))
                out.append((kind, members))
        return out

    def counts(self) -> dict[str, int]:
        return {kind.value: len(members) for kind, members in self.groups()}

    def production_deployments(self) -> list[ReachedNode]:
        return [n for n in self.nodes if n.production]

    def owners(self) -> dict[str, list[str]]:
        """Owner -> ids of the reached nodes they own, owners with production impact first."""
        out: dict[str, list[str]] = {}
        for n in self.nodes:
            for owner in n.node.owners:
                out.setdefault(owner, []).append(n.node.id)
        prod = {n.node.id for n in self.production_deployments()}
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
            "production_deployments": [n.node.id for n in self.production_deployments()],
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
) -> LineageReport:
    if max_depth is not None and (max_depth < 1 or max_depth > depth_limit):
        raise LimitExceededError(f"depth must be between 1 and {depth_limit}, got {max_depth}")
    with gc_paused():
        reach: Reach = store.reach(
            start, direction, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes,
            edge_types=edge_types,
        )
        records = store.get_nodes([r.id for r in reach.nodes] + [start], as_of)
        paths = reach.paths()
        nodes = []
        for r in reach.nodes:
            ids, types = paths[r.id]
            nodes.append(ReachedNode(records[r.id], r.distance, ids, [str(t) for t in types]))
    return LineageReport(
        direction, records[start], as_of, max_depth, tuple(kinds), nodes, reach.truncated, tuple(edge_types)
    )


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
    )
