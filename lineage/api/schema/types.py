"""Node kinds as GraphQL types behind one ``Node`` interface, plus paths and neighbours.

Each kind exposes the conventional properties of its kind as typed fields (a Run's ``status``, a
Model's ``metrics``, a Deployment's ``environment``); everything recorded stays available as
``properties``. ``upstream``, ``downstream`` and ``neighbours`` go through the request's
DataLoaders: a whole level of a nested selection costs one expansion and one node fetch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from graphql import GraphQLAbstractType, GraphQLResolveInfo
from lineage.analysis import is_production
from lineage.api.context import Context
from lineage.api.schema.enums import Direction, Edge, Kind, domain_kinds
from lineage.api.schema.fields import field
from lineage.errors import NotFoundError
from lineage.model import EdgeType, NodeKind, NodeRecord
from lineage.storage.base import Direction as DomainDirection

Info = strawberry.Info[Context, None]


def _prop(record: NodeRecord, *keys: str) -> Any:
    for key in keys:
        value = record.properties.get(key)
        if value is not None:
            return value
    return None


def _str(record: NodeRecord, *keys: str) -> str | None:
    value = _prop(record, *keys)
    return None if value is None or isinstance(value, dict | list) else str(value)


def _int(record: NodeRecord, *keys: str) -> int | None:
    value = _prop(record, *keys)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _time(record: NodeRecord, *keys: str) -> datetime | None:
    value = _prop(record, *keys)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _json(value: Any) -> JSON:
    return JSON(value)


@strawberry.type(description="One recorded state of a node's properties; registering other properties adds one.")
class Revision:
    recorded_at: datetime = strawberry.field(description="When this state was recorded.")
    recorded_by: str = strawberry.field(description="The principal that recorded it.")
    event_time: datetime | None
    properties: JSON


@strawberry.interface(description="A version of something in the lineage graph. Every kind implements it.")
class Node:
    record: strawberry.Private[NodeRecord]
    as_of: strawberry.Private[datetime | None]

    @classmethod
    def resolve_type(cls, obj: Any, info: GraphQLResolveInfo[Any], abstract_type: GraphQLAbstractType) -> str:
        """The concrete GraphQL type of a node: its kind (type names equal kind names).

        Much cheaper than Strawberry's generic resolution, which shows in lists of thousands of nodes.
        """
        return str(obj.record.kind.value)

    # Every field below reads the record when selected (the server's execution calls such
    # parent-only resolvers directly): making a node object costs the same however many fields
    # its type has, and a page of rows pays only for the fields the document selects.

    @field("Stable id: <kind>:<namespace>/<name>[@<version>].")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @strawberry.field
    def kind(self) -> Kind:
        return _KINDS[self.record.kind]

    @field("Where the thing lives: a warehouse, job namespace or environment.")
    def namespace(self) -> str:
        return self.record.namespace

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @field("Version (run id for a Run, commit sha for a CodeCommit); null for a Deployment.")
    def version(self) -> str | None:
        return self.record.version

    @field("Every recorded property, as JSON.")
    def properties(self) -> JSON:
        return _json(self.record.properties)

    @field("People or teams to notify about this node.")
    def owners(self) -> list[str]:
        return list(self.record.owners)

    @strawberry.field
    def tags(self) -> list[str]:
        return list(self.record.tags)

    @field("When it happened, if known.")
    def event_time(self) -> datetime | None:
        return self.record.event_time

    @field("When this engine learned about it.")
    def recorded_at(self) -> datetime:
        return self.record.recorded_at

    @field("The principal that registered it.")
    def recorded_by(self) -> str:
        return self.record.recorded_by

    @strawberry.field
    def retracted_at(self) -> datetime | None:
        return self.record.retracted_at

    @strawberry.field
    def retracted_by(self) -> str | None:
        return self.record.retracted_by

    @strawberry.field
    def retract_reason(self) -> str | None:
        return self.record.retract_reason

    @field("Every recorded state of its properties, oldest first (as of the time asked, if any).")
    async def revisions(self, info: Info) -> list[Revision]:
        ctx = info.context
        found = await ctx.call(ctx.store.revisions, self.record.id)
        ctx.spend(len(found))
        return [
            Revision(
                recorded_at=r.recorded_at,
                recorded_by=r.recorded_by,
                event_time=r.event_time,
                properties=_json(r.properties),
            )
            for r in found
            if self.as_of is None or r.recorded_at <= self.as_of
        ]

    @field("Nodes one edge upstream (its direct inputs).")
    async def upstream(self, info: Info, kinds: list[Kind] | None = None, first: int = 100) -> list[Node]:
        return [n.node for n in await _neighbours(info, self, DomainDirection.UPSTREAM, kinds, first)]

    @field("Nodes one edge downstream (what was derived directly from it).")
    async def downstream(self, info: Info, kinds: list[Kind] | None = None, first: int = 100) -> list[Node]:
        return [n.node for n in await _neighbours(info, self, DomainDirection.DOWNSTREAM, kinds, first)]

    @field("Adjacent nodes in both directions (or one), with the edge type.")
    async def neighbours(
        self, info: Info, direction: Direction | None = None, kinds: list[Kind] | None = None, first: int = 100
    ) -> list[Neighbour]:
        out: list[Neighbour] = []
        for d in (DomainDirection.UPSTREAM, DomainDirection.DOWNSTREAM):
            if direction is None or direction.domain is d:
                out.extend(await _neighbours(info, self, d, kinds, first))
        return out


@strawberry.type(description="A table, file set, topic or label set, at one version.")
class Dataset(Node):
    @field("Where the data lives (URI or path), if recorded.")
    def location(self) -> str | None:
        return _str(self.record, "location", "uri", "path")

    @field("Warehouse table name, if recorded.")
    def table(self) -> str | None:
        return _str(self.record, "table")

    @strawberry.field
    def format(self) -> str | None:
        return _str(self.record, "format")

    @field("Row count, if recorded.")
    def rows(self) -> int | None:
        return _int(self.record, "rows", "row_count")

    @strawberry.field
    def partition(self) -> str | None:
        return _str(self.record, "partition")


@strawberry.type(description="A feature or feature view definition, at one version.")
class Feature(Node):
    @strawberry.field
    def definition_version(self) -> str | None:
        return _str(self.record, "definition_version")

    @field("The entity the feature is keyed by.")
    def entity(self) -> str | None:
        return _str(self.record, "entity")

    @field("The feature store it is served from.")
    def store(self) -> str | None:
        return _str(self.record, "store")


@strawberry.type(description="A commit in a repository; the version is the sha.")
class CodeCommit(Node):
    @strawberry.field
    def sha(self) -> str:
        return self.record.version or ""

    @strawberry.field
    def repository(self) -> str:
        return _str(self.record, "repository", "repo_url") or self.record.name

    @strawberry.field
    def author(self) -> str | None:
        return _str(self.record, "author")

    @strawberry.field
    def message(self) -> str | None:
        return _str(self.record, "message")

    @strawberry.field
    def committed_at(self) -> datetime | None:
        return _time(self.record, "committed_at") or self.record.event_time


@strawberry.type(description="One execution of a job: ETL step, feature pipeline, training or evaluation.")
class Run(Node):
    @field("The run id (the version part of the node id).")
    def run_id(self) -> str:
        return self.record.version or ""

    @field("The job this run executed (the node name).")
    def job(self) -> str:
        return _str(self.record, "job") or self.record.name

    @field("START, RUNNING, COMPLETE, FAIL, ABORT or OTHER.")
    def status(self) -> str | None:
        return _str(self.record, "status")

    @strawberry.field
    def started_at(self) -> datetime | None:
        return _time(self.record, "started_at")

    @strawberry.field
    def ended_at(self) -> datetime | None:
        return _time(self.record, "ended_at")

    @field("The CI or orchestration system that ran it.")
    def ci_system(self) -> str | None:
        return _str(self.record, "ci_system")


@strawberry.type(description="A model version: name plus version, with metrics, params and artifact.")
class Model(Node):
    @strawberry.field
    def framework(self) -> str | None:
        return _str(self.record, "framework")

    @strawberry.field
    def artifact_uri(self) -> str | None:
        return _str(self.record, "artifact_uri")

    @field("Evaluation metrics as recorded, e.g. {\"auc\": 0.79}.")
    def metrics(self) -> JSON | None:
        value = _prop(self.record, "metrics")
        return _json(value) if isinstance(value, dict) else None

    @field("Training parameters as recorded.")
    def params(self) -> JSON | None:
        value = _prop(self.record, "params", "parameters")
        return _json(value) if isinstance(value, dict) else None


@strawberry.type(description="A model version serving in an environment.")
class Deployment(Node):
    @field("The environment (property, else the namespace).")
    def environment(self) -> str:
        return _str(self.record, "environment") or self.record.namespace

    @strawberry.field
    def endpoint(self) -> str | None:
        return _str(self.record, "endpoint")

    @strawberry.field
    def status(self) -> str | None:
        return _str(self.record, "status")

    @field("Whether the environment is a production one (prod, production, live).")
    def production(self) -> bool:
        return is_production(self.record)


KIND_TYPES: dict[NodeKind, type[Node]] = {
    NodeKind.DATASET: Dataset,
    NodeKind.FEATURE: Feature,
    NodeKind.CODE_COMMIT: CodeCommit,
    NodeKind.RUN: Run,
    NodeKind.MODEL: Model,
    NodeKind.DEPLOYMENT: Deployment,
}


_KINDS = {kind: Kind.of(kind) for kind in NodeKind}


def to_node(record: NodeRecord, as_of: datetime | None) -> Node:
    """The GraphQL object of a node record: its fields read the record when selected."""
    return KIND_TYPES[record.kind](record=record, as_of=as_of)


@strawberry.type(description="An adjacent node and the edge that links it.")
class Neighbour:
    direction: Direction
    edge_type: Edge
    node: Node


async def _neighbours(
    info: Info, node: Node, direction: DomainDirection, kinds: list[Kind] | None, first: int
) -> list[Neighbour]:
    ctx = info.context
    first = ctx.limits.page(first, default=100)
    wanted = set(domain_kinds(kinds))
    hops = await ctx.loaders.hops.load((node.record.id, direction, node.as_of))
    hops = [h for h in hops if not wanted or h.reached_kind in wanted][:first]
    ctx.spend(len(hops))
    records = await ctx.loaders.nodes.load_many([(h.reached, node.as_of) for h in hops])
    return [
        Neighbour(direction=Direction.of(direction), edge_type=Edge.of(h.edge_type), node=to_node(r, node.as_of))
        for h, r in zip(hops, records, strict=True)
        if r is not None
    ]


async def load_nodes(info: Info, ids: Sequence[str], as_of: datetime | None) -> list[Node]:
    """Nodes by id through the request's loader; raises NotFoundError for any that is not visible."""
    records = await info.context.loaders.nodes.load_many([(i, as_of) for i in ids])
    out = []
    for node_id, record in zip(ids, records, strict=True):
        if record is None:
            when = f" as of {as_of.isoformat()}" if as_of else ""
            raise NotFoundError(f"no node {node_id!r}{when}")
        out.append(to_node(record, as_of))
    return out


@strawberry.type(description="One node of a path and the edge type that led to it (null for the first).")
class PathStep:
    via: Edge | None
    node_id: strawberry.ID
    as_of: strawberry.Private[datetime | None]

    @strawberry.field
    async def node(self, info: Info) -> Node:
        return (await load_nodes(info, [self.node_id], self.as_of))[0]


@strawberry.type(description="A chain of edges, from its first node to its last.")
class Path:
    edges: strawberry.Private[tuple[EdgeType, ...]]
    as_of: strawberry.Private[datetime | None]
    #: The node ids, when asked for (see :meth:`node_id_list`).
    load_ids: strawberry.Private[Callable[[], Sequence[str]]]
    #: A plain attribute (set by :func:`make_path`): selecting it costs no resolver call.
    length: int = strawberry.field(description="Number of edges.")
    loaded_ids: strawberry.Private[tuple[str, ...] | None] = None

    def node_id_list(self) -> tuple[str, ...]:
        """The node ids, first to last: read on first use (a page of report rows selecting only
        the length never looks them up)."""
        if self.loaded_ids is None:
            self.loaded_ids = tuple(self.load_ids())
        return self.loaded_ids

    @field("The path as one line: a -EDGE-> b -EDGE-> c.")
    def text(self) -> str:
        ids = self.node_id_list()
        out = ids[0]
        for edge, node in zip(self.edges, ids[1:], strict=True):
            out += f" -{edge.value}-> {node}"
        return out

    @strawberry.field
    def node_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(i) for i in self.node_id_list()]

    @strawberry.field
    def edge_types(self) -> list[Edge]:
        return [Edge.of(e) for e in self.edges]

    @strawberry.field
    def steps(self) -> list[PathStep]:
        vias: list[Edge | None] = [None, *(Edge.of(e) for e in self.edges)]
        return [
            PathStep(via=v, node_id=strawberry.ID(i), as_of=self.as_of)
            for v, i in zip(vias, self.node_id_list(), strict=True)
        ]

    @strawberry.field
    async def nodes(self, info: Info) -> list[Node]:
        ids = self.node_id_list()
        info.context.spend(len(ids))
        return await load_nodes(info, ids, self.as_of)


def make_path(ids: Sequence[str], edges: Sequence[EdgeType], as_of: datetime | None) -> Path:
    known = tuple(ids)
    return Path(edges=tuple(edges), as_of=as_of, load_ids=lambda: known, length=len(edges), loaded_ids=known)


def lazy_path(load_ids: Callable[[], Sequence[str]], edges: Sequence[EdgeType], as_of: datetime | None) -> Path:
    """A path whose node ids are read only when a selected field needs them."""
    return Path(edges=tuple(edges), as_of=as_of, load_ids=load_ids, length=len(edges))


@strawberry.type(description="Relay pagination state.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="A node with its pagination cursor.")
class NodeEdge:
    cursor: str
    node: Node


@strawberry.type(description="A page of nodes.")
class NodeConnection:
    edges: list[NodeEdge]
    page_info: PageInfo
