"""The read side: nodes, search, impact, provenance, paths, diff, audit, schema and caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from lineage.api.schema import cursors
from lineage.api.schema.admin import (
    AuditConnection,
    AuditEdge,
    AuditEntry,
    AuditVerification,
    SchemaInfo,
    TokenInfo,
    Viewer,
    schema_info,
)
from lineage.api.schema.compare import PathsResult, ProvenanceDiff, build_diff, build_paths
from lineage.api.schema.enums import Edge, Kind, domain_edges, domain_kinds
from lineage.api.schema.fields import field, selects
from lineage.api.schema.inputs import AuditFilterInput, NodeFilterInput
from lineage.api.schema.reports import ImpactReport, ProvenanceReport, build_impact, build_provenance
from lineage.api.schema.types import Info, Node, NodeConnection, NodeEdge, PageInfo, to_node
from lineage.errors import BadInputError
from lineage.model.batch import as_utc

AsOf = Annotated[
    datetime | None,
    strawberry.argument(description="Answer as the graph was recorded at this time (ISO 8601); default: now."),
]
EdgeTypesArg = Annotated[
    list[Edge] | None,
    strawberry.argument(
        description="Walk only these edge types, e.g. [PARENT_OF, PRODUCED] from an orchestrator run: "
        "the runs it launched and what they produced."
    ),
]

#: Longest search text accepted (names and ids are at most a few hundred characters).
MAX_SEARCH_TEXT = 1_000


@strawberry.type
class Query:
    @field("One node by id. Fails with NOT_FOUND when it is unknown as of the time.")
    async def node(self, info: Info, id: strawberry.ID, as_of: AsOf = None) -> Node | None:
        ctx = info.context
        ctx.reader()
        as_of = as_utc(as_of)
        record = await ctx.call(ctx.store.get_node, str(id), as_of)
        return to_node(record, as_of)

    @field("Nodes matching filters, ordered by id, one page at a time.")
    async def nodes(
        self,
        info: Info,
        filter: NodeFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
        as_of: AsOf = None,
    ) -> NodeConnection | None:
        ctx = info.context
        ctx.reader()
        size = ctx.limits.page(first)
        as_of = as_utc(as_of)
        filt = (filter or NodeFilterInput()).to_filter()
        records = await ctx.call(ctx.store.list_nodes, filt, cursors.decode("node", after), size + 1, as_of)
        ctx.spend(min(len(records), size))
        edges = [NodeEdge(cursor=cursors.encode("node", r.id), node=to_node(r, as_of)) for r in records[:size]]
        return NodeConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(records) > size, end_cursor=edges[-1].cursor if edges else None),
        )

    @field("Nodes whose id or name contains the text (case-insensitive), best matches first.")
    async def search(
        self, info: Info, text: str, kinds: list[Kind] | None = None, first: int = 20, as_of: AsOf = None
    ) -> list[Node] | None:
        ctx = info.context
        ctx.reader()
        if not text.strip():
            raise BadInputError("search text must not be empty")
        if len(text) > MAX_SEARCH_TEXT:
            raise BadInputError(
                f"search text is {len(text)} characters long; the limit is {MAX_SEARCH_TEXT}",
                details={"limit": MAX_SEARCH_TEXT},
            )
        size = ctx.limits.page(first)
        as_of = as_utc(as_of)
        records = await ctx.call(ctx.store.search, text, domain_kinds(kinds), size, as_of)
        ctx.spend(len(records))
        return [to_node(r, as_of) for r in records]

    @field("Everything downstream of a node, with distance, one path each, owners to notify.")
    async def impact(
        self,
        info: Info,
        id: strawberry.ID,
        depth: int | None = None,
        kinds: list[Kind] | None = None,
        as_of: AsOf = None,
        first: int = 100,
        after: str | None = None,
        edge_types: EdgeTypesArg = None,
    ) -> ImpactReport | None:
        info.context.reader()
        return await build_impact(
            info.context, str(id), depth=depth, kinds=kinds, as_of=as_utc(as_of), first=first, after=after,
            edge_types=domain_edges(edge_types), deployments=selects(info, "productionDeployments"),
        )

    @field("Everything upstream of a node: its bill of materials, grouped by kind.")
    async def provenance(
        self,
        info: Info,
        id: strawberry.ID,
        depth: int | None = None,
        kinds: list[Kind] | None = None,
        as_of: AsOf = None,
        edge_types: EdgeTypesArg = None,
    ) -> ProvenanceReport | None:
        info.context.reader()
        return await build_provenance(
            info.context, str(id), depth=depth, kinds=kinds, as_of=as_utc(as_of), edge_types=domain_edges(edge_types)
        )

    @field("Up to `max` shortest paths from one node down to another.")
    async def paths(
        self,
        info: Info,
        from_id: Annotated[strawberry.ID, strawberry.argument(name="from")],
        to: strawberry.ID,
        max: int = 10,
        as_of: AsOf = None,
    ) -> PathsResult | None:
        info.context.reader()
        return await build_paths(info.context, str(from_id), str(to), max_paths=max, as_of=as_utc(as_of))

    @field("What differs between the provenance of two versions (e.g. two model versions).")
    async def diff(
        self,
        info: Info,
        a: strawberry.ID,
        b: strawberry.ID,
        kinds: list[Kind] | None = None,
        as_of: AsOf = None,
    ) -> ProvenanceDiff | None:
        info.context.reader()
        return await build_diff(info.context, str(a), str(b), kinds=kinds, as_of=as_utc(as_of))

    @field("Audit log entries, oldest first.")
    async def audit_log(
        self, info: Info, filter: AuditFilterInput | None = None, first: int = 50, after: str | None = None
    ) -> AuditConnection | None:
        ctx = info.context
        ctx.reader()
        size = ctx.limits.page(first)
        filt = (filter or AuditFilterInput()).to_filter(cursors.decode_int("audit", after), size + 1)
        entries = await ctx.call(ctx.store.audit_entries, filt)
        edges = [AuditEdge(cursor=cursors.encode("audit", e.seq), node=AuditEntry.of(e)) for e in entries[:size]]
        return AuditConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(entries) > size, end_cursor=edges[-1].cursor if edges else None),
        )

    @field(
        "Recompute the audit chain; pass an anchored head hash to detect truncation. With graph: true, "
        "also prove every stored row against the entry that wrote it (one pass over the whole store)."
    )
    async def audit_verification(
        self, info: Info, expect_head: str | None = None, graph: bool = False
    ) -> AuditVerification | None:
        ctx = info.context
        ctx.reader()
        result = await ctx.call(lambda: ctx.store.verify_store(expect_head=expect_head, log_only=not graph))
        return AuditVerification.of(result)

    @field("The allowed node kinds and edges, and the server's limits.")
    def schema_info(self, info: Info) -> SchemaInfo:
        info.context.reader()
        return schema_info(info.context.limits)

    @field("The caller, as the server sees it.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer.of(info.context.reader())

    @field("Every token, revoked ones included (admin only).")
    async def tokens(self, info: Info) -> list[TokenInfo] | None:
        ctx = info.context
        ctx.admin("listing tokens")
        return [TokenInfo.of(t) for t in await ctx.call(ctx.store.tokens)]
