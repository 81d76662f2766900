"""The write side. Each mutation checks the caller's role and namespaces first, then makes one
atomic store write audited under ``token:<name>`` with source ``api``; on any error nothing is
written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

import strawberry

from lineage.api.context import Context
from lineage.api.schema.admin import CreatedToken, TokenInfo
from lineage.api.schema.enums import Role
from lineage.api.schema.fields import field, mutation
from lineage.api.schema.inputs import BatchInput
from lineage.api.schema.types import Info, Node, load_nodes, to_node
from lineage.errors import NotFoundError, ValidationError
from lineage.governance.access import Principal, check_batch, check_namespaces, create_token, revoke_token
from lineage.governance.classifications import classify
from lineage.governance.owners import set_owners
from lineage.model import WriteResult, parse_node_id
from lineage.model.ids import is_edge_id, parse_edge_id


@strawberry.type(description="What a registration changed. Registering the same batch again changes nothing.")
class RegisterResult:
    nodes_created: int
    nodes_updated: int
    edges_created: int
    unchanged: int
    changed: bool
    audit_seq: int | None = strawberry.field(description="The audit entry of this write; null when nothing changed.")
    recorded_at: datetime | None
    node_ids: list[strawberry.ID]

    @field("The registered nodes, as stored now.")
    async def nodes(self, info: Info) -> list[Node]:
        info.context.spend(len(self.node_ids))
        return await load_nodes(info, [str(i) for i in self.node_ids], None)


@strawberry.type
class RetractResult:
    id: strawberry.ID
    audit_seq: int | None
    recorded_at: datetime | None


@strawberry.type(description="A node after a change of its owners or tags.")
class AnnotationResult:
    node: Node
    changed: bool
    audit_seq: int | None


def _namespace(node_id: str) -> str:
    try:
        return parse_node_id(node_id).namespace
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _check_target(who: Principal, target: str, action: str) -> None:
    """Namespace check for one node or edge id (a writer limited to namespaces)."""
    if is_edge_id(target):
        try:
            src, _, dst = parse_edge_id(target)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        check_namespaces(who, [], [("edge", _namespace(src), _namespace(dst))], action=action)
    else:
        check_namespaces(who, [(target, _namespace(target))], action=action)


async def _annotate(ctx: Context, node_id: str, action: str, write: Callable[..., WriteResult]) -> AnnotationResult:
    """Role and namespace checks, then ``write(principal=...)`` (a governance write) in a worker thread."""
    who = ctx.writer(action)
    _check_target(who, node_id, action)
    result = await ctx.call(write, principal=who.id)
    record = await ctx.call(ctx.store.get_node, node_id)
    return AnnotationResult(node=to_node(record, None), changed=result.changed, audit_seq=result.audit_seq)


@strawberry.type
class Mutation:
    @mutation("Register nodes and edges, all or nothing (same format as `lineage register`).")
    async def register(self, info: Info, batch: BatchInput) -> RegisterResult:
        ctx = info.context
        who = ctx.writer("registering lineage")
        domain = batch.to_batch(ctx.limits.max_batch)
        check_batch(who, domain)
        result = await ctx.call(ctx.store.register, domain, principal=who.id, source="api")
        return RegisterResult(
            nodes_created=result.nodes_created,
            nodes_updated=result.nodes_updated,
            edges_created=result.edges_created,
            unchanged=result.unchanged,
            changed=result.changed,
            audit_seq=result.audit_seq,
            recorded_at=result.recorded_at,
            node_ids=[strawberry.ID(i) for i in dict.fromkeys(result.node_ids)],
        )

    @mutation("Retract a node (with its edges) or an edge '<from> -<TYPE>-> <to>'.")
    async def retract(self, info: Info, id: strawberry.ID, reason: str) -> RetractResult:
        ctx = info.context
        who = ctx.writer("retracting")
        _check_target(who, str(id), "retract")
        result = await ctx.call(ctx.store.retract, str(id), reason=reason, principal=who.id, source="api")
        return RetractResult(id=id, audit_seq=result.audit_seq, recorded_at=result.recorded_at)

    @mutation(
        "Replace the owners of a node (at least one): 'team-x', 'a@acme.com' or 'team-x <#oncall>'."
    )
    async def set_owners(self, info: Info, id: strawberry.ID, owners: list[str]) -> AnnotationResult:
        store = info.context.store
        write = partial(set_owners, store, str(id), replace=owners, source="api")
        return await _annotate(info.context, str(id), "set owners", write)

    @mutation(
        "Classify a node (or one dataset column) with dotted names such as pii or pii.email; "
        "classifications flow downstream along lineage."
    )
    async def tag(
        self, info: Info, id: strawberry.ID, tags: list[str], column: str | None = None, reason: str | None = None
    ) -> AnnotationResult:
        write = partial(classify, info.context.store, str(id), tags, column=column, source="api", reason=reason)
        return await _annotate(info.context, str(id), "tag", write)

    @mutation("Remove classifications from a node (or one dataset column).")
    async def untag(
        self, info: Info, id: strawberry.ID, tags: list[str], column: str | None = None, reason: str | None = None
    ) -> AnnotationResult:
        write = partial(
            classify, info.context.store, str(id), tags, column=column, remove=True, source="api", reason=reason
        )
        return await _annotate(info.context, str(id), "untag", write)

    @mutation("Create an API token (admin only). The secret is in the answer, once.")
    async def create_token(
        self, info: Info, name: str, role: Role, namespaces: list[str] | None = None
    ) -> CreatedToken:
        ctx = info.context
        who = ctx.admin("creating tokens")
        secret, record = await ctx.call(
            create_token, ctx.store, name, role.domain, namespaces or [], principal=who.id, source="api"
        )
        return CreatedToken(token=TokenInfo.of(record), secret=secret)

    @mutation(
        "Revoke a token by name (admin only); it stops working at once "
        "(within a second on other server processes)."
    )
    async def revoke_token(self, info: Info, name: str) -> TokenInfo:
        ctx = info.context
        who = ctx.admin("revoking tokens")
        await ctx.call(revoke_token, ctx.store, name, principal=who.id, source="api")
        ctx.services.principals.clear()
        tokens = await ctx.call(ctx.store.tokens)
        revoked = [t for t in tokens if t.name == name and t.revoked_at is not None]
        if not revoked:
            raise NotFoundError(f"no token named {name!r}")
        return TokenInfo.of(revoked[-1])
