"""Copy a store into another (SQLite to Neo4j, Neo4j to SQLite, or same to same), then check the copy.

Everything moves exactly as recorded: nodes and edges with their retractions, every revision,
annotations, tokens, raw events and the audit log entry by entry, so the copy's chain verifies
and ends at the same head. Stop writers while copying: the copy is read section by section.

Verification compares the two stores through the public contract only: counts, the audit chain
and its head, tokens, raw events, and a sample of reads (nodes, edges, history, reach in both
directions, search, listing) now and as of earlier times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import zip_longest
from typing import Any

from lineage.errors import ConflictError
from lineage.storage.base import AuditFilter, Direction, GraphStore, NodeFilter, Section

#: progress(section, records done in this section, total for the section or None when unknown)
Progress = Callable[[Section, int, int | None], None]


@dataclass(slots=True)
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    checks: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"copied": self.copied, "ok": self.ok, "checks": self.checks, "problems": self.problems}


def is_empty(store: GraphStore) -> bool:
    counts = store.counts()
    return not any(counts.get(k) for k in ("nodes", "edges", "audit_entries", "raw_events")) and not store.tokens()


def section_totals(store: GraphStore) -> dict[Section, int | None]:
    """Expected record counts per section, where the contract can tell them cheaply."""
    counts = store.counts()
    return {
        Section.NODES: counts["nodes"],
        Section.REVISIONS: None,
        Section.EDGES: counts["edges"],
        Section.ANNOTATIONS: None,
        Section.TOKENS: len(store.tokens()),
        Section.RAW_EVENTS: counts["raw_events"],
        Section.AUDIT: counts["audit_entries"],
    }


def copy_store(
    source: GraphStore, target: GraphStore, *, batch_size: int = 5_000, progress: Progress | None = None
) -> CopyReport:
    """Copy every section of ``source`` into the empty ``target``.

    Raises ConflictError when the target is not empty, BackendUnavailableError from either store.
    """
    if not is_empty(target):
        raise ConflictError(
            f"the target store {target.url} is not empty; copy into an empty store (for Neo4j: a new "
            "database, or delete everything in it first)"
        )
    totals = section_totals(source)
    report = CopyReport()
    for section in Section:
        done = 0
        if progress:
            progress(section, 0, totals[section])
        for chunk in source.export_section(section, batch_size):
            target.import_section(section, chunk)
            done += len(chunk)
            if progress:
                progress(section, done, totals[section])
        report.copied[section.value] = done
    return report


# -- verification ----------------------------------------------------------------------------------


def _sample(items: Sequence[Any], n: int) -> list[Any]:
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _reach_view(store: GraphStore, node: str, direction: Direction, as_of: datetime | None) -> Any:
    reach = store.reach(node, direction, as_of=as_of)
    return [(r.id, r.distance, tuple(reach.path_ids(r.id))) for r in reach.nodes]


def verify_copy(source: GraphStore, target: GraphStore, *, sample: int = 25) -> CopyReport:
    """Compare the two stores; every difference found becomes one line in ``problems``."""
    report = CopyReport()

    def check(what: str, a: Any, b: Any) -> None:
        report.checks += 1
        if a != b:
            report.problems.append(f"{what}: source {_short(a)} != target {_short(b)}")

    check("counts", source.counts(), target.counts())
    src_head = source.verify_audit()
    dst_check = target.verify_store(expect_head=src_head.head)
    report.checks += 1
    if not dst_check.ok:  # the copy's chain, and its rows against the entries that wrote them
        report.problems.append(f"audit verification of the copy: {dst_check.problem}")
    for a, b in zip_longest(source.iter_audit(), target.iter_audit()):
        if a != b:
            check(f"audit entry {getattr(a, 'seq', None) or getattr(b, 'seq', None)}", a, b)
            break
    check("tokens", source.tokens(), target.tokens())
    for a, b in zip_longest(source.iter_raw_events(), target.iter_raw_events()):
        if a != b:
            check(f"raw event {getattr(a, 'seq', None) or getattr(b, 'seq', None)}", a, b)
            break

    ids = [n.id for chunk in source.export_section(Section.NODES) for n in chunk]
    nodes = _sample(ids, sample)
    entries = source.audit_entries(AuditFilter(limit=1_000_000))
    times: list[datetime | None] = [None, *(e.at for e in _sample(entries, 4))]
    for as_of in times:
        when = f" as of {as_of.isoformat()}" if as_of else ""
        check(f"nodes{when}", source.get_nodes(nodes, as_of), target.get_nodes(nodes, as_of))
        visible = source.get_nodes(nodes, as_of)
        for node in nodes[: max(1, sample // 5)]:
            if node not in visible:
                continue
            for direction in Direction:
                check(
                    f"{direction.value} of {node}{when}",
                    _reach_view(source, node, direction, as_of),
                    _reach_view(target, node, direction, as_of),
                )
        check(
            f"first page of nodes{when}",
            source.list_nodes(NodeFilter(), limit=50, as_of=as_of),
            target.list_nodes(NodeFilter(), limit=50, as_of=as_of),
        )
    for node in nodes:
        check(f"node {node}", source.get_node_any(node), target.get_node_any(node))
        check(f"edges of {node}", source.node_edges(node, include_retracted=True),
              target.node_edges(node, include_retracted=True))  # fmt: skip
        check(f"revisions of {node}", source.revisions(node), target.revisions(node))
        check(f"annotations of {node}", source.annotations(node), target.annotations(node))
        check(
            f"audit of {node}",
            source.audit_entries(AuditFilter(subject=node, limit=200)),
            target.audit_entries(AuditFilter(subject=node, limit=200)),
        )
    for node in nodes[: max(1, sample // 5)]:
        name = node.split("/", 1)[-1].split("@", 1)[0][:12]
        check(f"search {name!r}", [n.id for n in source.search(name)], [n.id for n in target.search(name)])
    return report


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "…"
