"""GraphQL enums mirroring the domain's closed lists (kept separate so the domain stays plain)."""

from __future__ import annotations

from enum import Enum

import strawberry

from lineage.governance.access import Role as DomainRole
from lineage.model import EdgeType as DomainEdgeType
from lineage.model import NodeKind
from lineage.storage.base import Direction as DomainDirection


@strawberry.enum(name="NodeKind", description="What a node is.")
class Kind(Enum):
    DATASET = "Dataset"
    FEATURE = "Feature"
    CODE_COMMIT = "CodeCommit"
    RUN = "Run"
    MODEL = "Model"
    DEPLOYMENT = "Deployment"

    @property
    def domain(self) -> NodeKind:
        return NodeKind(self.value)

    @classmethod
    def of(cls, kind: NodeKind) -> Kind:
        return cls(kind.value)


@strawberry.enum(name="EdgeType", description="Provenance edges point the way data flows: cause -> effect.")
class Edge(Enum):
    INPUT_TO = "INPUT_TO"
    PRODUCED = "PRODUCED"
    EXECUTED_IN = "EXECUTED_IN"
    FEEDS = "FEEDS"
    DEPLOYED_AS = "DEPLOYED_AS"
    PARENT_OF = "PARENT_OF"

    @property
    def domain(self) -> DomainEdgeType:
        return DomainEdgeType(self.value)

    @classmethod
    def of(cls, edge: DomainEdgeType) -> Edge:
        return cls(edge.value)


@strawberry.enum(name="Direction", description="DOWNSTREAM follows edges out (impact), UPSTREAM in (provenance).")
class Direction(Enum):
    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"

    @property
    def domain(self) -> DomainDirection:
        return DomainDirection(self.value)

    @classmethod
    def of(cls, direction: DomainDirection) -> Direction:
        return cls(direction.value)


@strawberry.enum(name="Role", description="What a token may do.")
class Role(Enum):
    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"

    @property
    def domain(self) -> DomainRole:
        return DomainRole(self.value)


def domain_kinds(kinds: list[Kind] | None) -> tuple[NodeKind, ...]:
    return tuple(k.domain for k in kinds or ())


def domain_edges(edges: list[Edge] | None) -> tuple[DomainEdgeType, ...]:
    return tuple(dict.fromkeys(e.domain for e in edges or ()))
