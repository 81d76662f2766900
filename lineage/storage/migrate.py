"""Copy a store into another (SQLite to Neo4j, Neo4j to SQLite, or same to same), then check the copy.

Everything moves exactly as recorded: nodes and edges with their retractions, every revision,
annotations, tokens, raw events and the audit log entry by entry, so the copy's chain verifies
and ends at the same head. Stop writers while copying: the copy is read section by section.

Each section is written in bounded transactions. The audit log is read a few entries at a time
and written in transactions of at most ``batch_size`` elements (an entry and each of its subjects)
and ``max_tx_bytes`` of payload and subject text, because one entry can hold a whole registration
batch (tens of thousands of elements, megabytes of payload). An entry is never split: it goes in
with all its subjects in one transaction (one larger than the bounds goes alone, as large as the
write that made it).

A copy that is stopped (killed, a lost connection) leaves the target holding a prefix of the
source: the sections before the one it was in, and of that one whole transactions; of the audit
log, whole entries up to some head, whose chain verifies. Such a target is not empty, so another
copy refuses it, and ``verify`` (or ``lineage audit verify``) reports the rows whose audit entries
are missing: empty the target and copy again.

Verification compares the two stores through the public contract only: counts, the audit chain
and its head, tokens, raw events, and a sample of reads (nodes, edges, history, reach in both
directions, search, listing) now and as of earlier times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import zip_longest
from typing import Any

from lineage.audit import AuditEntry
from lineage.errors import ConflictError
from lineage.storage.base import AuditFilter, Direction, GraphStore, NodeFilter, Section

#: progress(section, records done in this section, total for the section or None when unknown)
Progress = Callable[[Section, int, int | None], None]

#: Payload and subject text one audit import transaction carries at most (a larger entry goes alone).
MAX_TX_BYTES = 16 * 2**20
#: Audit entries read from the source at a time: entries can be megabytes each.
AUDIT_READ_PAGE = 16


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


def _sized_entries(chunks: Iterable[list[Any]]) -> Iterator[tuple[AuditEntry, int, int]]:
    """Each audit entry with its elements (itself and its subjects) and bytes (payload and subjects).

    The payload's canonical text is computed once here and kept on the entry for the import.
    """
    for chunk in chunks:
        for entry in chunk:
            text = entry.payload_text()
            if entry.encoded_payload is None:
                entry = replace(entry, encoded_payload=text)
            size = len(text.encode()) + sum(len(s.encode()) for s in entry.subjects)
            yield entry, 1 + len(entry.subjects), size


def bounded_audit(
    chunks: Iterable[list[Any]], max_elements: int, max_bytes: int
) -> Iterator[list[AuditEntry]]:
    """Regroup a stream of audit entries into transactions of at most ``max_elements`` elements and
    ``max_bytes`` bytes, in order; an entry beyond either bound on its own forms a group alone."""
    group: list[AuditEntry] = []
    elements = size = 0
    for entry, n, b in _sized_entries(chunks):
        if group and (elements + n > max_elements or size + b > max_bytes):
            yield group
            group, elements, size = [], 0, 0
        group.append(entry)
        elements += n
        size += b
    if group:
        yield group


def copy_store(
    source: GraphStore,
    target: GraphStore,
    *,
    batch_size: int = 5_000,
    max_tx_bytes: int = MAX_TX_BYTES,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every section of ``source`` into the empty ``target``, ``batch_size`` records per
    transaction; audit entries in transactions bounded by elements and ``max_tx_bytes``.

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
        chunks: Iterable[Sequence[Any]]
        if section is Section.AUDIT:
            pages = source.export_section(section, min(batch_size, AUDIT_READ_PAGE))
            chunks = bounded_audit(pages, batch_size, max_tx_bytes)
        else:
            chunks = source.export_section(section, batch_size)
        for chunk in chunks:
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
    total = source.counts()["audit_entries"]
    seqs = _sample(range(1, total + 1), 4)  # entries can be megabytes: read only the sampled ones
    sampled = [e for seq in seqs for e in source.audit_entries(AuditFilter(after_seq=seq - 1, limit=1))]
    times: list[datetime | None] = [None, *(e.at for e in sampled)]
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
