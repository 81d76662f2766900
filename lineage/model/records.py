"""What the store gives back: nodes and edges as recorded, with their bookkeeping times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.model.ids import edge_id
from lineage.model.kinds import EdgeType, NodeKind


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A node as recorded: its parts and properties, owners and tags, and when and by whom it was
    recorded (and retracted)."""

    id: str
    kind: NodeKind
    namespace: str
    name: str
    version: str | None
    properties: dict[str, Any]
    owners: tuple[str, ...]
    tags: tuple[str, ...]
    event_time: datetime | None
    recorded_at: datetime
    recorded_by: str
    retracted_at: datetime | None = None
    retracted_by: str | None = None
    retract_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "properties": self.properties,
            "owners": list(self.owners),
            "tags": list(self.tags),
            "event_time": _iso(self.event_time),
            "recorded_at": _iso(self.recorded_at),
            "recorded_by": self.recorded_by,
            "retracted_at": _iso(self.retracted_at),
            "retracted_by": self.retracted_by,
            "retract_reason": self.retract_reason,
        }


@dataclass(frozen=True, slots=True)
class EdgeRecord:
    """An edge as recorded, with when and by whom it was recorded (and retracted)."""

    source: str
    type: EdgeType
    target: str
    properties: dict[str, Any]
    event_time: datetime | None
    recorded_at: datetime
    recorded_by: str
    retracted_at: datetime | None = None
    retracted_by: str | None = None
    retract_reason: str | None = None

    @property
    def id(self) -> str:
        return edge_id(self.source, self.type, self.target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.source,
            "type": self.type.value,
            "to": self.target,
            "properties": self.properties,
            "event_time": _iso(self.event_time),
            "recorded_at": _iso(self.recorded_at),
            "recorded_by": self.recorded_by,
            "retracted_at": _iso(self.retracted_at),
            "retract_reason": self.retract_reason,
        }


@dataclass(frozen=True, slots=True)
class Step:
    """One edge of an explaining path, oriented the way the traversal walked it."""

    edge_type: EdgeType
    node: str


@dataclass(slots=True)
class WriteResult:
    """What a write changed. ``audit_seq`` is None when nothing changed (an idempotent repeat)."""

    nodes_created: int = 0
    nodes_updated: int = 0
    edges_created: int = 0
    unchanged: int = 0
    audit_seq: int | None = None
    recorded_at: datetime | None = None
    node_ids: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.audit_seq is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes_created": self.nodes_created,
            "nodes_updated": self.nodes_updated,
            "edges_created": self.edges_created,
            "unchanged": self.unchanged,
            "audit_seq": self.audit_seq,
            "recorded_at": _iso(self.recorded_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
