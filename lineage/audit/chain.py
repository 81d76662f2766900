"""The hash-chained audit log: canonical encoding, chaining and verification.

Each entry's hash covers its own fields and the previous entry's hash, so editing, removing,
inserting or reordering any entry breaks every hash after it. Truncating the tail is the one change
a chain cannot see on its own: anchor the head hash elsewhere (``lineage audit head``) and pass it
to verification to close that gap.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8. The bytes that get hashed."""
    if type(value) is dict or type(value) is list:
        fast = fast_canonical(value)
        if fast is not None:
            return fast
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


_orjson_dumps: Callable[[Any], bytes] | None
try:  # orjson is a dependency; where it cannot be installed, the standard library encodes everything
    import orjson

    _OPTIONS = (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_PASSTHROUGH_SUBCLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
    )

    def _orjson_dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=_OPTIONS)

except ImportError:  # pragma: no cover - where orjson cannot be installed
    _orjson_dumps = None

# Floats in orjson's text: every one holds a digit followed by ``.`` or by an exponent, which orjson
# always signs (``1e+16``, ``1e-7``). With all digits mapped to 0, those spots are found by a plain
# substring search, which is fast.
_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_NUMBER = re.compile(rb"-?0+(?:\.0+)?(?:[eE][-+]?0+)?")
_BEFORE_VALUE = frozenset(b":,[")
_AFTER_VALUE = frozenset(b",]}")


def _floats_spelled_alike(text: bytes) -> bool:
    """Whether every float in orjson's text is spelled as the standard library spells it.

    A float of a dict or list stands after ``:``, ``,`` or ``[`` and before ``,``, ``]`` or ``}``;
    each such number is compared with Python's spelling. Digits elsewhere (inside strings) are
    skipped, or, if they happen to look like such a number, compared too (which only ever sends a
    value the slow way).
    """
    zeros = text.translate(_ZEROS)
    for needle in (b"0.", b"0e+", b"0e-", b"0E+", b"0E-"):
        i = zeros.find(needle)
        while i >= 0:
            start = i
            while start and zeros[start - 1] in b"0-":
                start -= 1
            match = _NUMBER.match(zeros, start)
            end = match.end() if match else i + len(needle)
            value = start and zeros[start - 1] in _BEFORE_VALUE and end < len(zeros) and zeros[end] in _AFTER_VALUE
            if match and value:
                token = text[start:end]
                try:
                    if repr(float(token)).encode() != token:
                        return False
                except ValueError:  # pragma: no cover - the pattern only matches numbers
                    return False
            i = zeros.find(needle, max(end, i + 1))
    return True


def fast_canonical(value: dict[str, Any] | list[Any]) -> bytes | None:
    """``canonical(value)`` through orjson, or None where the two could differ.

    For strings, integers up to 64 bits, booleans, null, lists and dicts with string keys orjson
    writes the very bytes of the standard library's canonical form (keys sorted by code point,
    which UTF-8 byte order preserves; the same escapes). Floats it may spell differently
    (``1e-7`` for ``1e-07``, ``0.00001`` for ``1e-05``): each float is checked against Python's
    spelling, and any difference sends the value to the standard library, as does anything
    orjson refuses (other types, subclasses, integers beyond 64 bits, non-string keys, lone
    surrogates), and so does the absence of orjson.
    """
    if _orjson_dumps is None:
        return None
    try:
        text = _orjson_dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    if type(value) is list and all(type(v) is str for v in value):  # ids, say: no number to compare
        return text
    return text if _floats_spelled_alike(text) else None


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the audit log: who did what to which subjects, when, chained to the entry before
    it by hash."""

    seq: int
    at: datetime
    principal: str
    source: str
    action: str
    subjects: tuple[str, ...]
    payload: Any
    payload_digest: str
    prev_hash: str
    hash: str
    #: What the entry wrote to the stored graph (see :mod:`lineage.audit.facts`); None on entries
    #: recorded before stores kept it, whose rows the chain therefore cannot prove.
    writes: dict[str, Any] | None = None
    #: The canonical text of ``payload`` when :func:`seal` computed it already (stores keep that text).
    encoded_payload: str | None = field(default=None, compare=False, repr=False)

    def payload_text(self) -> str:
        """The payload as stored: its canonical JSON text."""
        if self.encoded_payload is not None:
            return self.encoded_payload
        return canonical(self.payload).decode()

    def header(self) -> dict[str, Any]:
        """The fields the entry hash covers (``writes`` only where present, so older entries keep their hash)."""
        out = {
            "seq": self.seq,
            "at": self.at.astimezone(UTC).isoformat(),
            "principal": self.principal,
            "source": self.source,
            "action": self.action,
            "subjects": list(self.subjects),
            "payload_digest": self.payload_digest,
            "prev_hash": self.prev_hash,
        }
        if self.writes is not None:
            out["writes"] = self.writes
        return out

    def to_dict(self, with_payload: bool = False) -> dict[str, Any]:
        out = self.header() | {"hash": self.hash}
        if with_payload:
            out["payload"] = self.payload
        return out


def seal(
    *,
    seq: int,
    at: datetime,
    principal: str,
    source: str,
    action: str,
    subjects: Iterable[str],
    payload: Any,
    prev_hash: str,
    writes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Build the next entry of a chain, computing its digest and hash."""
    subjects = tuple(subjects)
    text = canonical(payload)
    payload_digest = hashlib.sha256(text).hexdigest()
    draft = AuditEntry(
        seq, at, principal, source, action, subjects, payload, payload_digest, prev_hash, "", writes
    )
    return AuditEntry(
        seq,
        at,
        principal,
        source,
        action,
        subjects,
        payload,
        payload_digest,
        prev_hash,
        digest(draft.header()),
        writes,
        text.decode(),
    )


@dataclass(slots=True)
class Verification:
    """The outcome of checking an audit chain: whether it holds, and the first entry that does not."""

    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None = None
    problem: str | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def verify(entries: Iterable[AuditEntry], expect_head: str | None = None) -> Verification:
    """Recompute the chain from the genesis; report the first entry that does not fit."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in entries:
        count += 1
        problem = None
        # For a sequence problem, name the position where the chain stops being what it should be:
        # for a removed entry that is the missing number, not the number of the entry in its place.
        bad_seq = expected_seq
        if entry.seq > expected_seq:
            gone = str(expected_seq) if entry.seq == expected_seq + 1 else f"{expected_seq}..{entry.seq - 1}"
            problem = f"missing: the log jumps from {expected_seq - 1} to {entry.seq} (entries {gone} removed)"
        elif entry.seq < expected_seq:
            problem = f"found seq {entry.seq} where {expected_seq} should be: entries duplicated or reordered"
        elif entry.prev_hash != prev:
            problem = "prev_hash does not match the previous entry's hash: an entry was removed, inserted or reordered"
        elif digest(entry.payload) != entry.payload_digest:
            problem = "payload does not match its digest: the recorded content was altered"
        elif digest(entry.header()) != entry.hash:
            problem = "hash does not match the entry's fields: the entry was altered"
        if problem:
            return Verification(False, count, prev, bad_seq, f"entry {bad_seq}: {problem}")
        prev = entry.hash
        expected_seq += 1
    if expect_head is not None and expect_head != prev:
        return Verification(
            False,
            count,
            prev,
            count + 1,
            f"the chain ends at {prev[:12]}… after {count} entries, not at the anchored head "
            f"{expect_head[:12]}…: entries were removed from the end or the chain was rewritten",
        )
    return Verification(True, count, prev)
