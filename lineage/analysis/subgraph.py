"""The reached part of the graph with every edge inside it, for questions a BFS tree cannot answer.

:meth:`GraphStore.reach` keeps one explaining path per node. Propagation with cut-offs, policy checks
and drawings need the other edges too (diamonds, several inputs of a run). :func:`walk` expands a
frontier level by level from one or more starts, like ``reach``, and keeps every hop it meets, so
its cost stays linear in the reached subgraph. Edges are always stored cause -> effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import networkx as nx

from lineage.analysis.budget import WorkBudget, charge, charger
from lineage.errors import NotFoundError
from lineage.model import EdgeType, NodeKind
from lineage.storage.base import Direction, GraphStore

if TYPE_CHECKING:
    from lineage.storage.index import TraversalIndex

Edge = tuple[str, EdgeType, str]


@dataclass(slots=True)
class Subgraph:
    """Nodes (id -> kind) and edges (source, type, target) reached from ``starts``."""

    starts: tuple[str, ...]
    direction: Direction
    as_of: datetime | None
    kinds: dict[str, NodeKind] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)
    distance: dict[str, int] = field(default_factory=dict)
    truncated: bool = False

    def digraph(self) -> nx.DiGraph:
        """A networkx DiGraph, cause -> effect, ``kind`` on nodes, ``type`` on edges; built in id order."""
        graph = nx.DiGraph()
        for node in sorted(self.kinds):
            graph.add_node(node, kind=self.kinds[node])
        for src, etype, dst in self.sorted_edges():
            graph.add_edge(src, dst, type=etype)
        return graph

    def restrict(self, keep: Iterable[str]) -> Subgraph:
        """The induced subgraph on ``keep``."""
        wanted = set(keep) & set(self.kinds)
        return Subgraph(
            self.starts,
            self.direction,
            self.as_of,
            {n: k for n, k in self.kinds.items() if n in wanted},
            {e for e in self.edges if e[0] in wanted and e[2] in wanted},
            {n: d for n, d in self.distance.items() if n in wanted},
            self.truncated,
        )

    def sorted_edges(self) -> list[Edge]:
        return sorted(self.edges, key=lambda e: (e[0], e[1].value, e[2]))


def walk(
    store: GraphStore,
    starts: Sequence[str],
    direction: Direction,
    *,
    as_of: datetime | None = None,
    max_depth: int | None = None,
    max_nodes: int | None = None,
    check_starts: bool = True,
    edge_types: Sequence[EdgeType] = (),
    budget: WorkBudget | None = None,
) -> Subgraph:
    """Every node reachable from ``starts`` and every edge between reached nodes met on the way.

    ``edge_types``, when given, limits the walk (and the edges kept) to those types.

    Raises NotFoundError when ``check_starts`` and a start is not visible as of the time.
    """
    direction = Direction(direction)
    starts = tuple(dict.fromkeys(starts))
    found = store.get_nodes(list(starts), as_of) if starts else {}
    if check_starts:
        missing = [s for s in starts if s not in found]
        if missing:
            when = f" as of {as_of.isoformat()}" if as_of else ""
            raise NotFoundError(f"no node {missing[0]!r}{when}; try `lineage search` to find its id")
    sub = Subgraph(starts, direction, as_of)
    for s in starts:
        if s in found:
            sub.kinds[s] = found[s].kind
            sub.distance[s] = 0
    frontier = sorted(sub.kinds)
    allowed = frozenset(edge_types)
    index = store.traversal_index()
    if index is not None:
        _walk_index(index, sub, frontier, direction, max_depth, max_nodes, allowed, budget)
        return sub
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        nxt: list[str] = []
        hops = store.expand(frontier, direction, as_of)
        charge(budget, expanded=len(hops))
        for hop in hops:
            if allowed and hop.edge_type not in allowed:
                continue
            edge = (
                (hop.origin, hop.edge_type, hop.reached)
                if direction is Direction.DOWNSTREAM
                else (hop.reached, hop.edge_type, hop.origin)
            )
            sub.edges.add(edge)
            if hop.reached not in sub.kinds:
                sub.kinds[hop.reached] = hop.reached_kind
                sub.distance[hop.reached] = depth
                nxt.append(hop.reached)
        if max_nodes is not None and len(sub.kinds) > max_nodes:
            sub.truncated = True
            break
        frontier = sorted(nxt)
    if frontier and not sub.truncated and max_depth is not None:
        # edges from the last level back into the reached set are part of the induced subgraph
        for hop in store.expand(frontier, direction, as_of):
            if hop.reached in sub.kinds and (not allowed or hop.edge_type in allowed):
                edge = (
                    (hop.origin, hop.edge_type, hop.reached)
                    if direction is Direction.DOWNSTREAM
                    else (hop.reached, hop.edge_type, hop.origin)
                )
                sub.edges.add(edge)
    return sub


def _walk_index(
    index: TraversalIndex,
    sub: Subgraph,
    starts: list[str],
    direction: Direction,
    max_depth: int | None,
    max_nodes: int | None,
    edge_types: frozenset[EdgeType],
    budget: WorkBudget | None,
) -> None:
    """:func:`walk` over the traversal index: the same nodes, distances and edges; the budget is
    charged level by level as the walk goes."""
    from lineage.storage.index import KINDS, TYPES

    nums = [n for n in (index.number(s) for s in starts) if n is not None]
    if not nums:  # nothing to follow; the starts alone may be past the limit
        sub.truncated = bool(starts) and max_nodes is not None and len(starts) > max_nodes and max_depth != 0
        return
    walked = index.walk(
        nums, direction is Direction.DOWNSTREAM, as_of=sub.as_of, max_depth=max_depth, max_nodes=max_nodes,
        keep_edges=True, counted=len(starts), edge_types=edge_types, charge=charger(budget),
    )  # fmt: skip
    for depth, level in enumerate(walked.levels, start=1):
        for node, kind in zip(index.ids(level.nodes), index.kinds_of(level.nodes).tolist(), strict=True):
            sub.kinds[node] = KINDS[kind]
            sub.distance[node] = depth
    sub.truncated = walked.truncated
    for src, types, dst in walked.edges:
        sub.edges.update(zip(index.ids(src), (TYPES[t] for t in types.tolist()), index.ids(dst), strict=True))
