"""Impact and provenance reports over GraphQL.

An impact field runs the report (:func:`lineage.analysis.impact`: traversal, owners and production
flags from the traversal index, display order) in one worker-thread call, which also reads the node
records of the requested page and, when the selection asks for them, of the production
deployments; nothing else of the closure becomes Python objects. A bill of materials reads the
records of every node it lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import strawberry

from lineage.analysis import is_production
from lineage.analysis.budget import WorkBudget
from lineage.analysis.lineage import PROVENANCE_ORDER, LineageReport, ReachedNode, impact
from lineage.api.context import Context
from lineage.api.schema import cursors
from lineage.api.schema.enums import Kind, domain_kinds
from lineage.api.schema.fields import field
from lineage.api.schema.types import Info, Node, PageInfo, Path, lazy_path, make_path, to_node
from lineage.errors import BadInputError
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.storage.base import Direction, GraphStore, Reach


@strawberry.type(description="How many reached nodes are of a kind.")
class KindCount:
    kind: Kind
    count: int


#: Edge types by value: a dict lookup per step instead of an enum construction.
_EDGE_TYPES = {e.value: e for e in EdgeType}


def _path_of(root: Reached) -> Path:
    row = root.row
    if row is not None:
        return lazy_path(lambda: row.path, row.edges, root.node.as_of)
    assert root.reach is not None
    return _path(root.reach, root.node.record.id)


@strawberry.type(description="A node reached by a traversal, how far away it is and one shortest path to it.")
class Reached:
    node: Node
    distance: int
    #: Where the explaining path comes from: a traversal, or a report row.
    reach: strawberry.Private[Reach | None]
    path: Path = strawberry.field(
        resolver=_path_of,
        description="One shortest path from the report's root to this node (computed when asked for).",
    )
    #: Plain attribute, set from the record or report row at hand: no resolver call per row.
    production: bool = strawberry.field(description="Whether this is a deployment in a production environment.")
    row: strawberry.Private[ReachedNode | None] = None


@strawberry.type(description="A reached node with its pagination cursor.")
class ReachedEdge(Reached):
    #: ``<display position>:<id>``, encoded into the cursor when it is selected.
    position: strawberry.Private[str] = ""

    @strawberry.field
    def cursor(self) -> str:
        return _cursor(self.position)


def _cursor(position: str) -> str:
    return cursors.encode("reached", position)


@strawberry.type(description="A page of reached nodes: deployments first, then models, features, data, runs, commits.")
class ReachedConnection:
    edges: list[ReachedEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="An owner of reached nodes, to notify; owners of production deployments come first.")
class OwnerToNotify:
    owner: str
    node_ids: list[strawberry.ID]
    production: bool


def _path(reach: Reach, node_id: str) -> Path:
    steps = reach.path(node_id)
    return make_path([reach.start, *(s.node for s in steps)], [s.edge_type for s in steps], reach.as_of)


def _reached(reach: Reach, record: NodeRecord, distance: int) -> Reached:
    return Reached(
        node=to_node(record, reach.as_of), distance=distance, reach=reach, production=is_production(record)
    )


def _row(row: ReachedNode, record: NodeRecord, as_of: datetime | None) -> Reached:
    return Reached(node=to_node(record, as_of), distance=row.distance, reach=None, production=row.production, row=row)


def _counts(reach: Reach, order: Sequence[NodeKind]) -> list[KindCount]:
    counts = reach.counts()
    return [KindCount(kind=Kind.of(k), count=counts[k.value]) for k in order if k.value in counts]


async def _records(ctx: Context, ids: list[str], as_of: datetime | None) -> dict[str, NodeRecord]:
    """Many records in one store call, shared with the request's loader."""
    records = await ctx.call(ctx.store.get_nodes, ids, as_of)
    ctx.loaders.prime(records, as_of)
    return records


@strawberry.type(description="Everything downstream of a node: what a broken version affects.")
class ImpactReport:
    report: strawberry.Private[LineageReport]
    #: Production deployments and their records, when read with the report (see :func:`impact_page`).
    deployments: strawberry.Private[tuple[list[ReachedNode], dict[str, NodeRecord]] | None]
    root: Node
    depth: int
    kinds: list[Kind]
    reached: ReachedConnection = strawberry.field(description="The reached nodes, one page.")

    @strawberry.field
    def as_of(self) -> datetime | None:
        return self.report.as_of

    @field("Number of reached nodes (of the requested kinds).")
    def total(self) -> int:
        return len(self.report.nodes)

    @field("True when the traversal stopped at the server's node limit.")
    def truncated(self) -> bool:
        return self.report.truncated

    @strawberry.field
    def counts(self) -> list[KindCount]:
        return [KindCount(kind=Kind.of(NodeKind(k)), count=n) for k, n in self.report.counts().items()]

    @field("Production deployments reached, nearest first.")
    async def production_deployments(self, info: Info) -> list[Reached]:
        found = self.deployments
        if found is None:  # not read with the report: the selection did not show it up front
            found = await info.context.call(_production_rows, info.context.store, self.report)
            info.context.loaders.prime(found[1], self.report.as_of)
        rows, records = found
        rows = [r for r in rows if r.id in records]
        info.context.spend(len(rows))
        as_of = self.report.as_of
        return [_row(r, records[r.id], as_of) for r in rows]

    @field("Owners of the reached nodes and what they own.")
    async def owners_to_notify(self, info: Info) -> list[OwnerToNotify]:
        owned, prod_ids = await info.context.call(_owners, self.report)
        return [
            OwnerToNotify(
                owner=o, node_ids=[strawberry.ID(i) for i in ids], production=not prod_ids.isdisjoint(ids)
            )
            for o, ids in owned.items()
        ]


def _production_rows(
    store: GraphStore, report: LineageReport
) -> tuple[list[ReachedNode], dict[str, NodeRecord]]:
    """The report's production deployments, nearest first, and their records."""
    rows = report.production_deployments()
    return rows, store.get_nodes([r.id for r in rows], report.as_of) if rows else {}


def _owners(report: LineageReport) -> tuple[dict[str, list[str]], set[str]]:
    """Owner -> ids they own (owners with production impact first), and the production ids."""
    return report.owners(), {r.id for r in report.production_deployments()}


def _position(report: LineageReport, value: str) -> int | None:
    """The display position of the row a cursor names: ``<position>:<id>``, checked against the row
    there (else looked up by id, as a cursor of an earlier server version names only the id)."""
    head, sep, node_id = value.partition(":")
    if sep and head.isdigit():
        at = int(head)
        found = report.shown(at, at + 1)
        if found and found[0].id == node_id:
            return at
    else:
        node_id = value
    return report.position(node_id)


@dataclass(slots=True)
class _ImpactPage:
    report: LineageReport
    page: list[ReachedNode]
    start: int
    records: dict[str, NodeRecord]
    deployments: list[ReachedNode] | None


def impact_page(
    store: GraphStore,
    node_id: str,
    *,
    max_depth: int,
    kinds: tuple[NodeKind, ...],
    as_of: datetime | None,
    max_nodes: int,
    after: str | None,
    size: int,
    edge_types: tuple[EdgeType, ...] = (),
    budget: WorkBudget | None = None,
    deployments: bool = False,
) -> _ImpactPage:
    """The report, the page's rows with their records and, with ``deployments``, the production
    deployments with theirs: blocking work, run in one worker thread."""
    report = impact(
        store, node_id, max_depth=max_depth, kinds=kinds, as_of=as_of, depth_limit=max_depth, max_nodes=max_nodes,
        edge_types=edge_types, budget=budget,
    )  # fmt: skip
    start = 0
    value = cursors.decode("reached", after)
    if value is not None:
        position = _position(report, value)
        if position is None:
            raise BadInputError(f"cursor {after!r} does not point into this report (did the graph change?)")
        start = position + 1
    page = report.shown(start, start + size)
    prod = report.production_deployments() if deployments else None
    wanted = dict.fromkeys([*(r.id for r in page), *(r.id for r in prod or ())])
    records = store.get_nodes(list(wanted), as_of) if wanted else {}  # one read: the page and deployments
    return _ImpactPage(report, page, start, records, prod)


async def build_impact(
    ctx: Context,
    node_id: str,
    *,
    depth: int | None,
    kinds: list[Kind] | None,
    as_of: datetime | None,
    first: int | None,
    after: str | None,
    edge_types: tuple[EdgeType, ...] = (),
    deployments: bool = False,
) -> ImpactReport:
    """The report with its first page; ``deployments`` when the selection asks for production
    deployments, whose records are then read in the same worker-thread call as the traversal."""
    size = ctx.limits.page(first, default=100)
    max_depth = ctx.limits.depth(depth)
    found = await ctx.traverse(
        impact_page,
        ctx.store,
        node_id,
        max_depth=max_depth,
        kinds=domain_kinds(kinds),
        as_of=as_of,
        max_nodes=ctx.limits.max_nodes,
        after=after,
        size=size,
        edge_types=edge_types,
        budget=ctx.work,
        deployments=deployments,
    )
    report, records = found.report, found.records
    ctx.spend(len(found.page) + 1)
    ctx.loaders.prime({**records, node_id: report.root}, as_of)
    edges = [
        ReachedEdge(
            node=to_node(records[r.id], as_of),
            distance=r.distance,
            reach=None,
            production=r.production,
            row=r,
            position=f"{found.start + i}:{r.id}",
        )
        for i, r in enumerate(found.page)
        if r.id in records
    ]
    total = len(report.nodes)
    info = PageInfo(has_next_page=found.start + size < total, end_cursor=_cursor(edges[-1].position) if edges else None)
    return ImpactReport(
        report=report,
        deployments=None if found.deployments is None else (found.deployments, records),
        root=to_node(report.root, as_of),
        depth=max_depth,
        kinds=list(kinds or []),
        reached=ReachedConnection(edges=edges, page_info=info, total_count=total),
    )


@strawberry.type(description="Reached nodes of one kind.")
class KindGroup:
    kind: Kind
    count: int
    items: list[Reached]


@strawberry.type(description="Everything upstream of a node: its bill of materials, grouped by kind.")
class ProvenanceReport:
    reach: strawberry.Private[Reach]
    root: Node
    depth: int

    @strawberry.field
    def as_of(self) -> datetime | None:
        return self.reach.as_of

    @strawberry.field
    def total(self) -> int:
        return len(self.reach.nodes)

    @strawberry.field
    def truncated(self) -> bool:
        return self.reach.truncated

    @strawberry.field
    def counts(self) -> list[KindCount]:
        return _counts(self.reach, PROVENANCE_ORDER)

    @field("Data, features, commits, runs, models: each group nearest first.")
    async def groups(self, info: Info, kinds: list[Kind] | None = None) -> list[KindGroup]:
        wanted = set(domain_kinds(kinds))
        hops = [r for r in self.reach.nodes if not wanted or r.kind in wanted]
        info.context.spend(len(hops))
        records = await _records(info.context, [r.id for r in hops], self.reach.as_of)
        out = []
        for kind in PROVENANCE_ORDER:
            members = sorted((r for r in hops if r.kind is kind and r.id in records), key=lambda r: (r.distance, r.id))
            if members:
                items = [_reached(self.reach, records[r.id], r.distance) for r in members]
                out.append(KindGroup(kind=Kind.of(kind), count=len(items), items=items))
        return out


async def build_provenance(
    ctx: Context,
    node_id: str,
    *,
    depth: int | None,
    kinds: list[Kind] | None,
    as_of: datetime | None,
    edge_types: tuple[EdgeType, ...] = (),
) -> ProvenanceReport:
    max_depth = ctx.limits.depth(depth)
    reach = await ctx.traverse(
        ctx.store.reach,
        node_id,
        Direction.UPSTREAM,
        max_depth=max_depth,
        kinds=domain_kinds(kinds),
        as_of=as_of,
        max_nodes=ctx.limits.max_nodes,
        edge_types=edge_types,
    )
    ctx.work.charge(expanded=len(reach.nodes))
    root = await _records(ctx, [node_id], as_of)
    return ProvenanceReport(reach=reach, root=to_node(root[node_id], as_of), depth=max_depth)
