"""How the Neo4j store feeds its traversal index (:mod:`lineage.storage.index`).

The same protocol as the embedded store: the head is the audit head node's sequence number,
changes are the edges touching the subjects of the audit entries after a sequence number, and a
full load streams every relationship together with the head in one read transaction. A walk from
a node that :meth:`Neo4jStore.get_node` just read takes the head read with that node (no round
trip of its own); other callers read it (one small statement).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, LiteralString

from lineage.storage import neo4j_cypher as q
from lineage.storage.index import Changes, EdgeRow, Fact, is_production_env
from lineage.storage.neo4j_records import KIND_BY_PREFIX

if TYPE_CHECKING:
    import neo4j

    from lineage.storage.neo4j import Neo4jStore

_HEAD: LiteralString = "OPTIONAL MATCH (h:AuditHead {id: 'head'}) RETURN coalesce(h.seq, 0) AS seq"
#: The edges leaving a page of source nodes (in id order, from the id index), as one record: a
#: full load is a few large records instead of one record per edge, which the driver decodes
#: several times faster, and the server holds one page at a time.
_EDGES_PAGE: LiteralString = (
    "MATCH (s:Node) WHERE s.id > $after WITH s ORDER BY s.id LIMIT $limit "
    f"CALL (s) {{ MATCH (s)-[r:{q.EDGE_TYPES}]->(t:Node) "
    "RETURN collect([type(r), t.id, r.recorded_at, r.retracted_at]) AS out } "
    "RETURN collect(CASE WHEN size(out) > 0 THEN [s.id, out] END) AS rows, max(s.id) AS last, count(s) AS n"
)
#: Source nodes per page of a full load.
LOAD_PAGE = 5_000
_CHANGED: LiteralString = "MATCH (a:AuditEntry) WHERE a.seq > $after RETURN a.seq AS seq, a.subjects AS subjects"
_TOUCHING: LiteralString = (
    f"UNWIND $ids AS id MATCH (s:Node {{id: id}})-[r:{q.EDGE_TYPES}]->(t:Node) "
    "RETURN collect([s.id, type(r), t.id, r.recorded_at, r.retracted_at]) AS rows "
    "UNION ALL "
    f"UNWIND $ids AS id MATCH (s:Node)-[r:{q.EDGE_TYPES}]->(t:Node {{id: id}}) "
    "RETURN collect([s.id, type(r), t.id, r.recorded_at, r.retracted_at]) AS rows"
)

_FACTS_ALL: LiteralString = (
    "MATCH (n:Node) WHERE n.owners_now IS NOT NULL "
    "RETURN n.id AS id, n.owners_now AS owners, null AS ns, null AS props "
    "UNION ALL "
    "MATCH (n:Deployment) WHERE n.retracted_at IS NULL "
    "RETURN n.id AS id, n.owners_now AS owners, n.namespace AS ns, n.properties AS props"
)
_FACTS_OF: LiteralString = (
    "UNWIND $ids AS id MATCH (n:Node {id: id}) "
    "WITH n, n:Deployment AND n.retracted_at IS NULL AS deployed "
    "RETURN n.id AS id, n.owners_now AS owners, CASE WHEN deployed THEN n.namespace END AS ns, "
    "CASE WHEN deployed THEN n.properties END AS props"
)

#: Past this many changed subjects a fresh load is cheaper than following them one by one.
MAX_SUBJECTS = 200_000
CHUNK = 100_000


def _kind(node_id: str) -> str:
    return KIND_BY_PREFIX[node_id[: node_id.index(":")]].value


def _row(src: str, etype: str, dst: str, rec: int, ret: int | None) -> EdgeRow:
    return (src, etype, dst, _kind(src), _kind(dst), rec, ret)


class Neo4jIndexFeed:
    def __init__(self, store: Neo4jStore) -> None:
        self._store = store

    def index_head(self) -> int:
        hint = self._store.take_head_hint()
        if hint is not None:
            # Read with the start node of the walk asking. An index already past it is fresh
            # enough for that walk (never "behind", which would mean the log was replaced).
            index = self._store._index
            return max(hint, index.head) if index is not None else hint
        rows = self._store._read(_HEAD)
        return int(rows[0]["seq"]) if rows else 0

    def index_load(self, consume: Callable[[Iterable[EdgeRow]], None]) -> int:
        def work(tx: neo4j.ManagedTransaction) -> int:
            head = int(tx.run(_HEAD).single(strict=True)["seq"])
            after = ""
            batch: list[EdgeRow] = []
            while True:
                page = tx.run(_EDGES_PAGE, after=after, limit=LOAD_PAGE).single(strict=True)
                for src, out in page["rows"]:
                    skind = _kind(src)
                    batch.extend((src, etype, dst, skind, _kind(dst), rec, ret) for etype, dst, rec, ret in out)
                if len(batch) >= CHUNK:
                    consume(batch)
                    batch = []
                if page["n"] < LOAD_PAGE:
                    break
                after = page["last"]
            consume(batch)
            return head

        return self._store._read_tx(work)

    def index_changes(self, after_seq: int) -> Changes | None:
        entries = self._store._read(_CHANGED, after=after_seq)
        if not entries:
            return Changes(after_seq, [], [])
        subjects: dict[str, None] = {}
        head = after_seq
        for e in entries:
            head = max(head, int(e["seq"]))
            subjects.update(dict.fromkeys(_subjects(e["subjects"])))
            if len(subjects) > MAX_SUBJECTS:
                return None
        rows: list[EdgeRow] = []
        for part in self._store._read(_TOUCHING, ids=list(subjects)):
            rows.extend(_row(*r) for r in part["rows"])
        return Changes(head, rows, list(subjects))

    def index_facts(self, ids: Sequence[str] | None) -> list[Fact]:
        found = self._store._read(_FACTS_ALL) if ids is None else self._store._read(_FACTS_OF, ids=list(ids))
        owners: dict[str, tuple[str, ...]] = {}
        prod: set[str] = set()
        for r in found:
            node_id = r["id"]
            owners[node_id] = tuple(sorted(r["owners"] or ()))
            if r["props"] is not None and is_production_env("Deployment", r["ns"], json.loads(r["props"])):
                prod.add(node_id)
        return [(i, o, i in prod) for i, o in owners.items()]


def _subjects(value: Any) -> Iterator[str]:
    yield from (json.loads(value) if isinstance(value, str) else value or ())
