"""Paths between two nodes and the difference between two provenances, over GraphQL."""

from __future__ import annotations

from datetime import datetime

import strawberry

from lineage.analysis.diff import ProvenanceDiff as DomainDiff
from lineage.analysis.diff import diff
from lineage.analysis.paths import PathsResult as DomainPaths
from lineage.analysis.paths import paths
from lineage.api.context import Context
from lineage.api.schema.enums import Kind, domain_kinds
from lineage.api.schema.types import Node, Path, make_path, to_node
from lineage.errors import NotFoundError
from lineage.model import NodeRecord


async def _nodes(ctx: Context, ids: list[str], as_of: datetime | None) -> dict[str, NodeRecord]:
    ctx.spend(len(ids))
    records = await ctx.call(ctx.store.get_nodes, list(dict.fromkeys(ids)), as_of)
    missing = [i for i in ids if i not in records]
    if missing:
        raise NotFoundError(f"no node {missing[0]!r}" + (f" as of {as_of.isoformat()}" if as_of else ""))
    ctx.loaders.prime(records, as_of)
    return records


@strawberry.type(description="Up to `max` shortest paths from one node down to another, shortest first.")
class PathsResult:
    from_node: Node = strawberry.field(name="from")
    to: Node
    paths: list[Path]
    more: bool = strawberry.field(description="More paths exist than were asked for.")
    between: int = strawberry.field(description="Nodes on at least one path, both ends included.")


async def build_paths(
    ctx: Context, source: str, target: str, *, max_paths: int, as_of: datetime | None
) -> PathsResult:
    max_paths = ctx.limits.page(max_paths, default=10, name="max")
    found: DomainPaths = await ctx.traverse(
        paths,
        ctx.store,
        source,
        target,
        max_paths=max_paths,
        as_of=as_of,
        max_depth=ctx.limits.max_depth,
        max_nodes=ctx.limits.max_nodes,
        budget=ctx.work,
    )
    records = await _nodes(ctx, [source, target], as_of)
    ctx.spend(sum(len(p.nodes) for p in found.paths))
    return PathsResult(
        from_node=to_node(records[source], as_of),
        to=to_node(records[target], as_of),
        paths=[make_path(p.nodes, p.edges, as_of) for p in found.paths],
        more=found.more,
        between=found.between,
    )


@strawberry.type(description="The same thing (kind, namespace, name) at different versions on the two sides.")
class VersionChange:
    kind: Kind
    namespace: str
    name: str
    before: list[Node] = strawberry.field(description="Versions in the provenance of a only.")
    after: list[Node] = strawberry.field(description="Versions in the provenance of b only.")


@strawberry.type(description="Differences of one kind.")
class DiffCount:
    kind: Kind
    added: int
    removed: int
    changed: int
    unchanged: int


@strawberry.type(description="What differs between the provenance (everything upstream) of a and of b.")
class ProvenanceDiff:
    a: Node
    b: Node
    as_of: datetime | None
    identical: bool
    added: list[Node] = strawberry.field(description="In b's provenance only, under names a's does not have.")
    removed: list[Node] = strawberry.field(description="In a's provenance only, under names b's does not have.")
    changed: list[VersionChange] = strawberry.field(description="Names present on both sides at other versions.")
    unchanged_count: int
    counts: list[DiffCount]
    truncated: bool


async def build_diff(
    ctx: Context, a: str, b: str, *, kinds: list[Kind] | None, as_of: datetime | None
) -> ProvenanceDiff:
    result: DomainDiff = await ctx.traverse(
        diff,
        ctx.store,
        a,
        b,
        as_of=as_of,
        kinds=domain_kinds(kinds),
        max_depth=ctx.limits.max_depth,
        max_nodes=ctx.limits.max_nodes,
        budget=ctx.work,
    )
    ids = [a, b, *result.added, *result.removed, *(i for c in result.changed for i in (*c.before, *c.after))]
    records = await _nodes(ctx, ids, as_of)

    def nodes(node_ids: tuple[str, ...] | list[str]) -> list[Node]:
        return [to_node(records[i], as_of) for i in node_ids]

    return ProvenanceDiff(
        a=to_node(records[a], as_of),
        b=to_node(records[b], as_of),
        as_of=as_of,
        identical=result.identical,
        added=nodes(result.added),
        removed=nodes(result.removed),
        changed=[
            VersionChange(
                kind=Kind.of(c.kind), namespace=c.namespace, name=c.name, before=nodes(c.before), after=nodes(c.after)
            )
            for c in result.changed
        ],
        unchanged_count=len(result.unchanged),
        counts=[
            DiffCount(kind=Kind.of(k), added=c.added, removed=c.removed, changed=c.changed, unchanged=c.unchanged)
            for k, c in result.counts().items()
        ],
        truncated=result.truncated,
    )
