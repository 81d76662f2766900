"""The SDK over a store opened in this process (``sqlite:///...``, ``neo4j://...``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lineage.analysis import LineageReport, impact, provenance
from lineage.model import Batch, EdgeType, NodeKind
from lineage.sdk.columns import column_lineage
from lineage.sdk.governance import ClassificationReach, NodeClassifications, local_effective, local_reach
from lineage.sdk.types import AuditEntry, ColumnLineage, Edge, LineageGraph, Node, Reached, RegisterResult
from lineage.storage.base import AuditFilter, Direction, GraphStore


class LocalBackend:
    def __init__(self, store: GraphStore, *, principal: str, source: str, owned: bool) -> None:
        self.store = store
        self.principal = principal
        self.source = source
        self._owned = owned

    def close(self) -> None:
        if self._owned:
            self.store.close()

    def register(self, batch: Batch) -> RegisterResult:
        r = self.store.register(batch, principal=self.principal, source=self.source)
        return RegisterResult(
            r.nodes_created,
            r.nodes_updated,
            r.edges_created,
            r.unchanged,
            r.audit_seq,
            r.recorded_at,
            tuple(dict.fromkeys(r.node_ids)),
        )

    def get(self, node_id: str, as_of: datetime | None) -> Node:
        return Node.of(self.store.get_node(node_id, as_of))

    def search(self, text: str, kinds: Sequence[NodeKind], limit: int, as_of: datetime | None) -> list[Node]:
        return [Node.of(r) for r in self.store.search(text, kinds, limit, as_of)]

    def lineage(
        self, node_id: str, direction: Direction, depth: int | None, kinds: Sequence[NodeKind], as_of: datetime | None
    ) -> LineageGraph:
        run = impact if direction is Direction.DOWNSTREAM else provenance
        report: LineageReport = run(self.store, node_id, max_depth=depth, kinds=kinds, as_of=as_of)
        reached = tuple(
            Reached(Node.of(n.node), n.distance, tuple(n.path), tuple(EdgeType(e) for e in n.via), n.production)
            for n in report.nodes
        )
        members = {node_id, *(r.node.id for r in reached)}
        edges = set()
        for hop in self.store.expand(sorted(members), Direction.DOWNSTREAM, as_of):
            if hop.reached in members:
                edges.add(Edge(hop.origin, hop.edge_type, hop.reached))
        ordered = tuple(sorted(edges, key=lambda e: (e.source, e.type.value, e.target)))
        return LineageGraph(Node.of(report.root), direction, reached, ordered, report.truncated, as_of)

    def audit(
        self,
        *,
        principal: str | None,
        subject: str | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[AuditEntry]:
        filt = AuditFilter(principal=principal, subject=subject, action=action, since=since, until=until, limit=limit)
        return [
            AuditEntry(e.seq, e.at, e.principal, e.source, e.action, tuple(e.subjects), e.payload, e.hash, e.prev_hash)
            for e in self.store.audit_entries(filt)
        ]

    def column_lineage(self, dataset_id: str, field: str | None) -> list[ColumnLineage]:
        node = self.store.get_node(dataset_id)
        inputs: list[str] = []
        for edge in self.store.node_edges(dataset_id):
            if edge.type is EdgeType.PRODUCED and edge.target == dataset_id:
                inputs += [
                    e.source
                    for e in self.store.node_edges(edge.source)
                    if e.type is EdgeType.INPUT_TO and e.target == edge.source
                ]
        return column_lineage(dataset_id, node.properties, inputs, field)

    def classifications(self, node_id: str, as_of: datetime | None) -> NodeClassifications:
        return local_effective(self.store, node_id, as_of)

    def classification_reach(
        self, classification: str, kinds: Sequence[NodeKind], as_of: datetime | None
    ) -> ClassificationReach:
        return local_reach(self.store, classification, kinds, as_of)
