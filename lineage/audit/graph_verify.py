"""Verification that the stored graph is exactly what the audit chain says was written.

The rule lives here once; a backend only hands over its rows (:class:`GraphRows`), read in one
consistent snapshot. One linear pass:

1. the chain, as :func:`lineage.audit.chain.verify` checks it, noting each entry's recording time
   (unique and strictly increasing, so a time names one entry) and what it says it wrote;
2. every table once, in whatever order the backend returns it: each row's facts (see
   :mod:`lineage.audit.facts`) are added to the sum of the entry its binding time names; a row
   whose time names no entry is reported as written outside the log;
3. each entry's sums against its record; the subject index against each entry's subjects; each
   node's current state against its latest revision; copies a backend keeps for fast reads
   (Neo4j: current owners and tags) against the rows they copy.

Memory is one sum per entry (and per annotated node for the copies), never one per row. When an
entry does not match, a second pass over the rows of that entry only names the stream, the
expected and found digests and the rows found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from lineage.audit import facts
from lineage.audit.chain import AuditEntry, Verification, canonical, verify
from lineage.audit.facts import MODULUS, fact_value, sum_digest

_MASK = MODULUS - 1
#: Most problems reported; the first is the one that matters, the rest give a sense of scale.
MAX_PROBLEMS = 20
_SUBJECT = "subject"


class NodeRow(NamedTuple):
    """A node as stored, with what verification compares it to."""

    id: str
    kind: str
    namespace: str
    name: str
    version: str | None
    properties: str
    event_time: int | None
    recorded_at: int
    recorded_by: str
    retracted_at: int | None
    retracted_by: str | None
    retract_reason: str | None
    #: (properties, event_time) of the node's latest revision; None when it has none.
    latest: tuple[str, int | None] | None
    #: Current (owners, tags), sorted, where the backend keeps a copy on the node; else None.
    current: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    #: A backend-specific inconsistency of the row's physical form (labels, search keys), if any.
    flaw: str | None = None


class GraphRows(Protocol):
    """Every row verification reads, from one consistent snapshot of a store. Tuples are in the
    column order named on each method; times are integer microseconds; JSON values are the
    stored text. Each method may be called more than once and then yields the same rows."""

    #: Whether nodes carry a copy of their current owners and tags (:attr:`NodeRow.current`).
    keeps_current_annotations: bool

    def entries(self) -> Iterator[AuditEntry]:
        """The audit log in sequence order."""

    def stored_head(self) -> tuple[int, str] | None:
        """(seq, hash) where the backend keeps the chain head apart from the entries; else None."""

    def nodes(self) -> Iterator[NodeRow]: ...

    def revisions(self) -> Iterator[tuple[str, int, str, str, int | None]]:
        """(node_id, recorded_at, recorded_by, properties, event_time), every recorded state."""

    def edges(self) -> Iterator[tuple[Any, ...]]:
        """(from, type, to, from_kind, to_kind, properties, event_time, recorded_at, recorded_by,
        retracted_at, retracted_by, retract_reason)"""

    def annotations(self) -> Iterator[tuple[str, str, str, int, str, int | None, str | None]]:
        """(node_id, key, value, recorded_at, recorded_by, retracted_at, retracted_by)"""

    def tokens(self) -> Iterator[tuple[str, str, str, str, int, str, int | None]]:
        """(name, role, namespaces, secret_hash, created_at, created_by, revoked_at)"""

    def raw_events(self) -> Iterator[tuple[int, int, str, str]]:
        """(seq, received_at, source, payload)"""

    def subjects(self) -> Iterator[tuple[str, int]]:
        """(subject, seq): the index of entries by the node ids they touch."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One place where the store and its log disagree."""

    message: str
    seq: int | None = None  # the entry concerned, when one is
    table: str | None = None
    key: str | None = None
    expected: str | None = None
    found: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "table": self.table,
            "key": self.key,
            "expected": self.expected,
            "found": self.found,
            "message": self.message,
        }


@dataclass(slots=True)
class GraphVerification:
    """The outcome of :func:`verify_graph`; ``problems`` ordered by entry, rows outside the log last."""

    ok: bool
    entries: int
    head: str
    head_at: str | None
    rows: int = 0
    log_only: bool = False
    unproven_entries: int = 0
    unproven_rows: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def first_bad_seq(self) -> int | None:
        return self.first.seq if self.first else None

    @property
    def problem(self) -> str | None:
        return self.first.message if self.first else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": "log" if self.log_only else "log+graph",
            "entries": self.entries,
            "head": self.head,
            "head_at": self.head_at,
            "rows": self.rows,
            "unproven_entries": self.unproven_entries,
            "unproven_rows": self.unproven_rows,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "first": self.first.to_dict() if self.first else None,
            "problems": [p.to_dict() for p in self.problems],
        }


def _state_digest(properties: str, event_time: int | None) -> str:
    return hashlib.sha256(canonical([properties, event_time])).hexdigest()


class _Entries:
    """What pass 1 keeps per entry: its time, what it recorded, its subjects' expected sum."""

    def __init__(self) -> None:
        self.seq_by_at: dict[int, int] = {}
        self.writes: list[dict[str, Any] | None] = [None]
        self.subjects: list[int] = [0]  # expected subject sum minus found, per seq
        self.at: list[str] = [""]
        self.last: AuditEntry | None = None
        self.problems: list[Problem] = []
        self.previous_at = -1
        #: Time of the newest entry that records no ``writes`` (written before stores kept them).
        self.legacy_until = -1

    def tap(self, entries: Iterable[AuditEntry]) -> Iterator[AuditEntry]:
        for entry in entries:
            at = facts.micros(entry.at)
            assert at is not None
            if at <= self.previous_at and not self.problems:
                self.problems.append(
                    Problem(
                        f"entry {entry.seq}: recorded at or before the entry before it; entry times must "
                        "increase, they bind rows to entries",
                        entry.seq,
                        "audit",
                    )
                )
            self.previous_at = at
            self.seq_by_at[at] = entry.seq
            if entry.writes is None:
                self.legacy_until = at
            self.writes.append(entry.writes)
            self.at.append(entry.at.isoformat())
            total = 0
            for subject in dict.fromkeys(entry.subjects):
                total += fact_value(_SUBJECT, (subject,))
            self.subjects.append(total & _MASK)
            self.last = entry
            yield entry


def verify_graph(
    rows: GraphRows,
    *,
    expect_head: str | None = None,
    anchors: dict[int, str] | None = None,
    log_only: bool = False,
) -> GraphVerification:
    """Check the chain and, unless ``log_only``, that the stored graph is what it says was written.

    ``expect_head`` is a head hash kept outside the store (the chain must end there); ``anchors``
    maps sequence numbers to hashes kept outside (a signed checkpoint): the store must still hold
    those entries unchanged, so it extends the anchored chain.
    """
    seen = _Entries()
    chain = verify(seen.tap(rows.entries()), expect_head)
    last = seen.last
    result = GraphVerification(
        chain.ok and not seen.problems,
        chain.entries,
        chain.head,
        last.at.isoformat() if last is not None and chain.ok else None,
        log_only=log_only,
    )
    if not chain.ok:
        result.problems.append(Problem(chain.problem or "the chain is broken", chain.first_bad_seq, "audit"))
        return result
    result.problems.extend(seen.problems)
    _check_anchors(rows, chain, anchors or {}, result)
    if log_only or result.problems:
        result.ok = not result.problems
        return result
    _Graph(rows, seen, result).run()
    result.ok = not result.problems
    return result


def _check_anchors(rows: GraphRows, chain: Verification, anchors: dict[int, str], result: GraphVerification) -> None:
    stored = rows.stored_head()
    if stored is not None and stored != (chain.entries, chain.head):
        result.problems.append(
            Problem(
                f"the stored chain head says entry {stored[0]} ({stored[1][:12]}…) but the log ends at entry "
                f"{chain.entries} ({chain.head[:12]}…): the head was edited",
                chain.entries,
                "audit head",
                expected=chain.head,
                found=stored[1],
            )
        )
    if not anchors:
        return
    wanted = dict(anchors)
    for entry in rows.entries():
        expected = wanted.pop(entry.seq, None)
        if expected is not None and expected != entry.hash:
            result.problems.append(
                Problem(
                    f"entry {entry.seq} is not the anchored one: the store does not extend the checkpoint "
                    "(the chain was rewritten)",
                    entry.seq,
                    "audit",
                    expected=expected,
                    found=entry.hash,
                )
            )
            return
        if not wanted:
            return
    missing = min(wanted)
    result.problems.append(
        Problem(
            f"the log ends at entry {chain.entries}, before the anchored entry {missing}: entries were "
            "removed from the end or the chain was rewritten",
            missing,
            "audit",
            expected=wanted[missing],
        )
    )


class _Graph:
    """Pass 2 and 3 of :func:`verify_graph`."""

    def __init__(self, rows: GraphRows, seen: _Entries, result: GraphVerification) -> None:
        self.rows = rows
        self.seen = seen
        self.result = result
        n = len(seen.writes)
        self.count = [0] * n
        self.sum: list[int] = [0] * n
        self.outside: list[Problem] = []
        self.inside: list[Problem] = []
        self.only: int | None = None  # set for the naming pass: the one entry looked at
        self.detail: dict[str, list[Any]] = {}

    # -- binding ---------------------------------------------------------------------------

    def bind(self, stream: str, at: int | None, fields: tuple[Any, ...], table: str, key: str) -> None:
        if at is None:
            return
        seq = self.seen.seq_by_at.get(at)
        if seq is None:
            if at <= self.seen.legacy_until:
                # Before row digests, some rows (raw events, tokens) were not stamped with their entry's time.
                self.result.unproven_rows += self.only is None
                return
            if self.only is None and len(self.outside) < MAX_PROBLEMS:
                self.outside.append(
                    Problem(
                        f"{table} row {key}: its {stream} is bound to no audit entry (time {at}): it was "
                        "written outside the log",
                        None,
                        table,
                        key,
                        expected="no row",
                        found=facts.sum_digest(fact_value(stream, fields)),
                    )
                )
            return
        value = fact_value(stream, fields)
        if self.only is None:
            self.count[seq] += 1
            self.sum[seq] = (self.sum[seq] + value) & _MASK
        elif seq == self.only:
            slot = self.detail.setdefault(stream, [0, 0, []])
            slot[0] += 1
            slot[1] = (slot[1] + value) & _MASK
            if len(slot[2]) < 1_000:
                slot[2].append((key, facts.short(value)))

    def scan(self) -> None:
        bind = self.bind
        keeps = self.rows.keeps_current_annotations
        copies: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for n in self.rows.nodes():
            self.result.rows += self.only is None
            node = (n.id, n.kind, n.namespace, n.name, n.version, n.recorded_by)
            bind(facts.NODE, n.recorded_at, node, "nodes", n.id)
            if n.retracted_at is not None or n.retracted_by is not None or n.retract_reason is not None:
                bind(facts.NODE_RETRACTION, n.retracted_at, (n.id, n.retracted_by, n.retract_reason), "nodes", n.id)
                if n.retracted_at is None:
                    self.flaw(f"nodes row {n.id}: a retraction without a time", "nodes", n.id)
            if self.only is not None:
                continue
            if n.flaw:
                self.flaw(n.flaw, "nodes", n.id)
            if n.latest is None:
                self.flaw(f"nodes row {n.id}: no recorded revision holds its state", "nodes", n.id)
            elif n.latest != (n.properties, n.event_time):
                self.inside.append(
                    Problem(
                        f"nodes row {n.id}: its current properties differ from its latest revision",
                        None,
                        "nodes",
                        n.id,
                        expected=_state_digest(*n.latest),
                        found=_state_digest(n.properties, n.event_time),
                    )
                )
            if keeps and n.current is not None and (n.current[0] or n.current[1]):
                copies[n.id] = n.current
        for node_id, recorded_at, recorded_by, properties, event_time in self.rows.revisions():
            self.result.rows += self.only is None
            revision = (node_id, recorded_by, properties, event_time)
            bind(facts.REVISION, recorded_at, revision, "revisions", f"{node_id}@{recorded_at}")
        for e in self.rows.edges():
            self.result.rows += self.only is None
            key = f"{e[0]} -{e[1]}-> {e[2]}"
            bind(facts.EDGE, e[7], (e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[8]), "edges", key)
            if e[9] is not None or e[10] is not None or e[11] is not None:
                bind(facts.EDGE_RETRACTION, e[9], (e[0], e[1], e[2], e[10], e[11]), "edges", key)
                if e[9] is None:
                    self.flaw(f"edges row {key}: a retraction without a time", "edges", key)
        current: dict[str, tuple[list[str], list[str]]] = {}
        for node_id, k, value, recorded_at, recorded_by, retracted_at, retracted_by in self.rows.annotations():
            self.result.rows += self.only is None
            key = f"{node_id} {k}={value}@{recorded_at}"
            bind(facts.ANNOTATION, recorded_at, (node_id, k, value, recorded_by), "annotations", key)
            if retracted_at is not None or retracted_by is not None:
                bind(facts.ANNOTATION_RETRACTION, retracted_at, (node_id, k, value, retracted_by), "annotations", key)
                if retracted_at is None:
                    self.flaw(f"annotations row {key}: a retraction without a time", "annotations", key)
            elif keeps and k in ("owner", "tag"):
                slot = current.setdefault(node_id, ([], []))
                slot[0 if k == "owner" else 1].append(value)
        for name, role, namespaces, secret_hash, created_at, created_by, revoked_at in self.rows.tokens():
            self.result.rows += self.only is None
            key = f"{name} ({secret_hash[:12]}…)"
            bind(facts.TOKEN, created_at, (name, role, namespaces, secret_hash, created_by), "tokens", key)
            bind(facts.TOKEN_REVOCATION, revoked_at, (secret_hash,), "tokens", key)
        for seq, received_at, source, payload in self.rows.raw_events():
            self.result.rows += self.only is None
            bind(facts.RAW_EVENT, received_at, (seq, source, payload), "raw_events", str(seq))
        if self.only is not None:
            return
        subjects = self.seen.subjects
        for subject, seq in self.rows.subjects():
            self.result.rows += self.only is None
            if 0 < seq < len(subjects):
                subjects[seq] = (subjects[seq] - fact_value(_SUBJECT, (subject,))) & _MASK
            else:
                self.flaw(
                    f"audit_subjects row ({subject}, {seq}): the log holds no entry {seq} (entries removed?)",
                    "audit_subjects",
                    subject,
                )
        if keeps:
            self.compare_copies(copies, current)

    def flaw(self, message: str, table: str, key: str) -> None:
        if len(self.inside) < MAX_PROBLEMS:
            self.inside.append(Problem(message, None, table, key))

    def compare_copies(
        self,
        copies: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
        current: dict[str, tuple[list[str], list[str]]],
    ) -> None:
        for node_id in sorted(set(copies) | set(current)):
            owners, tags = current.get(node_id, ([], []))
            expected = (tuple(sorted(owners)), tuple(sorted(tags)))
            found = copies.get(node_id, ((), ()))
            if (tuple(sorted(found[0])), tuple(sorted(found[1]))) != expected:
                self.inside.append(
                    Problem(
                        f"nodes row {node_id}: its copy of current owners and tags {found} differs from its "
                        f"annotations {expected}",
                        None,
                        "nodes",
                        node_id,
                        expected=hashlib.sha256(canonical(expected)).hexdigest(),
                        found=hashlib.sha256(canonical(found)).hexdigest(),
                    )
                )
                if len(self.inside) >= MAX_PROBLEMS:
                    return

    # -- comparing -------------------------------------------------------------------------

    def run(self) -> None:
        self.scan()
        problems: list[Problem] = []
        named = False
        writes = self.seen.writes
        for seq in range(1, len(writes)):
            recorded = writes[seq]
            if recorded is None:
                self.result.unproven_entries += 1
            elif self.count[seq] != recorded["rows"] or sum_digest(self.sum[seq]) != recorded["digest"]:
                if not named:
                    problems.append(self.name(seq))  # the first bad entry, named in detail
                    named = True
                elif len(problems) < MAX_PROBLEMS:
                    problems.append(
                        Problem(
                            f"entry {seq}: the rows it wrote were altered: it records {recorded['rows']} "
                            f"row facts, the store holds {self.count[seq]} that differ",
                            seq,
                            None,
                            expected=recorded["digest"],
                            found=sum_digest(self.sum[seq]),
                        )
                    )
            if self.seen.subjects[seq] != 0 and len(problems) < MAX_PROBLEMS:
                problems.append(
                    Problem(
                        f"entry {seq}: the subject index (audit_subjects) does not list exactly the entry's "
                        "subjects: rows removed, added or moved",
                        seq,
                        "audit_subjects",
                    )
                )
        self.result.problems.extend([*problems, *self.inside, *self.outside][:MAX_PROBLEMS])

    def name(self, seq: int) -> Problem:
        """Second pass over the rows of one entry: which stream differs, and the rows found there."""
        self.only = seq
        self.detail = {}
        self.scan()
        recorded = self.seen.writes[seq] or {}
        streams: dict[str, list[Any]] = recorded.get("streams", {})
        for stream in [s for s in facts.STREAMS if s in streams or s in self.detail]:
            count, digest, *listed = streams.get(stream, [0, facts.EMPTY_DIGEST, []])
            found_count, found_sum, rows = self.detail.get(stream, [0, 0, []])
            found = sum_digest(found_sum)
            if found_count == count and found == digest:
                continue
            table = _TABLES[stream]
            where = f"entry {seq} ({self.seen.at[seq]}): {table}"
            expected_count = f"{count} {stream} row(s) recorded, {found_count} found"
            if listed:
                tags = list(listed[0])
                strangers = []
                for key, tag in rows:
                    if tag in tags:
                        tags.remove(tag)
                    else:
                        strangers.append(key)
                if strangers:
                    return Problem(
                        f"{where} row {strangers[0]} is not what the entry wrote (altered or added; "
                        f"{expected_count})",
                        seq,
                        table,
                        strangers[0],
                        expected=digest,
                        found=found,
                    )
                return Problem(
                    f"{where}: {len(tags)} {stream} row(s) the entry wrote are missing (deleted, or moved to "
                    f"another entry; {expected_count})",
                    seq,
                    table,
                    None,
                    expected=digest,
                    found=found,
                )
            keys = [k for k, _ in rows[:5]]
            return Problem(
                f"{where} rows it wrote were altered, removed or added: {expected_count} "
                f"({', '.join(keys) if keys else 'none'})",
                seq,
                table,
                keys[0] if keys else None,
                expected=digest,
                found=found,
            )
        return Problem(f"entry {seq}: the rows it wrote were altered", seq)


_TABLES = {
    facts.NODE: "nodes",
    facts.REVISION: "revisions",
    facts.NODE_RETRACTION: "nodes",
    facts.EDGE: "edges",
    facts.EDGE_RETRACTION: "edges",
    facts.ANNOTATION: "annotations",
    facts.ANNOTATION_RETRACTION: "annotations",
    facts.TOKEN: "tokens",
    facts.TOKEN_REVOCATION: "tokens",
    facts.RAW_EVENT: "raw_events",
}
