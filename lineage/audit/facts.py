"""What an audit entry wrote to the stored graph, in a canonical form both sides compute alike.

Every stored row is bound to the audit entry that wrote it by the entry's recording time: a
write stamps each row it inserts with the entry's ``at`` (``recorded_at``, ``created_at``,
``received_at``) and each change with it (``retracted_at``, ``revoked_at``). The chain makes
those times unique and strictly increasing, so a time names exactly one entry.

A row contributes one *fact* per binding: the fields it holds, as written, excluding the binding
time itself. Canonical form of a fact: the UTF-8 JSON text (no whitespace, non-ASCII kept) of the
list ``[stream, field, ...]``, with the fields of the stream in the order below; times are integer
microseconds since the epoch, UTC; JSON values (properties, payloads, namespaces) appear as the
stored text (``properties``: sorted keys, no whitespace; raw payloads: as received, re-encoded).

========================  ==========================================================  ===============
stream                    fields                                                      bound by
========================  ==========================================================  ===============
``node``                  id, kind, namespace, name, version, recorded_by             recorded_at
``revision``              node_id, recorded_by, properties, event_time                recorded_at
``node_retraction``       id, retracted_by, retract_reason                            retracted_at
``edge``                  from, type, to, from_kind, to_kind, properties, event_time,  recorded_at
                          recorded_by
``edge_retraction``       from, type, to, retracted_by, retract_reason                retracted_at
``annotation``            node_id, key, value, recorded_by                            recorded_at
``annotation_retraction`` node_id, key, value, retracted_by                           retracted_at
``token``                 name, role, namespaces, secret_hash, created_by             created_at
``token_revocation``      secret_hash                                                 revoked_at
``raw_event``             seq, source, payload                                        received_at
========================  ==========================================================  ===============

An entry's ``writes`` records, per stream, the number of facts and a digest of their multiset, and
the same for all streams together; a stream of at most 64 facts also lists a 64-bit tag of each fact
(the low bits of its expansion), so a single changed row is named. The multiset digest is additive
(AdHash, Bellare and Micciancio): each fact is expanded to 2048 bits with SHAKE-256, the values are
added modulo 2^2048, and the sum is hashed with SHA-256. Addition does not depend on order, so
verification reads every table once, in whatever order the backend returns rows, and keeps one sum
per entry; the 2048-bit width keeps forging a different multiset with the same sum out of reach even
for entries with millions of rows.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

WIDTH_BYTES = 256
MODULUS = 1 << (8 * WIDTH_BYTES)
_MASK = MODULUS - 1
#: Streams with at most this many facts in one write list a tag per fact (see :class:`Writes`).
LISTED = 64

NODE = "node"
REVISION = "revision"
NODE_RETRACTION = "node_retraction"
EDGE = "edge"
EDGE_RETRACTION = "edge_retraction"
ANNOTATION = "annotation"
ANNOTATION_RETRACTION = "annotation_retraction"
TOKEN = "token"
TOKEN_REVOCATION = "token_revocation"
RAW_EVENT = "raw_event"

STREAMS = (
    NODE,
    REVISION,
    NODE_RETRACTION,
    EDGE,
    EDGE_RETRACTION,
    ANNOTATION,
    ANNOTATION_RETRACTION,
    TOKEN,
    TOKEN_REVOCATION,
    RAW_EVENT,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# The C encoder behind it, called directly: the same text at a third of the cost (facts are many).
_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    _MAKE_ENCODER(None, None, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    if _MAKE_ENCODER is not None
    else None
)


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The same C encoder with sorted keys: ``canonical_json`` is called once per stored row.
_C_CANONICAL = (
    _MAKE_ENCODER(None, _not_json, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    if _MAKE_ENCODER is not None
    else None
)


_orjson_dumps: Callable[[Any], bytes] | None
try:  # a dependency: the same bytes for facts (strings, integers, null) at half the cost
    import orjson

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def _orjson_dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=_OPTIONS)

except ImportError:  # pragma: no cover - where orjson cannot be installed
    _orjson_dumps = None


def micros(value: datetime | None) -> int | None:
    """Integer microseconds since the epoch (naive values are taken as UTC), as the stores keep times."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta: timedelta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical_json(value: Any) -> str:
    """The text JSON values are stored as: sorted keys, no whitespace, non-ASCII kept."""
    if not value and type(value) is dict:
        return "{}"
    if _C_CANONICAL is not None and type(value) is dict:
        return "".join(_C_CANONICAL(value, 0))
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def encode(stream: str, fields: Iterable[Any]) -> bytes:
    """The canonical bytes of one fact."""
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps((stream, *fields))
        except TypeError:  # a value orjson refuses (a lone surrogate, a big integer): the slow way
            pass
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE((stream, *fields), 0)).encode()
    return _ENCODE([stream, *fields]).encode()


def fact_value(stream: str, fields: Iterable[Any]) -> int:
    """One fact as a number modulo 2^2048: its SHAKE-256 expansion."""
    return int.from_bytes(hashlib.shake_256(encode(stream, fields)).digest(WIDTH_BYTES), "little")


def sum_digest(total: int) -> str:
    """The SHA-256 of a multiset sum: what entries record and verification compares."""
    return hashlib.sha256(total.to_bytes(WIDTH_BYTES, "little")).hexdigest()


def short(value: int) -> str:
    """A 64-bit tag of one fact, listed for small writes so a changed row can be named."""
    return format(value & 0xFFFF_FFFF_FFFF_FFFF, "016x")


class Writes:
    """The facts one write adds, summed per stream as the write goes; :meth:`record` is the entry's ``writes``.

    For a stream with at most :data:`LISTED` facts, the record also lists each fact's :func:`short`
    tag, so that verification names the very row that differs rather than only the entry.
    """

    __slots__ = ("counts", "sums", "tags")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.sums: dict[str, int] = {}
        self.tags: dict[str, list[str]] = {}

    def add(self, stream: str, fields: Iterable[Any]) -> None:
        value = fact_value(stream, fields)
        count = self.counts.get(stream, 0) + 1
        self.counts[stream] = count
        self.sums[stream] = (self.sums.get(stream, 0) + value) & _MASK
        if count <= LISTED:
            self.tags.setdefault(stream, []).append(short(value))

    def add_many(self, stream: str, rows: Iterable[Iterable[Any]]) -> None:
        """:meth:`add` for many facts of one stream (the same result, without a call per fact)."""
        shake, from_bytes = hashlib.shake_256, int.from_bytes
        rows = rows if isinstance(rows, list) else list(rows)
        values: list[int] | None = None
        if _orjson_dumps is not None:
            dumps = _orjson_dumps
            try:
                values = [
                    from_bytes(shake(dumps((stream, *fields))).digest(WIDTH_BYTES), "little") for fields in rows
                ]
            except TypeError:  # a value orjson refuses: every fact of the call the slow way
                values = None
        if values is None:
            if _C_ENCODE is None:
                for fields in rows:
                    self.add(stream, fields)
                return
            enc = _C_ENCODE
            values = [
                from_bytes(shake("".join(enc((stream, *fields), 0)).encode()).digest(WIDTH_BYTES), "little")
                for fields in rows
            ]
        if not values:
            return
        before = self.counts.get(stream, 0)
        self.counts[stream] = before + len(values)
        self.sums[stream] = (self.sums.get(stream, 0) + sum(values)) & _MASK
        if before < LISTED:
            self.tags.setdefault(stream, []).extend(short(v) for v in values[: LISTED - before])

    def record(self) -> dict[str, Any]:
        total = sum(self.sums.values()) & _MASK
        streams: dict[str, list[Any]] = {}
        for s in sorted(self.counts):
            streams[s] = [self.counts[s], sum_digest(self.sums[s])]
            if self.counts[s] <= LISTED:
                streams[s].append(sorted(self.tags[s]))
        return {"rows": sum(self.counts.values()), "digest": sum_digest(total), "streams": streams}


EMPTY_DIGEST = sum_digest(0)
