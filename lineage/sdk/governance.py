"""Classification queries in the SDK: the same typed answers from a local store or a server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lineage.governance import classifications as gov
from lineage.model import NodeKind
from lineage.storage.base import GraphStore

_EFFECTIVE = "classification direct origin { nodeId columns } path pathEdges explanation"
_REMOVED = "classification removedAt explanation"
EFFECTIVE_QUERY = (
    "query Effective($id: ID!, $asOf: DateTime) { effectiveClassifications(id: $id, asOf: $asOf) { "
    f"nodeId classifications effective {{ {_EFFECTIVE} }} removed {{ {_REMOVED} }} }} }}"
)
REACH_QUERY = (
    "query Reach($c: String!, $kinds: [NodeKind!], $asOf: DateTime) { "
    "classificationReach(classification: $c, kinds: $kinds, asOf: $asOf) { classification "
    f"nodes {{ node {{ id kind owners }} classifications }} removed {{ {_REMOVED} }} }} }}"
)


@dataclass(frozen=True, slots=True)
class Classification:
    """A classification a node carries: where it was set and the path it arrived by."""

    classification: str
    direct: bool
    origin: str
    origin_columns: tuple[str, ...]
    path: tuple[str, ...]
    path_edges: tuple[str, ...]
    explanation: str


@dataclass(frozen=True, slots=True)
class Removed:
    """A classification stopped at a node that declares it removes it."""

    classification: str
    removed_at: str
    explanation: str


@dataclass(frozen=True, slots=True)
class NodeClassifications:
    node_id: str
    classifications: tuple[str, ...]
    effective: tuple[Classification, ...]
    removed: tuple[Removed, ...]


@dataclass(frozen=True, slots=True)
class ClassifiedNode:
    id: str
    kind: NodeKind
    owners: tuple[str, ...]
    classifications: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClassificationReach:
    classification: str
    nodes: tuple[ClassifiedNode, ...]
    removed: tuple[Removed, ...]

    def ids(self) -> set[str]:
        return {n.id for n in self.nodes}


def local_effective(store: GraphStore, node_id: str, as_of: datetime | None) -> NodeClassifications:
    found = gov.effective_classifications(store, node_id, as_of=as_of)
    return NodeClassifications(
        found.node.id,
        tuple(found.labels()),
        tuple(
            Classification(e.classification, e.direct, e.origin.node, e.origin.columns, e.path, e.path_edges, e.text())
            for e in found.effective
        ),
        tuple(Removed(r.classification, r.removed_at, r.text()) for r in found.removed),
    )


def local_reach(
    store: GraphStore, classification: str, kinds: Sequence[NodeKind], as_of: datetime | None
) -> ClassificationReach:
    found = gov.classification_reach(store, classification, as_of=as_of, kinds=kinds)
    return ClassificationReach(
        found.classification,
        tuple(
            ClassifiedNode(
                r.node.id, r.node.kind, tuple(r.node.owners), tuple(sorted({e.classification for e in r.via}))
            )
            for r in found.nodes
        ),
        tuple(Removed(r.classification, r.removed_at, r.text()) for r in found.removed),
    )


def _removed(rows: list[dict[str, Any]]) -> tuple[Removed, ...]:
    return tuple(Removed(r["classification"], r["removedAt"], r["explanation"]) for r in rows)


def effective_from_json(data: dict[str, Any]) -> NodeClassifications:
    return NodeClassifications(
        data["nodeId"],
        tuple(data["classifications"]),
        tuple(
            Classification(
                e["classification"],
                e["direct"],
                e["origin"]["nodeId"],
                tuple(e["origin"]["columns"]),
                tuple(e["path"]),
                tuple(e["pathEdges"]),
                e["explanation"],
            )
            for e in data["effective"]
        ),
        _removed(data["removed"]),
    )


def reach_from_json(data: dict[str, Any]) -> ClassificationReach:
    return ClassificationReach(
        data["classification"],
        tuple(
            ClassifiedNode(
                n["node"]["id"], NodeKind[n["node"]["kind"]], tuple(n["node"]["owners"]), tuple(n["classifications"])
            )
            for n in data["nodes"]
        ),
        _removed(data["removed"]),
    )
