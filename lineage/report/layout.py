"""A layered left-to-right layout for diagrams (a small Sugiyama-style pipeline, no dependencies).

1. Layers: longest-path layering with networkx topological generations. Impact diagrams align
   layers to the start (layer 0, effects to the right); provenance diagrams align them to the end
   (the start is the rightmost layer, each input sits just left of what used it). Aggregated
   diagrams use the distance from the start instead, one column per distance.
2. Edges that span several layers get invisible waypoints, one per crossed layer, so they are routed
   between boxes rather than through them.
3. Order within layers: barycentre sweeps, keeping the order with the fewest crossings.
4. Vertical positions: each box moves towards the mean of its neighbours, then overlaps are pushed
   apart in order; a few rounds straighten most edges.
5. Routes: horizontal cubic curves between columns, with ports spread along box sides. Runs and
   commits get narrower boxes, so columns of them take less room.

Deterministic: the same diagram always gives the same coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import networkx as nx

from lineage.model import NodeKind
from lineage.report.drawing import KIND_ORDER, Diagram

#: Kinds drawn as narrower boxes: activities and commits carry less text than the things they make.
NARROW = frozenset({NodeKind.RUN, NodeKind.CODE_COMMIT})

Point = tuple[float, float]


@dataclass(slots=True)
class Placed:
    key: str
    layer: int
    x: float
    y: float  # top
    w: float
    h: float

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(slots=True)
class Route:
    source: str
    target: str
    edge_type: str
    points: list[Point]
    backward: bool = False


@dataclass(slots=True)
class Layout:
    width: float
    height: float
    boxes: dict[str, Placed] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    layers: int = 0


def _acyclic(g: nx.DiGraph, rank: dict[str, int]) -> nx.DiGraph:
    """A DAG for layering: break each cycle at an edge that goes against the distance order."""
    dag = g.copy()
    while True:
        try:
            cycle = nx.find_cycle(dag)
        except nx.NetworkXNoCycle:
            return dag
        u, v = max(((a, b) for a, b, *_ in cycle), key=lambda e: (rank[e[0]] - rank[e[1]], e))
        dag.remove_edge(u, v)


def _crossings(order: list[list[str]], edges: dict[str, list[str]]) -> int:
    total = 0
    for left, right in pairwise(order):
        pos = {n: i for i, n in enumerate(right)}
        pairs = sorted((i, pos[t]) for i, n in enumerate(left) for t in edges.get(n, []) if t in pos)
        for a in range(len(pairs)):
            for b in range(a + 1, len(pairs)):
                if pairs[a][0] != pairs[b][0] and pairs[b][1] < pairs[a][1]:
                    total += 1
    return total


def layout(
    d: Diagram,
    *,
    align_end: bool,
    box_w: float = 200,
    narrow_w: float = 160,
    box_h: float = 50,
    gap_x: float = 60,
    gap_y: float = 18,
    margin: float = 24,
    waypoint_h: float = 6,
) -> Layout:
    rank = {k: b.distance for k, b in d.boxes.items()}
    if d.collapsed:
        # aggregated boxes: one column per distance from the start, so the drawing is as narrow as the
        # paths are long (longest-path layering of aggregated boxes stretches into long chains)
        top = max(rank.values(), default=0)
        layer = {k: top - r if align_end else r for k, r in rank.items()}
        used = sorted(set(layer.values()))
        squeeze = {v: i for i, v in enumerate(used)}
        layer = {k: squeeze[v] for k, v in layer.items()}
    else:
        dag = _acyclic(d.graph(), rank)
        if align_end:
            gens = list(nx.topological_generations(dag.reverse(copy=False)))
            top = len(gens) - 1
            layer = {n: top - i for i, gen in enumerate(gens) for n in gen}
        else:
            layer = {n: i for i, gen in enumerate(nx.topological_generations(dag)) for n in gen}
    n_layers = max(layer.values(), default=0) + 1

    # waypoints for long edges
    chains: dict[tuple[str, str], list[str]] = {}
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    members: list[list[str]] = [[] for _ in range(n_layers)]
    kind_rank = {k: i for i, k in enumerate(KIND_ORDER)}
    for key in sorted(d.boxes, key=lambda k: (kind_rank[d.boxes[k].kind], d.boxes[k].title, k)):
        members[layer[key]].append(key)
    for a, b, _t in d.links:
        if layer[b] <= layer[a]:
            continue
        chain = [a] + [f"~{a}>{b}#{i}" for i in range(layer[a] + 1, layer[b])] + [b]
        for i, w in enumerate(chain[1:-1], start=layer[a] + 1):
            members[i].append(w)
            layer[w] = i
        chains[(a, b)] = chain
        for first, second in pairwise(chain):
            succ.setdefault(first, []).append(second)
            pred.setdefault(second, []).append(first)

    # order within layers: barycentre sweeps, keep the best
    order = [list(m) for m in members]
    best = [list(m) for m in order]
    best_cross = _crossings(order, succ)
    for sweep in range(16):
        down = sweep % 2 == 0
        rng = range(1, n_layers) if down else range(n_layers - 2, -1, -1)
        for i in rng:
            ref = {n: j for j, n in enumerate(order[i - 1 if down else i + 1])}
            nbrs = pred if down else succ

            def bary(item: tuple[int, str], ref: dict[str, int] = ref, nbrs: dict[str, list[str]] = nbrs) -> float:
                pos, node = item
                near = [ref[x] for x in nbrs.get(node, []) if x in ref]
                return sum(near) / len(near) if near else float(pos)

            order[i] = [n for _, n in sorted(enumerate(order[i]), key=lambda it: (bary(it), it[0]))]
        cross = _crossings(order, succ)
        if cross < best_cross:
            best, best_cross = [list(m) for m in order], cross
    order = best

    # vertical positions
    def height(n: str) -> float:
        return waypoint_h if n.startswith("~") else box_h

    y: dict[str, float] = {}
    tallest = max((sum(height(n) + gap_y for n in col) for col in order), default=0.0)
    for col in order:
        top_y = (tallest - sum(height(n) + gap_y for n in col)) / 2
        for n in col:
            y[n] = top_y + height(n) / 2  # centres
            top_y += height(n) + gap_y
    for rnd in range(8):
        down = rnd % 2 == 0
        rng = range(1, n_layers) if down else range(n_layers - 2, -1, -1)
        for i in rng:
            col = order[i]
            nbrs = pred if down else succ
            want = []
            for n in col:
                near = [y[x] for x in nbrs.get(n, [])]
                want.append(sum(near) / len(near) if near else y[n])
            placed = list(want)
            for j in range(1, len(col)):
                need = (height(col[j - 1]) + height(col[j])) / 2 + gap_y
                placed[j] = max(placed[j], placed[j - 1] + need)
            shift = sum(w - p for w, p in zip(want, placed, strict=True)) / max(len(col), 1)
            for n, value in zip(col, placed, strict=True):
                y[n] = value + shift
    low = min((y[n] - height(n) / 2 for n in y), default=0.0)
    out = Layout(0, 0, layers=n_layers)

    def width(n: str) -> float:
        return narrow_w if not n.startswith("~") and d.boxes[n].kind in NARROW else box_w

    column = [max((width(n) for n in col if not n.startswith("~")), default=box_w) for col in order]
    left = margin
    for i, col in enumerate(order):
        for n in col:
            bw = column[i] if n.startswith("~") else width(n)
            x = left + (column[i] - bw) / 2
            out.boxes[n] = Placed(n, i, x, y[n] - height(n) / 2 - low + margin, bw, height(n))
        left += column[i] + gap_x
    out.width = left - gap_x + margin
    out.height = max((p.y + p.h for p in out.boxes.values()), default=0.0) + margin

    # routes with ports spread along the sides
    outs: dict[str, list[str]] = {}
    ins: dict[str, list[str]] = {}
    for a, b, _t in d.links:
        chain = chains.get((a, b), [a, b])
        outs.setdefault(a, []).append(chain[1])
        ins.setdefault(b, []).append(chain[-2])

    def port(node: str, other: str, side: dict[str, list[str]]) -> float:
        box = out.boxes[node]
        if node.startswith("~"):
            return box.cy
        peers = sorted(side[node], key=lambda o: (out.boxes[o].cy, o))
        k = peers.index(other)
        return box.y + box.h * (k + 1) / (len(peers) + 1)

    for a, b, t in d.links:
        found = chains.get((a, b))
        if found is None:
            pa, pb = out.boxes[a], out.boxes[b]
            out.routes.append(Route(a, b, t, [(pa.x + pa.w, pa.cy), (pb.x, pb.cy)], backward=True))
            continue
        chain = found
        pts: list[Point] = [(out.boxes[a].x + out.boxes[a].w, port(a, chain[1], outs))]
        for w in chain[1:-1]:
            pw = out.boxes[w]
            pts += [(pw.x, pw.cy), (pw.x + pw.w, pw.cy)]
        pts.append((out.boxes[b].x, port(b, chain[-2], ins)))
        out.routes.append(Route(a, b, t, pts))
    out.boxes = {k: v for k, v in out.boxes.items() if not k.startswith("~")}
    return out
