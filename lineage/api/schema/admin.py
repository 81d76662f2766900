"""Audit log, schema description, the caller and tokens, as GraphQL types."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from lineage.api.limits import Limits
from lineage.api.schema.enums import Edge, Kind, Role
from lineage.api.schema.types import PageInfo
from lineage.audit import AuditEntry as DomainEntry
from lineage.audit.graph_verify import GraphVerification
from lineage.governance.access import Principal
from lineage.model import ALLOWED_EDGES, NodeKind, node_id
from lineage.model.kinds import ANNOTATION_KEYS
from lineage.storage.base import TokenRecord


@strawberry.type(description="One entry of the hash-chained, append-only audit log.")
class AuditEntry:
    seq: int
    at: datetime
    principal: str = strawberry.field(
        description="Who: token:<name> for API writes, the CI actor or OS user for the CLI."
    )
    source: str = strawberry.field(description="From where: api, cli, ci:<system>#<run>.")
    action: str
    subjects: list[strawberry.ID]
    payload: JSON
    payload_digest: str
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: DomainEntry) -> AuditEntry:
        return cls(
            seq=entry.seq,
            at=entry.at,
            principal=entry.principal,
            source=entry.source,
            action=entry.action,
            subjects=[strawberry.ID(s) for s in entry.subjects],
            payload=JSON(entry.payload),
            payload_digest=entry.payload_digest,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


@strawberry.type
class AuditEdge:
    cursor: str
    node: AuditEntry


@strawberry.type(description="A page of audit entries, oldest first.")
class AuditConnection:
    edges: list[AuditEdge]
    page_info: PageInfo


@strawberry.type(description="The result of recomputing the audit chain from its first entry.")
class AuditVerification:
    ok: bool
    entries: int
    head: str = strawberry.field(description="Hash of the last entry: anchor it elsewhere to detect truncation.")
    first_bad_seq: int | None
    problem: str | None
    checked: str = strawberry.field(description="log (the chain) or log+graph (the chain and every stored row).")
    rows: int = strawberry.field(description="Stored rows checked against their entries (0 for log only).")
    table: str | None = strawberry.field(description="Table or label of the first problem, when it is in one.")
    key: str | None = strawberry.field(description="Key of the first bad row, where it can be named.")
    expected_digest: str | None
    found_digest: str | None

    @classmethod
    def of(cls, v: GraphVerification) -> AuditVerification:
        first = v.first
        return cls(
            ok=v.ok,
            entries=v.entries,
            head=v.head,
            first_bad_seq=v.first_bad_seq,
            problem=v.problem,
            checked="log" if v.log_only else "log+graph",
            rows=v.rows,
            table=first.table if first else None,
            key=first.key if first else None,
            expected_digest=first.expected if first else None,
            found_digest=first.found if first else None,
        )


@strawberry.type
class KindInfo:
    kind: Kind
    versioned: bool
    id_prefix: str
    id_example: str


@strawberry.type(description="An allowed edge: (from kind) -type-> (to kind).")
class EdgeRule:
    from_kind: Kind = strawberry.field(name="from")
    type: Edge
    to_kind: Kind = strawberry.field(name="to")
    sentence: str


@strawberry.type(description="The server's limits: ask for no more than this.")
class LimitsInfo:
    max_query_depth: int
    max_page_size: int
    max_traversal_depth: int
    max_traversal_nodes: int
    max_batch: int
    max_body_bytes: int
    max_result_nodes: int


@strawberry.type(description="The lineage schema: node kinds and allowed edges, plus the server's limits.")
class SchemaInfo:
    kinds: list[KindInfo]
    edges: list[EdgeRule]
    annotation_keys: list[str]
    limits: LimitsInfo


_EXAMPLES = {
    NodeKind.DATASET: node_id(NodeKind.DATASET, "warehouse", "orders", "v7"),
    NodeKind.FEATURE: node_id(NodeKind.FEATURE, "features", "orders_30d", "v2"),
    NodeKind.CODE_COMMIT: node_id(NodeKind.CODE_COMMIT, "git", "github.com/acme/ml", "3f2a9c1"),
    NodeKind.RUN: node_id(NodeKind.RUN, "ci", "train.churn", "1234"),
    NodeKind.MODEL: node_id(NodeKind.MODEL, "ml", "churn-classifier", "3"),
    NodeKind.DEPLOYMENT: node_id(NodeKind.DEPLOYMENT, "prod", "churn-api", None),
}


def schema_info(limits: Limits) -> SchemaInfo:
    rules = sorted(ALLOWED_EDGES, key=lambda t: (t[1].value, t[0].value, t[2].value))
    return SchemaInfo(
        kinds=[
            KindInfo(kind=Kind.of(k), versioned=k.versioned, id_prefix=k.prefix, id_example=_EXAMPLES[k])
            for k in NodeKind
        ],
        edges=[
            EdgeRule(
                from_kind=Kind.of(s), type=Edge.of(e), to_kind=Kind.of(d), sentence=f"a {s.value} {e.value} a {d.value}"
            )
            for s, e, d in rules
        ],
        annotation_keys=sorted(ANNOTATION_KEYS),
        limits=LimitsInfo(
            max_query_depth=limits.max_query_depth,
            max_page_size=limits.max_page_size,
            max_traversal_depth=limits.max_depth,
            max_traversal_nodes=limits.max_nodes,
            max_batch=limits.max_batch,
            max_body_bytes=limits.max_body_bytes,
            max_result_nodes=limits.max_result_nodes,
        ),
    )


@strawberry.type(description="Who the server thinks is calling.")
class Viewer:
    name: str
    role: Role
    namespaces: list[str] = strawberry.field(description="For a writer limited to namespaces; empty means all.")
    anonymous: bool
    principal: str = strawberry.field(description="What the audit log records for this caller's writes.")

    @classmethod
    def of(cls, p: Principal) -> Viewer:
        return cls(
            name=p.name,
            role=Role(p.role.value),
            namespaces=list(p.namespaces),
            anonymous=p.anonymous,
            principal=p.id,
        )


@strawberry.type(description="An API token (the secret itself is never stored or shown again).")
class TokenInfo:
    name: str
    role: Role
    namespaces: list[str]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: TokenRecord) -> TokenInfo:
        return cls(
            name=t.name,
            role=Role(t.role),
            namespaces=list(t.namespaces),
            created_at=t.created_at,
            created_by=t.created_by,
            revoked_at=t.revoked_at,
        )


@strawberry.type(description="A new token. Copy the secret now: it is shown once.")
class CreatedToken:
    token: TokenInfo
    secret: str
