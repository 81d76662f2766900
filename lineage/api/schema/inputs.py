"""GraphQL inputs. A registration batch has the same shape as a ``lineage register`` file and is
validated by the same pydantic model, so both interfaces accept and refuse exactly the same data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from lineage.api.schema.enums import Edge, Kind, domain_kinds
from lineage.errors import LimitExceededError
from lineage.model import Batch, parse_batch
from lineage.storage.base import AuditFilter, NodeFilter


@strawberry.input(description="One node to register; its id is derived from kind, namespace, name and version.")
class NodeInput:
    kind: Kind
    namespace: str
    name: str
    version: str | None = strawberry.field(
        default=None, description="Version; run id for a Run, sha for a CodeCommit; omit for a Deployment."
    )
    event_time: datetime | None = None
    owners: list[str] | None = None
    properties: JSON | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "namespace": self.namespace, "name": self.name}
        for key, value in (
            ("version", self.version),
            ("event_time", self.event_time),
            ("owners", self.owners),
            ("properties", self.properties),
        ):
            if value is not None:
                out[key] = value
        return out


@strawberry.input(description="One provenance edge, from cause to effect, between two node ids.")
class EdgeInput:
    from_id: strawberry.ID = strawberry.field(name="from")
    type: Edge
    to_id: strawberry.ID = strawberry.field(name="to")
    event_time: datetime | None = None
    properties: JSON | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": str(self.from_id), "type": self.type.value, "to": str(self.to_id)}
        if self.event_time is not None:
            out["event_time"] = self.event_time
        if self.properties is not None:
            out["properties"] = self.properties
        return out


@strawberry.input(description="A registration: applied whole or not at all (same format as `lineage register`).")
class BatchInput:
    nodes: list[NodeInput] = strawberry.field(default_factory=list)
    edges: list[EdgeInput] = strawberry.field(default_factory=list)

    def to_batch(self, max_batch: int) -> Batch:
        """The validated batch. Raises LimitExceededError or ValidationError naming the bad element."""
        size = len(self.nodes) + len(self.edges)
        if size > max_batch:
            raise LimitExceededError(
                f"batch has {size} nodes and edges; the limit is {max_batch}. Split it.",
                details={"size": size, "limit": max_batch},
            )
        return parse_batch({"nodes": [n.to_dict() for n in self.nodes], "edges": [e.to_dict() for e in self.edges]})


@strawberry.input(description="Which nodes to list; every given filter must match.")
class NodeFilterInput:
    kinds: list[Kind] | None = None
    namespace: str | None = None
    name_prefix: str | None = None
    tag: str | None = None
    owner: str | None = None
    recorded_since: datetime | None = None
    recorded_until: datetime | None = None

    def to_filter(self) -> NodeFilter:
        return NodeFilter(
            kinds=domain_kinds(self.kinds),
            namespace=self.namespace,
            name_prefix=self.name_prefix,
            tag=self.tag,
            owner=self.owner,
            recorded_since=self.recorded_since,
            recorded_until=self.recorded_until,
        )


@strawberry.input(description="Which audit entries to list; every given filter must match.")
class AuditFilterInput:
    principal: str | None = None
    subject: strawberry.ID | None = strawberry.field(default=None, description="A node id the entry is about.")
    action: str | None = strawberry.field(default=None, description="register, retract, annotate.tag, ...")
    since: datetime | None = None
    until: datetime | None = None

    def to_filter(self, after_seq: int, limit: int) -> AuditFilter:
        return AuditFilter(
            principal=self.principal,
            subject=str(self.subject) if self.subject is not None else None,
            action=self.action,
            since=self.since,
            until=self.until,
            after_seq=after_seq,
            limit=limit,
        )
