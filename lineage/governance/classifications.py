"""Classifications (pii, pii.email, gdpr, confidential, ...) that flow along lineage, explained.

Set on nodes, or on dataset columns, as audited ``tag`` annotations (see :mod:`.labels` for names,
the hierarchy and the column convention); declared removed by a run or dataset (anonymisation,
aggregation) as audited ``removes`` annotations. The rules of the flow are in :mod:`.propagation`.

Two questions are answered, both as of a time:

- :func:`effective_classifications`: what a node carries, each with where it was set and the path it
  arrived by, and what was removed on the way to it and where;
- :func:`classification_reach`: every node a classification (and its narrower classes) reaches,
  with kinds and owners.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import networkx as nx
import numpy as np

from lineage.analysis.budget import WorkBudget, charger
from lineage.analysis.subgraph import Subgraph, walk
from lineage.errors import ValidationError
from lineage.governance.annotations import current, holders
from lineage.governance.labels import check_classification, check_column, covers, format_tag, parse_tag
from lineage.governance.propagation import Flow, blockers_for, propagate
from lineage.model import NodeKind, NodeRecord, WriteResult
from lineage.storage.base import Direction, GraphStore
from lineage.storage.index import KINDS, TYPES, TraversalIndex


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a classification was set: the node, the columns (empty: the node itself), who and when."""

    node: str
    columns: tuple[str, ...]
    set_by: str | None = None
    set_at: datetime | None = None

    def text(self) -> str:
        where = f"column {', '.join(self.columns)} of {self.node}" if self.columns else self.node
        who = f" by {self.set_by}" if self.set_by else ""
        when = f" at {self.set_at.isoformat()}" if self.set_at else ""
        return f"set on {where}{who}{when}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "columns": list(self.columns),
            "set_by": self.set_by,
            "set_at": self.set_at.isoformat() if self.set_at else None,
        }


@dataclass(frozen=True, slots=True)
class Effective:
    """A classification a node carries, with its explanation."""

    classification: str
    node: str
    origin: Origin
    path: tuple[str, ...]  # node ids, origin first, this node last
    path_edges: tuple[str, ...]

    @property
    def direct(self) -> bool:
        return self.origin.node == self.node

    def path_text(self) -> str:
        return _path_text(self.path, self.path_edges)

    def text(self) -> str:
        if self.direct:
            return f"{self.classification}: {self.origin.text()}"
        return f"{self.classification}: {self.origin.text()}; arrived via {self.path_text()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "classification": self.classification,
            "node": self.node,
            "direct": self.direct,
            "origin": self.origin.to_dict(),
            "path": list(self.path),
            "path_edges": list(self.path_edges),
            "explanation": self.text(),
        }


@dataclass(frozen=True, slots=True)
class Removal:
    """A classification stopped at a node that declares it removes it."""

    classification: str
    removed_at: str
    removes: tuple[str, ...]  # the declared values that matched (the classification or broader)
    origin: Origin
    path: tuple[str, ...]  # origin first, the removing node last
    path_edges: tuple[str, ...]

    def text(self) -> str:
        return (
            f"{self.classification} ({self.origin.text()}) was removed at {self.removed_at}, which declares "
            f"it removes {', '.join(self.removes)}; it would have arrived via {_path_text(self.path, self.path_edges)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "classification": self.classification,
            "removed_at": self.removed_at,
            "removes": list(self.removes),
            "origin": self.origin.to_dict(),
            "path": list(self.path),
            "path_edges": list(self.path_edges),
            "explanation": self.text(),
        }


@dataclass(slots=True)
class NodeClassifications:
    node: NodeRecord
    as_of: datetime | None
    effective: list[Effective]
    removed: list[Removal]

    def labels(self) -> list[str]:
        return sorted({e.classification for e in self.effective})

    def has(self, classification: str) -> bool:
        return any(covers(classification, e.classification) for e in self.effective)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node.id,
            "kind": self.node.kind.value,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "classifications": self.labels(),
            "effective": [e.to_dict() for e in self.effective],
            "removed": [r.to_dict() for r in self.removed],
        }


@dataclass(frozen=True, slots=True)
class ReachedByClassification:
    node: NodeRecord
    via: tuple[Effective, ...]  # one per exact classification that reaches the node

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.node.id,
            "kind": self.node.kind.value,
            "owners": list(self.node.owners),
            "classifications": sorted({e.classification for e in self.via}),
            "via": [e.to_dict() for e in self.via],
        }


@dataclass(slots=True)
class ClassificationReach:
    classification: str
    as_of: datetime | None
    nodes: list[ReachedByClassification] = field(default_factory=list)
    removed: list[Removal] = field(default_factory=list)

    def by_kind(self) -> dict[str, list[ReachedByClassification]]:
        out: dict[str, list[ReachedByClassification]] = {}
        for r in self.nodes:
            out.setdefault(r.node.kind.value, []).append(r)
        return out

    def ids(self) -> set[str]:
        return {r.node.id for r in self.nodes}

    def to_dict(self) -> dict[str, Any]:
        return {
            "classification": self.classification,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "counts": {k: len(v) for k, v in self.by_kind().items()},
            "total": len(self.nodes),
            "nodes": [r.to_dict() for r in self.nodes],
            "removed": [r.to_dict() for r in self.removed],
        }


# -- queries -------------------------------------------------------------------------------------


def effective_classifications(
    store: GraphStore,
    node_id: str,
    *,
    as_of: datetime | None = None,
    max_nodes: int | None = None,
    budget: WorkBudget | None = None,
) -> NodeClassifications:
    """What ``node_id`` carries as of the time, and what was removed on the way to it.

    Walks the node's upstream once, then propagates each classification found there.
    Raises ValidationError (malformed id) and NotFoundError.
    """
    node = store.get_node(node_id, as_of)
    tagged = holders(store, "tag", as_of)
    if not tagged:  # nothing is classified: nothing can reach the node
        return NodeClassifications(node, as_of, [], [])
    index = store.traversal_index()
    if index is not None:
        found = _between_index(index, node, tagged, as_of, max_nodes, budget)
        if found is None:
            return NodeClassifications(node, as_of, [], [])
        sub, tags = found
    else:
        sub = walk(store, [node_id], Direction.UPSTREAM, as_of=as_of, max_nodes=max_nodes, budget=budget)
        tags = _tags_of({n: v for n, v in tagged.items() if n in sub.kinds})
        if not tags:
            return NodeClassifications(node, as_of, [], [])
        # only nodes on a way from a classified node to this one take part in the propagation
        sub = sub.restrict(_downstream_within(sub, {n for origins in tags.values() for n in origins}))
    removes = {n: v for n, v in holders(store, "removes", as_of).items() if n in sub.kinds}
    graph = sub.digraph()
    effective: list[Effective] = []
    removed: list[Removal] = []
    for label, origins in sorted(tags.items()):
        sources = set(origins)
        stops = blockers_for(label, removes, sources)
        flow = propagate(graph, label, sources, set(stops))
        if node_id in flow.carriers:
            effective.append(_effective(store, graph, flow, node_id, origins, as_of))
        else:
            for blocker in sorted(flow.stopped):
                removed.append(_removal(store, graph, flow, blocker, stops[blocker], origins, as_of))
    return NodeClassifications(node, as_of, effective, removed)


def classification_reach(
    store: GraphStore,
    classification: str,
    *,
    as_of: datetime | None = None,
    kinds: Sequence[NodeKind] = (),
    max_nodes: int | None = None,
    budget: WorkBudget | None = None,
) -> ClassificationReach:
    """Every node ``classification`` (or a narrower class) reaches as of the time, with owners.

    ``kinds`` filters the listed nodes; propagation crosses every kind.
    """
    tagged = holders(store, "tag", as_of)
    tags: dict[str, dict[str, list[str | None]]] = {}
    for node, values in tagged.items():
        for ref in sorted(parse_tag(v) for v in values):
            if covers(classification, ref.classification):
                tags.setdefault(ref.classification, {}).setdefault(node, []).append(ref.column)
    result = ClassificationReach(classification, as_of)
    if not tags:
        return result
    starts = sorted({n for origins in tags.values() for n in origins})
    sub = walk(
        store, starts, Direction.DOWNSTREAM, as_of=as_of, max_nodes=max_nodes, check_starts=False, budget=budget
    )
    graph = sub.digraph()
    removes = {n: v for n, v in holders(store, "removes", as_of).items() if n in sub.kinds}
    reached: dict[str, list[Effective]] = {}
    for label, origins in sorted(tags.items()):
        sources = set(origins)
        stops = blockers_for(label, removes, sources)
        flow = propagate(graph, label, sources, set(stops))
        cache: dict[str, Origin] = {}
        for node in sorted(flow.carriers):
            reached.setdefault(node, []).append(_effective(store, graph, flow, node, origins, as_of, cache))
        for blocker in sorted(flow.stopped):
            result.removed.append(_removal(store, graph, flow, blocker, stops[blocker], origins, as_of, cache))
    records = store.get_nodes(sorted(reached), as_of)
    wanted = set(kinds)
    for node_id in sorted(reached, key=lambda n: (_kind_rank(records[n].kind), n)):
        if not wanted or records[node_id].kind in wanted:
            result.nodes.append(ReachedByClassification(records[node_id], tuple(reached[node_id])))
    return result


def known_classifications(store: GraphStore, as_of: datetime | None = None) -> list[str]:
    """Every classification set somewhere as of the time, with its broader classes."""
    out: set[str] = set()
    for values in holders(store, "tag", as_of).values():
        for value in values:
            label = parse_tag(value).classification
            parts = label.split(".")
            out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return sorted(out)


# -- writes --------------------------------------------------------------------------------------


def classify(
    store: GraphStore,
    node_id: str,
    classifications: Iterable[str],
    *,
    column: str | None = None,
    remove: bool = False,
    principal: str,
    source: str = "api",
    reason: str | None = None,
) -> WriteResult:
    """Tag (or untag) a node or one of its dataset columns; audited. ValidationError, NotFoundError."""
    names = [check_classification(c) for c in classifications]
    if not names:
        raise ValidationError("name at least one classification, e.g. pii.email")
    node = store.get_node(node_id)
    if column is not None and not remove:
        check_column(node, column)
    values = [format_tag(n, column) for n in names]
    payload = {"reason": reason} if reason else None
    if remove:
        return store.annotate(node_id, "tag", remove=values, principal=principal, source=source, payload=payload)
    return store.annotate(node_id, "tag", add=values, principal=principal, source=source, payload=payload)


def declare_removes(
    store: GraphStore,
    node_id: str,
    classifications: Iterable[str],
    *,
    undo: bool = False,
    principal: str,
    source: str = "api",
    reason: str | None = None,
) -> WriteResult:
    """Declare that a run or dataset removes classifications (anonymisation, aggregation); audited."""
    names = [check_classification(c) for c in classifications]
    if not names:
        raise ValidationError("name at least one classification, e.g. pii")
    node = store.get_node(node_id)
    if node.kind not in (NodeKind.RUN, NodeKind.DATASET, NodeKind.FEATURE):
        raise ValidationError(
            f"only a Run, Dataset or Feature can remove a classification; {node_id} is a {node.kind.value}"
        )
    payload = {"reason": reason} if reason else None
    if undo:
        return store.annotate(node_id, "removes", remove=names, principal=principal, source=source, payload=payload)
    return store.annotate(node_id, "removes", add=names, principal=principal, source=source, payload=payload)


# -- helpers -------------------------------------------------------------------------------------


def _tags_of(tagged: dict[str, set[str]]) -> dict[str, dict[str, list[str | None]]]:
    """classification -> origin node -> columns (None: the node itself), from tag values by node."""
    out: dict[str, dict[str, list[str | None]]] = {}
    for node in sorted(tagged):
        for ref in sorted(parse_tag(v) for v in tagged[node]):
            out.setdefault(ref.classification, {}).setdefault(node, []).append(ref.column)
    return out


def _between_index(
    index: TraversalIndex,
    node: NodeRecord,
    tagged: dict[str, set[str]],
    as_of: datetime | None,
    max_nodes: int | None,
    budget: WorkBudget | None,
) -> tuple[Subgraph, dict[str, dict[str, list[str | None]]]] | None:
    """The subgraph of the nodes on a way from a classified node to ``node`` (both included) and the
    classifications of those origins, from the traversal index: the upstream walk keeps no edges and
    no ids, so a node with nothing classified upstream costs one array walk, however large its
    upstream. None when nothing classified is upstream."""
    num = index.number(node.id)
    if num is None:  # no edges: only its own tags count
        tags = _tags_of({n: v for n, v in tagged.items() if n == node.id})
        if not tags:
            return None
        sub = Subgraph((node.id,), Direction.UPSTREAM, as_of, {node.id: node.kind}, set(), {node.id: 0})
        return sub, tags
    walked = index.walk([num], False, as_of=as_of, max_nodes=max_nodes, counted=1, charge=charger(budget))
    levels = [np.array([num], dtype=np.int64), *(lv.nodes for lv in walked.levels)]
    up = np.concatenate(levels)
    up_ids = index.ids(up)
    tags = _tags_of({n: tagged[n] for n in up_ids if n in tagged})
    if not tags:
        return None
    numbers = {index.number(n) for o in tags.values() for n in o}
    origins = sorted(n for n in numbers if n is not None)  # every origin is upstream: numbered
    # the nodes upstream of this one that a classified node reaches, walking inside the upstream only
    down = index.walk(origins, True, as_of=as_of, within=index.mask(up), charge=charger(budget))
    keep = np.concatenate([np.array(origins, dtype=np.int64), *(lv.nodes for lv in down.levels)])
    sub = Subgraph((node.id,), Direction.UPSTREAM, as_of, truncated=walked.truncated)
    sub.kinds = dict(zip(index.ids(keep), (KINDS[k] for k in index.kinds_of(keep).tolist()), strict=True))
    src, types, dst = index.induced(keep, as_of=as_of)
    sub.edges = set(zip(index.ids(src), (TYPES[t] for t in types.tolist()), index.ids(dst), strict=True))
    return sub, tags


def _downstream_within(sub: Subgraph, sources: set[str]) -> set[str]:
    """The nodes of an upstream subgraph reachable from ``sources`` along its edges."""
    succ: dict[str, list[str]] = {}
    for src, _, dst in sub.edges:
        succ.setdefault(src, []).append(dst)
    seen = set(sources)
    stack = list(sources)
    while stack:
        for nxt in succ.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _origin(
    store: GraphStore,
    node: str,
    label: str,
    columns: list[str | None],
    as_of: datetime | None,
    cache: dict[str, Origin] | None,
) -> Origin:
    if cache is not None and node in cache:
        return cache[node]
    cols = () if None in columns else tuple(sorted(c for c in columns if c))
    wanted = {format_tag(label, c) for c in columns}
    found = [a for a in current(store, node, "tag", as_of) if a.value in wanted]
    first = min(found, key=lambda a: a.recorded_at) if found else None
    origin = Origin(node, cols, first.recorded_by if first else None, first.recorded_at if first else None)
    if cache is not None:
        cache[node] = origin
    return origin


def _edges(graph: nx.DiGraph, path: list[str]) -> tuple[str, ...]:
    return tuple(str(graph.edges[u, v]["type"].value) for u, v in itertools.pairwise(path))


def _effective(
    store: GraphStore,
    graph: nx.DiGraph,
    flow: Flow,
    node: str,
    origins: dict[str, list[str | None]],
    as_of: datetime | None,
    cache: dict[str, Origin] | None = None,
) -> Effective:
    path = flow.path(node)
    origin = _origin(store, path[0], flow.classification, origins[path[0]], as_of, cache)
    return Effective(flow.classification, node, origin, tuple(path), _edges(graph, path))


def _removal(
    store: GraphStore,
    graph: nx.DiGraph,
    flow: Flow,
    blocker: str,
    removes: list[str],
    origins: dict[str, list[str | None]],
    as_of: datetime | None,
    cache: dict[str, Origin] | None = None,
) -> Removal:
    path = flow.path(blocker)
    origin = _origin(store, path[0], flow.classification, origins[path[0]], as_of, cache)
    return Removal(flow.classification, blocker, tuple(removes), origin, tuple(path), _edges(graph, path))


def _path_text(path: Sequence[str], edges: Sequence[str]) -> str:
    out = path[0]
    for edge, node in zip(edges, path[1:], strict=True):
        out += f" -{edge}-> {node}"
    return out


_RANK = {
    NodeKind.DEPLOYMENT: 0,
    NodeKind.MODEL: 1,
    NodeKind.FEATURE: 2,
    NodeKind.DATASET: 3,
    NodeKind.RUN: 4,
    NodeKind.CODE_COMMIT: 5,
}


def _kind_rank(kind: NodeKind) -> int:
    return _RANK[kind]
