"""The domain: node kinds, edge types, the lineage schema, ids, batches and records."""

from lineage.model.batch import Batch, EdgeSpec, NodeSpec, parse_batch
from lineage.model.ids import NodeKey, edge_id, node_id, parse_edge_id, parse_node_id
from lineage.model.kinds import ALLOWED_EDGES, EdgeType, NodeKind, edge_allowed
from lineage.model.records import EdgeRecord, NodeRecord, Step, WriteResult

__all__ = [
    "ALLOWED_EDGES",
    "Batch",
    "EdgeRecord",
    "EdgeSpec",
    "EdgeType",
    "NodeKey",
    "NodeKind",
    "NodeRecord",
    "NodeSpec",
    "Step",
    "WriteResult",
    "edge_allowed",
    "edge_id",
    "node_id",
    "parse_batch",
    "parse_edge_id",
    "parse_node_id",
]
