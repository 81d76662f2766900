"""What a diagram shows: the reached subgraph, collapsed and capped so a person can read it.

A report on a busy dataset reaches hundreds of nodes, mostly versions of the same few things. When
the subgraph has more nodes than ``max_boxes``, versions of the same dataset, feature or model and
runs of the same job are collapsed into one box (``customer_360 x7``); the start node and
production deployments always keep a box of their own. If that is still too many, the boxes
nearest the start are kept, together with the paths to production deployments, and a note says
how many were left out. The tables of the report always list every node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from lineage.analysis import is_production
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
    key: str  # stable id of the box: the node id, or "group:<kind>:<namespace>/<name>"
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


def diagram(report: Report, max_boxes: int = 40) -> Diagram:
    """The boxes and links to draw for a report (see the module docstring for the rules)."""
    recs = report.records
    dist = report.subgraph.distance
    root = report.root.id
    singles = {root} | {n for n in recs if is_production(recs[n])}
    box_of: dict[str, str] = {}
    collapse = len(recs) > max_boxes
    for node_id, rec in recs.items():
        if not collapse or node_id in singles:
            box_of[node_id] = node_id
        else:
            box_of[node_id] = f"group:{rec.kind.value}:{rec.namespace}/{rec.name}"
    members: dict[str, list[str]] = {}
    for node_id in sorted(recs):
        members.setdefault(box_of[node_id], []).append(node_id)
    boxes: dict[str, Box] = {}
    for key, ids in members.items():
        first = recs[ids[0]]
        title, subtitle = _title(first)
        if len(ids) > 1:
            noun = {NodeKind.RUN: "runs", NodeKind.CODE_COMMIT: "commits"}.get(first.kind, "versions")
            if first.kind is NodeKind.CODE_COMMIT:
                title = first.name.rsplit("/", 1)[-1]
            subtitle = f"{first.namespace} \u00b7 \u00d7{len(ids)} {noun}"
        boxes[key] = Box(
            key,
            first.kind,
            title,
            subtitle,
            ids,
            min(dist.get(i, 0) for i in ids),
            production=any(is_production(recs[i]) for i in ids),
            root=root in ids,
        )
    links: dict[tuple[str, str], set[str]] = {}
    for s, t, d in report.subgraph.sorted_edges():
        a, b = box_of.get(s), box_of.get(d)
        if a is None or b is None or a == b:
            continue
        links.setdefault((a, b), set()).add(t.value)
    out = Diagram(
        boxes,
        [(a, b, next(iter(ts)) if len(ts) == 1 else "mixed") for (a, b), ts in sorted(links.items())],
        collapsed=collapse,
    )
    if collapse:
        out.notes.append(
            f"{len(recs)} nodes drawn as {len(boxes)} boxes: versions of the same dataset, feature or model "
            "and runs of the same job share a box (\u00d7N); the tables list every node."
        )
    if len(boxes) > max_boxes:
        _cap(out, report, max_boxes)
    if report.subgraph.truncated:
        out.notes.append("The traversal stopped at the node limit; the graph goes on beyond what is drawn.")
    return out


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
