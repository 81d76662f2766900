"""How one classification flows over a lineage subgraph, with a reason for every node it reaches.

Pure functions over a networkx DiGraph (cause -> effect), so the rules are written once and tested
without a store. The rules:

- a classification starts at every node that carries it directly (a tag on the node or on one of
  its columns) and flows along every edge, downstream;
- a node that declares it *removes* the classification, or a broader one (``removes: pii`` stops
  ``pii.email``), does not receive it and does not pass it on: propagation stops there, and the
  stop is reported;
- a direct tag always wins: a node tagged with a classification carries it even if it also removes
  it, and passes it on;
- each reached node keeps one explaining path from the nearest origin; ties are broken by id, so
  the same graph always gives the same explanation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx


@dataclass(frozen=True, slots=True)
class Arrival:
    """How a classification reached a node: its origin and the node one step closer to it."""

    origin: str
    parent: str | None  # None at the origin itself
    distance: int


@dataclass(slots=True)
class Flow:
    """The result of propagating one classification: who carries it, and where it was stopped."""

    classification: str
    carriers: dict[str, Arrival] = field(default_factory=dict)
    #: blocker node -> the carrier it would have received the classification from
    stopped: dict[str, Arrival] = field(default_factory=dict)

    def path(self, node: str) -> list[str]:
        """Node ids from the origin to ``node`` (a carrier or a node where the flow stopped)."""
        arrival = self.carriers.get(node) or self.stopped[node]
        out = [node]
        parent = arrival.parent
        while parent is not None:
            out.append(parent)
            parent = self.carriers[parent].parent
        out.reverse()
        return out


def propagate(
    graph: nx.DiGraph,
    classification: str,
    sources: set[str],
    blockers: set[str],
) -> Flow:
    """Breadth-first from all ``sources`` at once; ``blockers`` (not sources) receive nothing.

    Linear in the part of the graph the classification reaches.
    """
    flow = Flow(classification)
    frontier = sorted(s for s in sources if s in graph)
    for s in frontier:
        flow.carriers[s] = Arrival(s, None, 0)
    depth = 0
    while frontier:
        depth += 1
        nxt: list[str] = []
        for node in frontier:
            origin = flow.carriers[node].origin
            for succ in sorted(graph.successors(node)):
                if succ in flow.carriers or succ in flow.stopped:
                    continue
                if succ in blockers:
                    flow.stopped[succ] = Arrival(origin, node, depth)
                    continue
                flow.carriers[succ] = Arrival(origin, node, depth)
                nxt.append(succ)
        frontier = sorted(nxt)
    return flow


def blockers_for(classification: str, removes: Mapping[str, set[str]], sources: set[str]) -> dict[str, list[str]]:
    """Nodes that stop ``classification`` -> the removes values that do it (sources never block)."""
    out: dict[str, list[str]] = {}
    for node, values in removes.items():
        if node in sources:
            continue
        hit = sorted(v for v in values if classification == v or classification.startswith(v + "."))
        if hit:
            out[node] = hit
    return out
