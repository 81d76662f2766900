"""Everything a rendered report shows, computed once, pinned to one graph state.

:func:`build_report` runs the impact or provenance question as of a pinned time (the given
``as_of``, else the time of the newest audit entry), collects the edges of the reached subgraph for
drawings, the root's effective classifications and the owners to notify, and computes the digest
of the graph state: SHA-256 over the canonical JSON of the reached nodes and edges together with the
audit head as of that time. Every renderer works from this object alone, so all formats agree and
the same as-of time always renders the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lineage.analysis import LineageReport, ReachedNode, impact, provenance
from lineage.analysis.budget import WorkBudget
from lineage.analysis.state import GraphState, graph_state, iso, state_digest
from lineage.analysis.subgraph import Subgraph, walk
from lineage.governance.classifications import NodeClassifications, effective_classifications
from lineage.governance.owners import Notice, notices
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.storage.base import Direction, GraphStore


@dataclass(slots=True)
class Report:
    lineage: LineageReport
    state: GraphState
    subgraph: Subgraph
    records: dict[str, NodeRecord]  # every node of the subgraph, root included
    classifications: NodeClassifications
    notify: list[Notice]
    digest: str

    @property
    def impact(self) -> bool:
        return self.lineage.direction is Direction.DOWNSTREAM

    @property
    def root(self) -> NodeRecord:
        return self.lineage.root

    @property
    def title(self) -> str:
        return ("Impact of " if self.impact else "Provenance of ") + self.root.id

    @property
    def as_of(self) -> str:
        return iso(self.state.as_of)

    def production_ids(self) -> set[str]:
        return {n.node.id for n in self.lineage.production_deployments()}

    def groups(self) -> list[tuple[NodeKind, Sequence[ReachedNode]]]:
        return self.lineage.groups()

    def stamp(self) -> str:
        """One line naming the graph state: as-of time, audit head and digest."""
        head = f"audit head #{self.state.head_seq} {self.state.head_hash[:16]}"
        return f"as of {self.as_of} · {head} · graph digest {self.digest}"

    def command(self, fmt: str) -> str:
        """The command that reproduces this report byte for byte."""
        parts = ["lineage", "impact" if self.impact else "provenance", self.root.id, "--as-of", self.as_of]
        if self.lineage.max_depth is not None:
            parts += ["--depth", str(self.lineage.max_depth)]
        if self.lineage.kinds:
            parts += ["--kind", ",".join(k.value for k in self.lineage.kinds)]
        if self.lineage.edge_types:
            parts += ["--edge", ",".join(e.value for e in self.lineage.edge_types)]
        return " ".join([*parts, "--format", fmt])

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: the lineage report's fields plus state, edges, classifications, owners."""
        out = self.lineage.to_dict()
        out["as_of"] = self.as_of
        out["audit_head"] = self.state.to_dict()["audit_head"]
        out["digest"] = self.digest
        out["notify"] = [n.to_dict() for n in self.notify]
        out["edges"] = [{"from": s, "type": t.value, "to": d} for s, t, d in self.subgraph.sorted_edges()]
        out["root_classifications"] = self.classifications.to_dict()
        out["root_classifications"]["as_of"] = self.as_of
        return out


def build_report(
    store: GraphStore,
    node_id: str,
    direction: Direction,
    *,
    as_of: datetime | None = None,
    max_depth: int | None = None,
    kinds: Sequence[NodeKind] = (),
    depth_limit: int = 100,
    max_nodes: int = 1_000_000,
    edge_types: Sequence[EdgeType] = (),
    budget: WorkBudget | None = None,
) -> Report:
    """Compute a report pinned to one graph state. ValidationError, NotFoundError, LimitExceededError."""
    direction = Direction(direction)
    state = graph_state(store, as_of)
    pinned = state.as_of
    question = impact if direction is Direction.DOWNSTREAM else provenance
    lineage = question(
        store, node_id, max_depth=max_depth, kinds=kinds, as_of=pinned, depth_limit=depth_limit, max_nodes=max_nodes,
        edge_types=edge_types, budget=budget,
    )
    sub = walk(store, [node_id], direction, as_of=pinned, max_depth=max_depth, max_nodes=max_nodes,
               edge_types=edge_types, budget=budget)
    records = store.get_nodes(sorted(sub.kinds), pinned)
    classes = effective_classifications(store, node_id, as_of=pinned, max_nodes=max_nodes, budget=budget)
    who = notices((n.node, n.production) for n in lineage.nodes)
    content = {
        "direction": direction.value,
        "root": node_id,
        "max_depth": max_depth,
        "kinds": sorted(k.value for k in kinds),
        **({"edge_types": sorted(e.value for e in edge_types)} if edge_types else {}),
        "nodes": [records[n].to_dict() for n in sorted(records)],
        "edges": [[s, t.value, d] for s, t, d in sub.sorted_edges()],
    }
    return Report(lineage, state, sub, records, classes, who, state_digest(state, content))
