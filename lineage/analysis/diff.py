"""What differs between the provenance of two versions.

Typical question: model ``churn-classifier@3`` behaves differently from ``@2``; which dataset
versions, feature versions, commits and runs went into one and not the other? Upstream closures
are compared by id, then grouped by (kind, namespace, name): a name present on both sides with
different versions is a *change* (``transactions_clean@2026-11-03 -> @2026-11-06``), a name on one
side only is an addition or a removal. Only ids are needed, so no node records are fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.analysis.budget import WorkBudget, charge
from lineage.analysis.lineage import PROVENANCE_ORDER
from lineage.model import NodeKind, parse_node_id
from lineage.storage.base import Direction, GraphStore

NameKey = tuple[NodeKind, str, str]


@dataclass(frozen=True, slots=True)
class VersionChange:
    """The same thing (kind, namespace, name) at different versions on the two sides."""

    kind: NodeKind
    namespace: str
    name: str
    before: tuple[str, ...]  # ids only in the provenance of a
    after: tuple[str, ...]  # ids only in the provenance of b

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "namespace": self.namespace,
            "name": self.name,
            "before": list(self.before),
            "after": list(self.after),
        }


@dataclass(slots=True)
class KindDiff:
    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class ProvenanceDiff:
    a: str
    b: str
    as_of: datetime | None
    added: list[str]  # in b's provenance only, under a name a's provenance does not have
    removed: list[str]  # in a's provenance only, under a name b's provenance does not have
    changed: list[VersionChange]
    unchanged: list[str]  # in both
    truncated: bool = False
    kinds: tuple[NodeKind, ...] = field(default=())

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> dict[NodeKind, KindDiff]:
        out: dict[NodeKind, KindDiff] = {}
        for node_id in self.added:
            out.setdefault(parse_node_id(node_id).kind, KindDiff()).added += 1
        for node_id in self.removed:
            out.setdefault(parse_node_id(node_id).kind, KindDiff()).removed += 1
        for change in self.changed:
            out.setdefault(change.kind, KindDiff()).changed += 1
        for node_id in self.unchanged:
            out.setdefault(parse_node_id(node_id).kind, KindDiff()).unchanged += 1
        return {k: out[k] for k in PROVENANCE_ORDER if k in out}

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "identical": self.identical,
            "added": self.added,
            "removed": self.removed,
            "changed": [c.to_dict() for c in self.changed],
            "unchanged": len(self.unchanged),
            "truncated": self.truncated,
            "counts": {
                k.value: {"added": c.added, "removed": c.removed, "changed": c.changed, "unchanged": c.unchanged}
                for k, c in self.counts().items()
            },
        }


def _order(node_id: str) -> tuple[int, str]:
    return PROVENANCE_ORDER.index(parse_node_id(node_id).kind), node_id


def diff(
    store: GraphStore,
    a: str,
    b: str,
    *,
    as_of: datetime | None = None,
    kinds: Sequence[NodeKind] = (),
    max_depth: int | None = None,
    max_nodes: int | None = None,
    budget: WorkBudget | None = None,
) -> ProvenanceDiff:
    """Compare the upstream closures of ``a`` and ``b`` (optionally only some kinds).

    Raises ValidationError (malformed id) and NotFoundError (either unknown as of the time).
    """
    left = store.reach(a, Direction.UPSTREAM, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes)
    charge(budget, expanded=len(left.nodes))
    right = store.reach(b, Direction.UPSTREAM, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes)
    charge(budget, expanded=len(right.nodes))
    ids_a = {r.id for r in left.nodes}
    ids_b = {r.id for r in right.nodes}
    only_a = _by_name(ids_a - ids_b)
    only_b = _by_name(ids_b - ids_a)
    changed = [
        VersionChange(key[0], key[1], key[2], tuple(sorted(only_a[key])), tuple(sorted(only_b[key])))
        for key in sorted(only_a.keys() & only_b.keys(), key=lambda k: (PROVENANCE_ORDER.index(k[0]), k[1], k[2]))
    ]
    added = sorted((i for key in only_b.keys() - only_a.keys() for i in only_b[key]), key=_order)
    removed = sorted((i for key in only_a.keys() - only_b.keys() for i in only_a[key]), key=_order)
    return ProvenanceDiff(
        a,
        b,
        as_of,
        added,
        removed,
        changed,
        sorted(ids_a & ids_b, key=_order),
        left.truncated or right.truncated,
        tuple(kinds),
    )


def _by_name(ids: set[str]) -> dict[NameKey, list[str]]:
    out: dict[NameKey, list[str]] = {}
    for node_id in ids:
        key = parse_node_id(node_id)
        out.setdefault((key.kind, key.namespace, key.name), []).append(node_id)
    return out
