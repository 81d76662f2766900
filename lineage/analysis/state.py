"""Which graph state an answer was computed from: a pinned as-of time and the audit head at it.

A report names the time it describes and the audit head (sequence number and hash) as of that time,
so anyone can re-run it with the same ``--as-of`` and check the digest. Without an as-of time a
report is pinned to the time of the newest audit entry: re-running it with that time gives the same
content, byte for byte, however many writes happened since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lineage.audit import GENESIS, digest
from lineage.storage.base import AuditFilter, GraphStore


@dataclass(frozen=True, slots=True)
class GraphState:
    """The as-of time an answer describes and the audit head (seq, hash, time) as of then."""

    as_of: datetime
    head_seq: int
    head_hash: str
    head_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": iso(self.as_of),
            "audit_head": {
                "seq": self.head_seq,
                "hash": self.head_hash,
                "at": iso(self.head_at) if self.head_at else None,
            },
        }


def iso(value: datetime) -> str:
    """One spelling of a time everywhere in reports: UTC, microseconds, ``Z``."""
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def graph_state(store: GraphStore, as_of: datetime | None = None) -> GraphState:
    """The audit head as of ``as_of`` (default: the newest entry, whose time becomes the as-of).

    Sequence numbers run 1..n without gaps and times grow with them, so the head as of a time is
    found by binary search in O(log n) point reads on any backend.
    """
    total = _head_seq(store)
    if total == 0:
        return GraphState(as_of or datetime.now(UTC), 0, GENESIS, None)
    last = _entry(store, total)
    if as_of is None or (last is not None and last.at <= as_of):
        assert last is not None
        return GraphState(as_of or last.at, last.seq, last.hash, last.at)
    lo, hi = 0, total  # invariant: entry lo is at or before as_of (0: none), entry hi is after it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        entry = _entry(store, mid)
        if entry is not None and entry.at <= as_of:
            lo = mid
        else:
            hi = mid
    if lo == 0:
        return GraphState(as_of, 0, GENESIS, None)
    head = _entry(store, lo)
    assert head is not None
    return GraphState(as_of, head.seq, head.hash, head.at)


def _head_seq(store: GraphStore) -> int:
    """The newest audit sequence number: the traversal index has just read it (one indexed lookup);
    counting the log is the fallback for stores without an index."""
    index = store.traversal_index()
    if index is not None:
        return index.head
    return store.counts().get("audit_entries", 0)


def _entry(store: GraphStore, seq: int) -> Any:
    found = store.audit_entries(AuditFilter(after_seq=seq - 1, limit=1))
    return found[0] if found and found[0].seq == seq else None


def state_digest(state: GraphState, content: Any) -> str:
    """``sha256:`` of the canonical JSON of the content together with the audit head it came from."""
    return "sha256:" + digest({"audit_head": [state.head_seq, state.head_hash], "content": content})
