"""What a diagram shows: the reached subgraph, collapsed and capped so a person can read it.

A report on a busy dataset reaches hundreds or thousands of nodes, mostly versions of the same few
things. When the subgraph has more nodes than ``max_boxes``, it is aggregated in steps, each taken
only while the drawing is still too big:

1. versions of the same dataset, feature or model and runs of the same job share one box
   (``customer_360 x7``); the start node and production deployments keep a box of their own;
2. only the nearest few production deployments keep their own box, drawn with the path that
   explains each; the others share one box per environment (``x202 production deployments``);
3. nodes farther than the farthest of those deployments share one box per kind ("beyond");
4. the remaining nodes off those paths share one box per kind, namespace and distance;
5. then one box per kind and distance.

The boxes on the explaining paths stay grouped by name at most, so the paths read as a chain of
named things; links that point back towards the start are left out of aggregated drawings. If
that is still too many, the boxes nearest the start are kept, together with the paths to
production deployments, and a note says how many were left out. The tables of the report always
list every node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from lineage.analysis import ReachedNode, is_production
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.report.data import Report

KIND_ORDER = (
    NodeKind.CODE_COMMIT,
    NodeKind.DATASET,
    NodeKind.FEATURE,
    NodeKind.RUN,
    NodeKind.MODEL,
    NodeKind.DEPLOYMENT,
)


@dataclass(slots=True)
class Box:
    key: str  # the node id, "group:<kind>:<namespace>/<name>" or "agg:<how>:..." (see _assign)
    kind: NodeKind
    title: str
    subtitle: str
    members: list[str]
    distance: int
    production: bool = False
    root: bool = False

    @property
    def grouped(self) -> bool:
        return len(self.members) > 1


@dataclass(slots=True)
class Diagram:
    boxes: dict[str, Box]
    links: list[tuple[str, str, str]]  # (box, box, edge type or "mixed")
    collapsed: bool = False
    hidden_boxes: int = 0
    hidden_nodes: int = 0
    notes: list[str] = field(default_factory=list)

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for key in sorted(self.boxes):
            g.add_node(key)
        for a, b, t in self.links:
            g.add_edge(a, b, type=t)
        return g


def _title(node: NodeRecord) -> tuple[str, str]:
    if node.kind is NodeKind.CODE_COMMIT:
        return (node.version or "")[:10], node.name.rsplit("/", 1)[-1]
    if node.kind is NodeKind.DEPLOYMENT:
        return node.name, node.namespace
    if node.kind is NodeKind.RUN:
        return node.name, node.version or ""
    return node.name, f"{node.namespace} @ {node.version}" if node.version else node.namespace


#: Production deployments drawn one by one, with their explaining paths, when the drawing is aggregated.
FEATURED_PRODUCTION = 5


def _featured(report: Report) -> list[ReachedNode]:
    prod = sorted(report.lineage.production_deployments(), key=lambda n: (n.distance, n.node.id))
    return prod[:FEATURED_PRODUCTION]


def _assign(report: Report, step: int) -> tuple[dict[str, str], int | None]:
    """Node id -> box key at an aggregation step (see the module docstring), and the horizon."""
    recs = report.records
    dist = report.subgraph.distance
    root = report.root.id
    prod = {n for n in recs if is_production(recs[n])}
    featured = _featured(report) if step >= 2 else []
    kept = {root} | ({n.node.id for n in featured} if step >= 2 else prod)
    on_path = {p for n in featured for p in n.path}
    horizon = max((n.distance for n in featured), default=None) if step >= 3 else None
    box_of: dict[str, str] = {}
    for node_id, rec in recs.items():
        d = dist.get(node_id, 0)
        if node_id in kept:
            box_of[node_id] = node_id
        elif node_id in prod:
            box_of[node_id] = f"agg:production:{rec.namespace}"
        elif horizon is not None and d > horizon and node_id not in on_path:
            box_of[node_id] = f"agg:beyond:{rec.kind.value}"
        elif step >= 5 and node_id not in on_path:
            box_of[node_id] = f"agg:kind:{rec.kind.value}:d{d}"
        elif step >= 4 and node_id not in on_path:
            box_of[node_id] = f"agg:namespace:{rec.kind.value}:d{d}:{rec.namespace}"
        else:
            box_of[node_id] = f"group:{rec.kind.value}:{rec.namespace}/{rec.name}"
    return box_of, horizon


def _box(key: str, ids: list[str], report: Report, horizon: int | None) -> Box:
    recs = report.records
    dist = report.subgraph.distance
    first = recs[ids[0]]
    title, subtitle = _title(first)
    n = len(ids)
    distance = min(dist.get(i, 0) for i in ids)
    production = any(is_production(recs[i]) for i in ids)
    noun = {NodeKind.RUN: "runs", NodeKind.CODE_COMMIT: "commits"}.get(first.kind, "versions")
    plural = {NodeKind.RUN: "runs", NodeKind.CODE_COMMIT: "commits"}.get(first.kind, f"{first.kind.value.lower()}s")
    if key.startswith("agg:production:"):
        title, subtitle = f"{n} deployments", f"{first.namespace} \u00b7 production \u00b7 see the table"
    elif key.startswith("agg:beyond:"):
        title, subtitle = f"{n} {plural}", f"farther than {horizon} hops"
    elif key.startswith("agg:kind:"):
        spaces = sorted({recs[i].namespace for i in ids})
        title = f"{n} {plural}"
        where = f"{len(spaces)} namespaces" if len(spaces) > 1 else spaces[0]
        subtitle = f"{where} \u00b7 {distance} hops"
    elif key.startswith("agg:namespace:"):
        names = sorted({recs[i].name for i in ids})
        title = f"{n} {plural}" if len(names) > 1 else names[0]
        subtitle = f"{first.namespace} \u00b7 {distance} hops" + (f" \u00b7 \u00d7{n}" if len(names) == 1 else "")
    elif n > 1:
        if first.kind is NodeKind.CODE_COMMIT:
            title = first.name.rsplit("/", 1)[-1]
        subtitle = f"{first.namespace} \u00b7 \u00d7{n} {noun}"
    return Box(key, first.kind, title, subtitle, ids, distance, production=production, root=report.root.id in ids)


def diagram(report: Report, max_boxes: int = 40) -> Diagram:
    """The boxes and links to draw for a report (see the module docstring for the rules)."""
    recs = report.records
    collapse = len(recs) > max_boxes
    if not collapse:
        box_of, horizon, step = {n: n for n in recs}, None, 0
    else:
        for step in range(1, 6):
            box_of, horizon = _assign(report, step)
            if len(set(box_of.values())) <= max_boxes:
                break
    members: dict[str, list[str]] = {}
    for node_id in sorted(recs):
        members.setdefault(box_of[node_id], []).append(node_id)
    boxes = {key: _box(key, ids, report, horizon) for key, ids in members.items()}
    links: dict[tuple[str, str], set[str]] = {}
    for s, t, d in report.subgraph.sorted_edges():
        a, b = box_of.get(s), box_of.get(d)
        if a is None or b is None or a == b:
            continue
        if collapse and boxes[b].distance <= boxes[a].distance and not boxes[b].production:
            continue  # in an aggregated drawing, links back towards the start only blur the flow
        links.setdefault((a, b), set()).add(t.value)
    out = Diagram(
        boxes,
        [(a, b, next(iter(ts)) if len(ts) == 1 else "mixed") for (a, b), ts in sorted(links.items())],
        collapsed=collapse,
    )
    if collapse:
        out.notes.append(_collapse_note(report, len(boxes), step, horizon))
    if len(boxes) > max_boxes:
        _cap(out, report, max_boxes)
    if report.subgraph.truncated:
        out.notes.append("The traversal stopped at the node limit; the graph goes on beyond what is drawn.")
    return out


def _collapse_note(report: Report, boxes: int, step: int, horizon: int | None) -> str:
    parts = [
        f"{len(report.records)} nodes drawn as {boxes} boxes: versions of the same dataset, feature or model "
        "and runs of the same job share a box (\u00d7N)"
    ]
    prod = len(report.lineage.production_deployments())
    if step >= 2 and prod > FEATURED_PRODUCTION:
        parts.append(
            f"the {FEATURED_PRODUCTION} nearest of {prod} production deployments are drawn with their explaining "
            "paths, the others share a box per environment"
        )
    if horizon is not None:
        parts.append(f"nodes farther than {horizon} hops share a box per kind")
    if step >= 4:
        parts.append("other nodes off those paths share a box per kind" + ("" if step >= 5 else " and namespace")
                     + " at each distance")
    return "; ".join(parts) + "; the tables list every node."


def _cap(out: Diagram, report: Report, max_boxes: int) -> None:
    """Keep the start, production deployments, the paths to them, then the nearest boxes."""
    box_of = {m: b.key for b in out.boxes.values() for m in b.members}
    order: list[str] = []
    root_box = box_of[report.root.id]
    order.append(root_box)
    prod = sorted(report.lineage.production_deployments(), key=lambda n: (n.distance, n.node.id))
    order.extend(box_of[p.node.id] for p in prod if p.node.id in box_of)
    for reached in prod:
        order.extend(box_of[p] for p in reached.path if p in box_of)
    order.extend(k for k, _ in sorted(out.boxes.items(), key=lambda kv: (kv[1].distance, kv[0])))
    keep: list[str] = []
    for key in order:
        if key not in keep:
            keep.append(key)
        if len(keep) >= max_boxes:
            break
    kept = set(keep)
    hidden = [b for k, b in out.boxes.items() if k not in kept]
    out.hidden_boxes = len(hidden)
    out.hidden_nodes = sum(len(b.members) for b in hidden)
    out.boxes = {k: b for k, b in out.boxes.items() if k in kept}
    out.links = [link for link in out.links if link[0] in kept and link[1] in kept]
    out.notes.append(
        f"Capped at {max_boxes} boxes: {out.hidden_boxes} more boxes ({out.hidden_nodes} nodes), the farthest "
        "from the start, are not drawn; the tables list every node."
    )


def link_label(edge_type: str) -> str:
    return "" if edge_type == "mixed" else EdgeType(edge_type).value
