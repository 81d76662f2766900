"""Every way data got from one node to another: at most ``max_paths`` shortest paths.

Lineage graphs are full of diamonds, so the number of paths between two nodes can grow
exponentially with distance. This never enumerates them all. It first finds the subgraph that
lies on some path (descendants of the source that are also ancestors of the target), level by
level with one store round trip per level, then asks networkx for the k shortest simple paths on
that subgraph only (Yen's algorithm: cost polynomial in k and the subgraph, not in the number of
paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice, pairwise
from typing import Any

import networkx as nx

from lineage.analysis.budget import WorkBudget, charge
from lineage.errors import BadInputError
from lineage.model import EdgeType
from lineage.storage.base import Direction, GraphStore


@dataclass(frozen=True, slots=True)
class Path:
    """Node ids from source to target and the edge types between them (one fewer)."""

    nodes: tuple[str, ...]
    edges: tuple[EdgeType, ...]

    def __len__(self) -> int:
        return len(self.edges)

    def text(self) -> str:
        out = self.nodes[0]
        for edge, node in zip(self.edges, self.nodes[1:], strict=True):
            out += f" -{edge.value}-> {node}"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes), "edges": [e.value for e in self.edges], "length": len(self)}


@dataclass(slots=True)
class PathsResult:
    source: str
    target: str
    as_of: datetime | None
    paths: list[Path]
    #: More paths exist than were asked for.
    more: bool
    #: Nodes on at least one path (the subgraph searched), source and target included.
    between: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "paths": [p.to_dict() for p in self.paths],
            "more": self.more,
            "between": self.between,
        }


def paths(
    store: GraphStore,
    source: str,
    target: str,
    *,
    max_paths: int = 10,
    as_of: datetime | None = None,
    max_depth: int | None = None,
    max_nodes: int | None = None,
    budget: WorkBudget | None = None,
) -> PathsResult:
    """Up to ``max_paths`` shortest paths from ``source`` down to ``target``, shortest first.

    Raises ValidationError (malformed id), NotFoundError (either end unknown as of the time) and
    BadInputError (``max_paths`` below 1); LimitExceededError when ``budget`` runs out.
    """
    if max_paths < 1:
        raise BadInputError(f"max must be at least 1, got {max_paths}")
    store.get_node(target, as_of)
    if source == target:
        return PathsResult(source, target, as_of, [Path((source,), ())], False, 1)
    down = store.reach(source, Direction.DOWNSTREAM, max_depth=max_depth, as_of=as_of, max_nodes=max_nodes)
    charge(budget, expanded=len(down.nodes))
    descendants = {r.id for r in down.nodes}
    if target not in descendants:
        return PathsResult(source, target, as_of, [], False, 0)
    descendants.add(source)
    graph = _between(store, source, target, descendants, as_of, budget)
    found = []
    for path in islice(nx.shortest_simple_paths(graph, source, target), max_paths + 1):
        charge(budget, paths=1, expanded=len(path))
        found.append(path)
    out = [
        Path(tuple(p), tuple(graph.edges[u, v]["type"] for u, v in pairwise(p)))
        for p in found[:max_paths]
    ]
    return PathsResult(source, target, as_of, out, len(found) > max_paths, graph.number_of_nodes())


def _between(
    store: GraphStore,
    source: str,
    target: str,
    descendants: set[str],
    as_of: datetime | None,
    budget: WorkBudget | None = None,
) -> nx.DiGraph:
    """The subgraph induced by nodes that are both descendants of source and ancestors of target.

    Walks upstream from the target, one round trip per level, never leaving the descendants of
    the source; every edge met on the way is an edge of that subgraph.
    """
    graph = nx.DiGraph()
    graph.add_node(target)
    seen = {target}
    frontier = [target]
    while frontier:
        hops = store.expand(frontier, Direction.UPSTREAM, as_of)
        charge(budget, expanded=len(hops))
        hops.sort(key=lambda h: (h.origin, h.edge_type.value, h.reached))
        nxt: list[str] = []
        for hop in hops:
            if hop.reached not in descendants:
                continue
            if not graph.has_edge(hop.reached, hop.origin):
                graph.add_edge(hop.reached, hop.origin, type=hop.edge_type)
            if hop.reached not in seen and hop.reached != source:
                seen.add(hop.reached)
                nxt.append(hop.reached)
        frontier = sorted(nxt)
    return graph
