"""Between Neo4j and the engine's records: property maps in and out, times, search keys.

Times are integer microseconds since the epoch (UTC), as in the embedded store, so as-of
comparisons are exact; JSON values are canonical text, since Neo4j properties cannot hold maps.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import neo4j

from lineage.audit import AuditEntry
from lineage.model import EdgeRecord, EdgeType, NodeKind, NodeRecord
from lineage.storage import neo4j_cypher as q
from lineage.storage.base import Annotation, TokenRecord
from lineage.storage.sqlite import from_us, to_us

R = TypeVar("R")

#: "As of now": later than any recording time.
FAR_FUTURE = 2**62
#: Rows per UNWIND statement; a batch is several statements in one transaction, so still atomic.
CHUNK = 10_000
KIND_BY_PREFIX = {k.prefix: k for k in NodeKind}
#: Annotation keys whose current values are kept on the node as ``<key>s_now``.
CURRENT_KEYS = frozenset({"owner", "tag"})
EDGE_BY_NAME = {e.value: e for e in EdgeType}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lowercase ASCII letters only, as SQLite's ``lower()`` and ``LIKE`` do, so search agrees."""
    return text.translate(_ASCII_LOWER)


def search_keys(node_id: str, name: str) -> dict[str, str]:
    """Lowercased copies of id and name that search compares, stored only where they differ.

    ``id_lc``/``name_lc``: ASCII letters lowered (what an ASCII search text is compared with);
    ``id_fold``/``name_fold``: full Unicode lowercase (for other text, names such as Émissions).
    Most ids and names are lowercase already and store neither.
    """
    keys: dict[str, str] = {}
    for key, text in (("id", node_id), ("name", name)):
        low = ascii_lower(text)
        if low != text:
            keys[f"{key}_lc"] = low
        if not text.isascii() and text.lower() != low:
            keys[f"{key}_fold"] = text.lower()
    return keys


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def us(value: datetime | None) -> int | None:
    return to_us(value) if value is not None else None


def at_us(value: int) -> datetime:
    out = from_us(value)
    assert out is not None
    return out


def as_of_us(as_of: datetime | None) -> int:
    return FAR_FUTURE if as_of is None else to_us(as_of)


def chunks(rows: Sequence[R], size: int = CHUNK) -> Iterator[Sequence[R]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


#: Audit payloads at least this long (characters) are stored zlib-compressed as ``payload_z`` bytes.
#: A bulk registration's payload is its whole batch, megabytes of JSON that compress about tenfold;
#: stored as text, it would cost the database more to write than the nodes and edges themselves.
PAYLOAD_COMPRESS_MIN = 64 * 1024


def audit_props(entry: AuditEntry) -> dict[str, Any]:
    """The stored properties of an audit entry; a long payload is kept compressed (``payload_z``,
    with its text's length in ``payload_len``)."""
    text = entry.payload_text()
    payload: str | None = text
    packed: bytes | None = None
    length: int | None = None
    if len(text) >= PAYLOAD_COMPRESS_MIN:
        packed, payload, length = zlib.compress(text.encode(), 1), None, len(text)
    return {
        "seq": entry.seq,
        "at": to_us(entry.at),
        "principal": entry.principal,
        "source": entry.source,
        "action": entry.action,
        "subjects": to_json(list(entry.subjects)),
        "payload": payload,
        "payload_z": packed,
        "payload_len": length,
        "payload_digest": entry.payload_digest,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "writes": to_json(entry.writes) if entry.writes is not None else None,
    }


def token_props(token: TokenRecord) -> dict[str, Any]:
    return {
        "name": token.name,
        "role": token.role,
        "namespaces": to_json(list(token.namespaces)),
        "secret_hash": token.secret_hash,
        "created_at": to_us(token.created_at),
        "created_by": token.created_by,
        "revoked_at": us(token.revoked_at),
    }


def entry_of(a: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        a["seq"],
        at_us(a["at"]),
        a["principal"],
        a["source"],
        a["action"],
        tuple(json.loads(a["subjects"])),
        json.loads(payload if (payload := a.get("payload")) is not None else zlib.decompress(a["payload_z"])),
        a["payload_digest"],
        a["prev_hash"],
        a["hash"],
        json.loads(a["writes"]) if a.get("writes") is not None else None,
    )


def token_of(t: dict[str, Any]) -> TokenRecord:
    return TokenRecord(
        t["name"],
        t["role"],
        tuple(json.loads(t["namespaces"])),
        t["secret_hash"],
        at_us(t["created_at"]),
        t["created_by"],
        from_us(t.get("revoked_at")),
    )


def edge_of(src: str, edge_type: str, dst: str, e: dict[str, Any], as_of: datetime | None = None) -> EdgeRecord:
    # As of a time before the retraction, the edge reads as it did then (see _hydrate).
    retracted = e["retracted_at"] is not None and (as_of is None or e["retracted_at"] <= as_of_us(as_of))
    return EdgeRecord(
        src,
        EdgeType(edge_type),
        dst,
        json.loads(e["properties"]),
        from_us(e["event_time"]),
        at_us(e["recorded_at"]),
        e["recorded_by"],
        from_us(e["retracted_at"]) if retracted else None,
        e["retracted_by"] if retracted else None,
        e["retract_reason"] if retracted else None,
    )


def annotation_of(a: dict[str, Any]) -> Annotation:
    return Annotation(
        a["node_id"],
        a["key"],
        a["value"],
        at_us(a["recorded_at"]),
        a["recorded_by"],
        from_us(a.get("retracted_at")),
        a.get("retracted_by"),
    )


def hydrate(
    tx: neo4j.ManagedTransaction | None, rows: list[dict[str, Any]], as_of: datetime | None
) -> list[NodeRecord]:
    """Node records from stored node maps: owners and tags as of the time, and the properties
    of the revision current then (only nodes that ever changed have revisions to look up).

    The present needs no further statement (current owners and tags are kept on the node), so
    ``tx`` may be None then; a past time needs it."""
    if not rows:
        return []
    if as_of is not None and tx is None:
        raise ValueError("records as of a past time are read in a transaction")
    t = as_of_us(as_of)
    ann: dict[str, dict[str, list[str]]] = {}
    ids = [n["id"] for n in rows]
    if as_of is None:
        # The present: current owners and tags are kept on the node itself.
        for n in rows:
            if "owners_now" in n or "tags_now" in n:
                ann[n["id"]] = {"owner": list(n.get("owners_now") or ()), "tag": list(n.get("tags_now") or ())}
        ids = []
    for chunk in chunks(ids):
        assert tx is not None
        for node_id, key, value in tx.run(q.NODE_ANNOTATIONS, ids=list(chunk), t=t).single(strict=True)[0]:
            ann.setdefault(node_id, {}).setdefault(key, []).append(value)
    for by_key in ann.values():
        for values in by_key.values():
            values.sort()
    revs: dict[str, tuple[str, int | None]] = {}
    revised = [n["id"] for n in rows if n.get("revised")]
    if as_of is not None and revised:
        for chunk in chunks(revised):
            assert tx is not None
            for node_id, props, event_time in tx.run(q.REVISIONS_AS_OF, ids=list(chunk), t=t).single(strict=True)[0]:
                if props is not None:
                    revs[node_id] = (props, event_time)
    out = []
    for n in rows:
        props, event_time = revs.get(n["id"], (n["properties"], n.get("event_time")))
        a = ann.get(n["id"], {})
        retracted_at = n.get("retracted_at")
        # As of a time before the retraction, the record reads as it did then: no trace of it.
        retracted = retracted_at is not None and (as_of is None or retracted_at <= t)
        out.append(
            NodeRecord(
                id=n["id"],
                kind=NodeKind(n["kind"]),
                namespace=n["namespace"],
                name=n["name"],
                version=n.get("version"),
                properties=json.loads(props),
                owners=tuple(a.get("owner", ())),
                tags=tuple(a.get("tag", ())),
                event_time=from_us(event_time),
                recorded_at=at_us(n["recorded_at"]),
                recorded_by=n["recorded_by"],
                retracted_at=from_us(retracted_at) if retracted else None,
                retracted_by=n.get("retracted_by") if retracted else None,
                retract_reason=n.get("retract_reason") if retracted else None,
            )
        )
    return out
