"""Reading annotations in bulk, on any backend, through the storage contract only.

Annotations (``tag``, ``removes``, ``approval``, ``owner``) are written through
:meth:`GraphStore.annotate`, which records one audit entry per change with the action
``annotate.<key>`` and the added values in its payload. The set of values a key has ever had is
therefore in the audit log; the store then says which nodes hold each value as of a time. The cost
is one pass over the (few) annotation entries of that key plus one indexed lookup per value, never a
scan of the graph.
"""

from __future__ import annotations

from datetime import datetime

from lineage.storage.base import Annotation, AuditFilter, GraphStore

_PAGE = 1000


def annotation_values(store: GraphStore, key: str, as_of: datetime | None = None) -> list[str]:
    """Every value ever added under ``key`` up to ``as_of`` (visible or not now), sorted."""
    values: set[str] = set()
    after = 0
    while True:
        page = store.audit_entries(
            AuditFilter(action=f"annotate.{key}", until=as_of, after_seq=after, limit=_PAGE)
        )
        for entry in page:
            payload = entry.payload if isinstance(entry.payload, dict) else {}
            added = payload.get("added", [])
            if isinstance(added, list):
                values.update(v for v in added if isinstance(v, str))
        if len(page) < _PAGE:
            break
        after = page[-1].seq
    return sorted(values)


def holders(store: GraphStore, key: str, as_of: datetime | None = None) -> dict[str, set[str]]:
    """Node id -> the values of ``key`` it holds as of the time (nodes visible then only)."""
    out: dict[str, set[str]] = {}
    for value in annotation_values(store, key, as_of):
        for node in store.nodes_with_annotation(key, value, as_of):
            out.setdefault(node, set()).add(value)
    return out


def visible(annotation: Annotation, as_of: datetime | None) -> bool:
    """Whether an annotation was in force at the time (now when None)."""
    if as_of is None:
        return annotation.retracted_at is None
    return annotation.recorded_at <= as_of and (
        annotation.retracted_at is None or annotation.retracted_at > as_of
    )


def current(store: GraphStore, node_id: str, key: str, as_of: datetime | None = None) -> list[Annotation]:
    """The annotations of one key on one node in force at the time, oldest first."""
    return [a for a in store.annotations(node_id) if a.key == key and visible(a, as_of)]
