"""Impact and provenance reports over GraphQL.

The traversal runs once (one store round trip per level); node records are fetched only for
what the query selects: the requested page of an impact report, its deployments when
``productionDeployments`` is asked for, every reached node for ``ownersToNotify`` or a bill of
materials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import strawberry

from lineage.analysis import is_production
from lineage.analysis.budget import WorkBudget, charge
from lineage.analysis.lineage import IMPACT_ORDER, PROVENANCE_ORDER
from lineage.api.context import Context
from lineage.api.schema import cursors
from lineage.api.schema.enums import Kind, domain_kinds
from lineage.api.schema.fields import field
from lineage.api.schema.types import Info, Node, PageInfo, Path, make_path, to_node
from lineage.errors import BadInputError
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.storage.base import Direction, GraphStore, Reach
from lineage.storage.base import Reached as ReachedHop


@strawberry.type(description="How many reached nodes are of a kind.")
class KindCount:
    kind: Kind
    count: int


def _path_of(root: Reached) -> Path:
    return _path(root.reach, root.node.record.id)


@strawberry.type(description="A node reached by a traversal, how far away it is and one shortest path to it.")
class Reached:
    node: Node
    distance: int
    reach: strawberry.Private[Reach]
    path: Path = strawberry.field(
        resolver=_path_of,
        description="One shortest path from the report's root to this node (computed when asked for).",
    )
    #: Plain attribute, set from the record at hand (see :func:`_reached`): no resolver call per row.
    production: bool = strawberry.field(description="Whether this is a deployment in a production environment.")


@strawberry.type(description="A reached node with its pagination cursor.")
class ReachedEdge(Reached):
    cursor: str


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
    reach: strawberry.Private[Reach]
    #: Records of the reached deployments when read with the traversal (see :func:`impact_page`).
    deployments: strawberry.Private[dict[str, NodeRecord] | None]
    root: Node
    depth: int
    kinds: list[Kind]
    reached: ReachedConnection = strawberry.field(description="The reached nodes, one page.")

    @strawberry.field
    def as_of(self) -> datetime | None:
        return self.reach.as_of

    @field("Number of reached nodes (of the requested kinds).")
    def total(self) -> int:
        return len(self.reach.nodes)

    @field("True when the traversal stopped at the server's node limit.")
    def truncated(self) -> bool:
        return self.reach.truncated

    @strawberry.field
    def counts(self) -> list[KindCount]:
        return _counts(self.reach, IMPACT_ORDER)

    @field("Production deployments reached, nearest first.")
    async def production_deployments(self, info: Info) -> list[Reached]:
        hops = _deployments(self.reach)
        records = self.deployments
        if records is None:  # not read with the traversal: the selection did not show it up front
            records = await _records(info.context, [r.id for r in hops], self.reach.as_of)
        prod = [(r, records[r.id]) for r in hops if r.id in records and is_production(records[r.id])]
        info.context.spend(len(prod))
        return [_reached(self.reach, record, r.distance) for r, record in prod]

    @field("Owners of the reached nodes and what they own.")
    async def owners_to_notify(self, info: Info) -> list[OwnerToNotify]:
        records = await _records(info.context, [r.id for r in self.reach.nodes], self.reach.as_of)
        owned: dict[str, list[str]] = {}
        prod_owners: set[str] = set()
        for hop in self.reach.nodes:
            record = records.get(hop.id)
            for owner in record.owners if record else ():
                owned.setdefault(owner, []).append(hop.id)
                if record is not None and is_production(record):
                    prod_owners.add(owner)
        ordered = sorted(owned.items(), key=lambda kv: (kv[0] not in prod_owners, -len(kv[1]), kv[0]))
        return [
            OwnerToNotify(owner=o, node_ids=[strawberry.ID(i) for i in ids], production=o in prod_owners)
            for o, ids in ordered
        ]


_KIND_RANK = {kind: i for i, kind in enumerate(IMPACT_ORDER)}


def _impact_order(hop: ReachedHop) -> tuple[int, int, str]:
    return _KIND_RANK[hop.kind], hop.distance, hop.id


def _deployments(reach: Reach) -> list[ReachedHop]:
    return [r for r in reach.nodes if r.kind is NodeKind.DEPLOYMENT]


@dataclass(slots=True)
class _ImpactPage:
    reach: Reach
    page: list[ReachedHop]
    start: int
    total: int
    records: dict[str, NodeRecord]
    deployments: dict[str, NodeRecord] | None


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
    """The traversal, the ordering and the page's records (and, with ``deployments``, the records of
    every reached deployment, to tell the production ones): blocking work, run in one worker thread."""
    reach = store.reach(
        node_id, Direction.DOWNSTREAM, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes,
        edge_types=edge_types,
    )
    charge(budget, expanded=len(reach.nodes))
    ordered = sorted(reach.nodes, key=_impact_order)
    start = 0
    after_id = cursors.decode("reached", after)
    if after_id is not None:
        position = next((i for i, r in enumerate(ordered) if r.id == after_id), None)
        if position is None:
            raise BadInputError(f"cursor {after!r} does not point into this report (did the graph change?)")
        start = position + 1
    page = ordered[start : start + size]
    wanted = [node_id, *(r.id for r in page)]
    deployed = [r.id for r in _deployments(reach)] if deployments else []
    records = store.get_nodes(wanted + deployed if deployed else wanted, as_of)
    by_id = {i: records[i] for i in deployed if i in records} if deployments else None
    return _ImpactPage(reach, page, start, len(ordered), records, by_id)


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
    reach, records = found.reach, found.records
    ctx.spend(len(found.page) + 1)
    ctx.loaders.prime(records, as_of)
    edges = [
        ReachedEdge(
            node=to_node(records[r.id], as_of),
            distance=r.distance,
            reach=reach,
            production=is_production(records[r.id]),
            cursor=cursors.encode("reached", r.id),
        )
        for r in found.page
        if r.id in records
    ]
    info = PageInfo(has_next_page=found.start + size < found.total, end_cursor=edges[-1].cursor if edges else None)
    return ImpactReport(
        reach=reach,
        deployments=found.deployments,
        root=to_node(records[node_id], as_of),
        depth=max_depth,
        kinds=list(kinds or []),
        reached=ReachedConnection(edges=edges, page_info=info, total_count=found.total),
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
