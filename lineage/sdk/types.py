"""Typed results of the Python SDK: the same classes whether the client is local or remote."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.storage.base import Direction

if TYPE_CHECKING:
    import networkx as nx


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def kind_of(value: str) -> NodeKind:
    """``Dataset``, ``DATASET`` or ``CODE_COMMIT`` (GraphQL enum names) -> NodeKind."""
    return NodeKind.parse(value)


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    kind: NodeKind
    namespace: str
    name: str
    version: str | None
    properties: dict[str, Any] = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    event_time: datetime | None = None
    recorded_at: datetime | None = None
    recorded_by: str | None = None
    retracted_at: datetime | None = None

    @classmethod
    def of(cls, record: NodeRecord) -> Node:
        return cls(
            record.id,
            record.kind,
            record.namespace,
            record.name,
            record.version,
            dict(record.properties),
            tuple(record.owners),
            tuple(record.tags),
            record.event_time,
            record.recorded_at,
            record.recorded_by,
            record.retracted_at,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        """A node as the GraphQL API returns it (camelCase fields)."""
        return cls(
            str(data["id"]),
            kind_of(str(data["kind"])),
            str(data["namespace"]),
            str(data["name"]),
            data.get("version"),
            dict(data.get("properties") or {}),
            tuple(data.get("owners") or ()),
            tuple(data.get("tags") or ()),
            _time(data.get("eventTime")),
            _time(data.get("recordedAt")),
            data.get("recordedBy"),
            _time(data.get("retractedAt")),
        )

    @property
    def status(self) -> str | None:
        """A run's state (START, RUNNING, COMPLETE, FAIL, ABORT, OTHER), if recorded."""
        value = self.properties.get("status")
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Edge:
    """A provenance edge, pointing the way data flows."""

    source: str
    type: EdgeType
    target: str


@dataclass(frozen=True, slots=True)
class Reached:
    """A node reached by impact or provenance: its distance and one shortest explaining path."""

    node: Node
    distance: int
    path: tuple[str, ...]  # node ids from the start to this node
    path_edges: tuple[EdgeType, ...]
    production: bool = False


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """Impact (downstream) or provenance (upstream) of ``root``.

    ``edges`` are the edges among the root and the reached nodes, in data-flow direction.
    """

    root: Node
    direction: Direction
    reached: tuple[Reached, ...]
    edges: tuple[Edge, ...]
    truncated: bool = False
    as_of: datetime | None = None

    @property
    def nodes(self) -> tuple[Node, ...]:
        return (self.root, *(r.node for r in self.reached))

    def ids(self) -> set[str]:
        return {r.node.id for r in self.reached}

    def of_kind(self, kind: NodeKind | str) -> list[Reached]:
        wanted = kind if isinstance(kind, NodeKind) else NodeKind.parse(kind)
        return [r for r in self.reached if r.node.kind is wanted]

    def owners(self) -> dict[str, list[str]]:
        """Owner -> ids of the reached nodes they own."""
        out: dict[str, list[str]] = {}
        for r in self.reached:
            for owner in r.node.owners:
                out.setdefault(owner, []).append(r.node.id)
        return out

    def to_networkx(self) -> nx.DiGraph:
        """A DiGraph of the root and the reached nodes (attributes: kind, namespace, name, version,
        distance, owners, properties) with their edges (attribute ``type``), cause -> effect."""
        import networkx as nx

        graph = nx.DiGraph()
        distance = {r.node.id: r.distance for r in self.reached}
        distance[self.root.id] = 0
        for node in self.nodes:
            graph.add_node(
                node.id,
                kind=node.kind.value,
                namespace=node.namespace,
                name=node.name,
                version=node.version,
                distance=distance[node.id],
                owners=list(node.owners),
                properties=node.properties,
            )
        for edge in self.edges:
            if edge.source in graph and edge.target in graph:
                graph.add_edge(edge.source, edge.target, type=edge.type.value)
        return graph


@dataclass(frozen=True, slots=True)
class RegisterResult:
    nodes_created: int
    nodes_updated: int
    edges_created: int
    unchanged: int
    audit_seq: int | None
    recorded_at: datetime | None
    node_ids: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.audit_seq is not None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    principal: str
    source: str
    action: str
    subjects: tuple[str, ...]
    payload: Any
    hash: str
    prev_hash: str


@dataclass(frozen=True, slots=True)
class ColumnLineage:
    """A column-level dependency of a dataset version: ``source_field`` of ``source`` feeds
    ``target_field`` (None: the whole dataset depends on it, e.g. a filter or join key)."""

    target: str
    target_field: str | None
    source: str  # a dataset version id when the producing run's input is known, else namespace/name
    source_field: str
    transformations: tuple[dict[str, Any], ...] = ()
    description: str | None = None
