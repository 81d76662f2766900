"""The write transaction of the Neo4j store: the primitives of :class:`~lineage.storage.base.WriteTx`.

It runs inside one managed transaction that first locks the audit head node, so writers from every
process queue there and the audit chain cannot fork. Statements are UNWIND batches; label and
relationship-type variants come from dicts keyed by the closed enums (see :mod:`neo4j_cypher`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, LiteralString

import neo4j

from lineage.audit import GENESIS, AuditEntry
from lineage.model import EdgeType, NodeKind
from lineage.storage import neo4j_cypher as q
from lineage.storage.base import NewEdge, NewNode, StoredEdge, StoredNode, TokenRecord, node_retraction_reason
from lineage.storage.neo4j_records import (
    CURRENT_KEYS,
    at_us,
    audit_props,
    chunks,
    search_keys,
    to_json,
    token_props,
    us,
)
from lineage.storage.sqlite import from_us, to_us


class Neo4jWriteTx:
    """:class:`~lineage.storage.base.WriteTx` over one Neo4j transaction holding the head lock."""

    def __init__(self, tx: neo4j.ManagedTransaction | neo4j.Transaction) -> None:
        self.tx = tx
        self.head = (0, GENESIS)
        self.last_at: int | None = None
        #: Ids this transaction looked up and did not find (and has not created since): an edge
        #: with such an end cannot be stored, so edges() need not ask.
        self.absent: set[str] = set()
        #: Ids of nodes this transaction created and has not annotated yet: their current owners
        #: and tags are exactly what add_annotations() gives them, no lookup needed.
        self.fresh: set[str] = set()
        #: Nodes created since the last audit entry, stamped ``created_seq`` with the sequence number
        #: that entry will have: the entry's subject rows for them are then the nodes themselves.
        self.created: set[str] = set()

    def run(self, query: LiteralString, **params: Any) -> list[neo4j.Record]:
        return list(self.tx.run(query, params))

    def lock(self) -> None:
        """Take the writers' lock, then read the head it protects."""
        self.tx.run(q.LOCK_HEAD, genesis=GENESIS, nonce=uuid.uuid4().hex).consume()
        row = self.run(q.READ_HEAD)[0]
        self.head = (int(row["seq"]), str(row["hash"]))
        self.last_at = row["at"]

    def now(self) -> datetime:
        now = to_us(datetime.now(UTC))
        return at_us(max(now, self.last_at + 1) if self.last_at is not None else now)

    def audit_head(self) -> tuple[int, str]:
        return self.head

    def rows(self, query: LiteralString, **params: Any) -> list[list[Any]]:
        """The rows of a statement that returns them all in one record, as ``collect([...]) AS rows``."""
        out: list[list[Any]] = self.tx.run(query, params).single(strict=True)[0]
        return out

    def nodes(self, ids: Sequence[str]) -> dict[str, StoredNode]:
        out: dict[str, StoredNode] = {}
        for chunk in chunks(ids):
            for node_id, kind, props, event_time, retracted_at in self.rows(q.TX_NODES, ids=list(chunk)):
                out[node_id] = StoredNode(
                    node_id, NodeKind(kind), json.loads(props), from_us(event_time), from_us(retracted_at)
                )
        self.absent.update(i for i in ids if i not in out)
        return out

    def edges(self, keys: Sequence[tuple[str, EdgeType, str]]) -> dict[tuple[str, EdgeType, str], StoredEdge]:
        out: dict[tuple[str, EdgeType, str], StoredEdge] = {}
        absent = self.absent
        keys = [k for k in keys if k[0] not in absent and k[2] not in absent]
        for chunk in chunks(keys):
            for src, edge_type, dst, retracted_at in self.rows(q.TX_EDGES, keys=[[s, t.value, d] for s, t, d in chunk]):
                key = (src, EdgeType(edge_type), dst)
                out[key] = StoredEdge(src, key[1], dst, from_us(retracted_at))
        return out

    def successors(self, ids: Sequence[str]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for chunk in chunks(ids):
            out.extend((src, dst) for src, dst in self.rows(q.TX_SUCCESSORS, ids=list(chunk)))
        return out

    def annotations(self, ids: Sequence[str], key: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for chunk in chunks(ids):
            for node_id, value in self.rows(q.TX_ANNOTATIONS, ids=list(chunk), key=key):
                out.setdefault(node_id, set()).add(value)
        return out

    def removed_annotations(self, ids: Sequence[str], key: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for chunk in chunks(ids):
            for node_id, value in self.rows(q.TX_REMOVED_ANNOTATIONS, ids=list(chunk), key=key):
                out.setdefault(node_id, set()).add(value)
        return out

    def stage_nodes(self, nodes: Sequence[NewNode], at: datetime, by: str) -> Callable[[], None]:
        by_kind: dict[NodeKind, list[dict[str, Any]]] = {}
        seq = self.head[0] + 1  # the audit entry that records this write comes next
        for n in nodes:
            row = {
                "id": n.id,
                "created_seq": seq,
                "kind": n.kind.value,
                "namespace": n.namespace,
                "name": n.name,
                "version": n.version,
                "properties": n.properties_json,
                "event_time": us(n.event_time),
            }
            row.update(search_keys(n.id, n.name))
            by_kind.setdefault(n.kind, []).append(row)
        # Known from here on: the transaction is rolled back whole if the rows do not get in.
        self.absent.difference_update(n.id for n in nodes)
        self.fresh.update(n.id for n in nodes)
        self.created.update(n.id for n in nodes)
        return self._sender(q.INSERT_NODES, by_kind, at, by)

    def update_nodes(
        self, updates: Sequence[tuple[str, dict[str, Any], datetime | None]], at: datetime, by: str
    ) -> None:
        t = to_us(at)
        rows = [{"id": i, "properties": to_json(p), "event_time": us(e)} for i, p, e in updates]
        for chunk in chunks(rows):
            self.tx.run(q.KEEP_FIRST_REVISION, ids=[r["id"] for r in chunk]).consume()
            self.tx.run(q.UPDATE_NODES, rows=chunk).consume()
            revisions = [
                {
                    "node_id": r["id"],
                    "recorded_at": t,
                    "recorded_by": by,
                    "properties": r["properties"],
                    "event_time": r["event_time"],
                }
                for r in chunk
            ]
            self.tx.run(q.INSERT_REVISIONS, rows=revisions).consume()

    def stage_edges(self, edges: Sequence[NewEdge], at: datetime, by: str) -> Callable[[], None]:
        by_type: dict[EdgeType, list[list[Any]]] = {}
        for e in edges:
            by_type.setdefault(e.type, []).append(
                [e.source, e.target, e.properties_json if e.properties else None, us(e.event_time)]
            )
        for rows in by_type.values():
            rows.sort(key=lambda r: r[0])  # neighbouring rows touch the same nodes
        return self._sender(q.INSERT_EDGES, by_type, at, by)

    def _sender(
        self, queries: Mapping[Any, LiteralString], groups: dict[Any, list[Any]], at: datetime, by: str
    ) -> Callable[[], None]:
        """What runs each group's query over its rows, in chunks (the rows of one label or type)."""
        t = to_us(at)

        def send() -> None:
            for key, rows in groups.items():
                for chunk in chunks(rows):
                    self.tx.run(queries[key], rows=chunk, at=t, by=by).consume()

        return send

    def add_annotations(self, rows: Sequence[tuple[str, str, str]], at: datetime, by: str) -> None:
        t = to_us(at)
        data = [{"node_id": n, "key": k, "value": v, "recorded_at": t, "recorded_by": by} for n, k, v in rows]
        for chunk in chunks(data):
            self.tx.run(q.INSERT_ANNOTATIONS, rows=chunk).consume()
        touched = {n for n, k, _ in rows if k in CURRENT_KEYS}
        fresh = touched & self.fresh
        if fresh:
            # New nodes: their only owners and tags are these rows; set them without a lookup.
            current: dict[str, dict[str, list[str]]] = {}
            for n, k, v in rows:
                if n in fresh:
                    values = current.setdefault(n, {"owner": [], "tag": []}).setdefault(k, [])
                    if v not in values:
                        values.append(v)
            now: list[dict[str, Any]] = [
                {"id": n, "owners": c["owner"] or None, "tags": c["tag"] or None} for n, c in current.items()
            ]
            for part in chunks(now):
                self.tx.run(q.SET_CURRENT_ANNOTATIONS, rows=part).consume()
            self.fresh -= fresh
        self.refresh_current(touched - fresh)

    def retract_annotations(self, rows: Sequence[tuple[str, str, str]], at: datetime, by: str) -> None:
        self.fresh.difference_update(n for n, _k, _v in rows)
        data = [{"node_id": n, "key": k, "value": v} for n, k, v in rows]
        for chunk in chunks(data):
            self.tx.run(q.RETRACT_ANNOTATIONS, rows=chunk, at=to_us(at), by=by).consume()
        self.refresh_current({n for n, k, _ in rows if k in CURRENT_KEYS})

    def refresh_current(self, ids: set[str]) -> None:
        """Copy the current owners and tags of these nodes onto them (read without a lookup)."""
        for chunk in chunks(sorted(ids)):
            self.tx.run(q.REFRESH_CURRENT_ANNOTATIONS, ids=list(chunk)).consume()

    def retract_node(self, node_id: str, at: datetime, by: str, reason: str) -> list[tuple[str, EdgeType, str]]:
        rows = self.run(
            q.RETRACT_NODE,
            id=node_id,
            at=to_us(at),
            by=by,
            reason=reason,
            edge_reason=node_retraction_reason(node_id, reason),
        )
        keys = rows[0]["edges"] if rows else []
        return [(k[0], EdgeType(k[1]), k[2]) for k in keys if k[0] is not None]

    def retract_edge(self, key: tuple[str, EdgeType, str], at: datetime, by: str, reason: str) -> None:
        self.tx.run(
            q.RETRACT_EDGE, src=key[0], type=key[1].value, dst=key[2], at=to_us(at), by=by, reason=reason
        ).consume()

    def append_audit(self, entry: AuditEntry) -> None:
        self.tx.run(q.APPEND_AUDIT, entry=audit_props(entry)).consume()
        subjects = list(dict.fromkeys(entry.subjects))
        created, self.created = self.created, set()
        if created and entry.seq != self.head[0] + 1:  # never expected: stamp the real number
            for chunk in chunks(sorted(created)):
                self.tx.run(q.STAMP_CREATED, ids=list(chunk), seq=entry.seq).consume()
        # A node created for this entry is its own subject row (``created_seq``); every other
        # subject gets an :AuditSubject row.
        unlisted = created.difference(subjects)
        if unlisted:  # created but not named by the entry: not its subject after all
            for chunk in chunks(sorted(unlisted)):
                self.tx.run(q.STAMP_CREATED, ids=list(chunk), seq=None).consume()
        rest = [s for s in subjects if s not in created]
        for chunk in chunks(rest):
            self.tx.run(q.INSERT_AUDIT_SUBJECTS, subjects=chunk, seq=entry.seq).consume()
        self.head = (entry.seq, entry.hash)
        self.last_at = to_us(entry.at)

    def put_token(self, token: TokenRecord) -> None:
        self.tx.run(q.PUT_TOKEN, token=token_props(token)).consume()

    def revoke_token(self, name: str, at: datetime) -> bool:
        rows = self.run(q.REVOKE_TOKEN, name=name, at=to_us(at))
        return bool(rows and rows[0]["n"])

    def insert_raw_events(self, source: str, texts: Sequence[str], at: datetime) -> list[int]:
        rows = self.run(q.APPEND_RAW_EVENTS, at=to_us(at), source=source, payloads=list(texts))
        return [int(r["seq"]) for r in rows]
