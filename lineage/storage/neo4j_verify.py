"""The Neo4j store's rows for audit verification (:class:`lineage.audit.graph_verify.GraphRows`).

Everything is read in one read transaction, streamed. The store keeps some state in a physical
form of its own, mapped here to the rows verification expects:

- a node that never changed holds its one state itself (no ``:Revision``): it is reported as that
  node's first revision, and as its latest;
- labels must be exactly ``:Node`` and the node's kind, and the search copies of id and name
  (``id_lc``, ``name_fold``, ...) what they copy: otherwise the node is reported with a flaw;
- ``owners_now``/``tags_now`` are copies of current annotations (compared by the verifier);
- the chain head is kept on ``(:AuditHead)`` as well as in the last entry;
- a node's ``created_seq`` is the subject row of the entry that created it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, LiteralString

import neo4j

from lineage.audit import AuditEntry
from lineage.audit.graph_verify import NodeRow
from lineage.storage.neo4j_cypher import EDGE_TYPES
from lineage.storage.neo4j_records import entry_of, search_keys

if TYPE_CHECKING:
    from lineage.storage.neo4j import Neo4jStore

_AUDIT = "MATCH (a:AuditEntry) RETURN a {.*} AS a ORDER BY a.seq"
_HEAD = "MATCH (h:AuditHead {id: 'head'}) RETURN h.seq AS seq, h.hash AS hash"
_NODES = (
    "MATCH (n:Node) OPTIONAL CALL (n) { WITH n WHERE n.revised IS NOT NULL "
    "MATCH (v:Revision {node_id: n.id}) WHERE v.recorded_at IS NOT NULL "
    "RETURN v ORDER BY v.recorded_at DESC LIMIT 1 } "
    "RETURN n {.*} AS n, labels(n) AS labels, v.properties AS lp, v.event_time AS le, v IS NOT NULL AS has"
)
_REVISIONS = (
    "MATCH (v:Revision) RETURN v.node_id AS a, v.recorded_at AS b, v.recorded_by AS c, v.properties AS d, "
    "v.event_time AS e "
    "UNION ALL MATCH (n:Node) WHERE n.revised IS NULL "
    "RETURN n.id AS a, n.recorded_at AS b, n.recorded_by AS c, n.properties AS d, n.event_time AS e"
)
_EDGES: LiteralString = (
    f"MATCH (s)-[r:{EDGE_TYPES}]->(t) RETURN s.id, type(r), t.id, s.kind, t.kind, "
    "coalesce(r.properties, '{}'), r.event_time, r.recorded_at, r.recorded_by, r.retracted_at, r.retracted_by, "
    "r.retract_reason"
)
_ANNOTATIONS = (
    "MATCH (a:Annotation) RETURN a.node_id, a.key, a.value, a.recorded_at, a.recorded_by, a.retracted_at, "
    "a.retracted_by"
)
_TOKENS = (
    "MATCH (t:Token) RETURN t.name, t.role, t.namespaces, t.secret_hash, t.created_at, t.created_by, t.revoked_at"
)
_RAW = "MATCH (e:RawEvent) RETURN e.seq, e.received_at, e.source, e.payload"
_SUBJECTS = (
    "MATCH (s:AuditSubject) RETURN s.subject AS subject, s.seq AS seq "
    "UNION ALL MATCH (n:Node) WHERE n.created_seq IS NOT NULL RETURN n.id AS subject, n.created_seq AS seq"
)
_SEARCH_KEYS = ("id_lc", "name_lc", "id_fold", "name_fold")


def _flaw(n: dict[str, Any], labels: list[str]) -> str | None:
    if sorted(labels) != sorted({"Node", str(n.get("kind"))}):
        return f"nodes row {n.get('id')}: labels {sorted(labels)} do not match its kind {n.get('kind')!r}"
    if n.get("revised") not in (None, True):
        return f"nodes row {n.get('id')}: its revised flag is {n.get('revised')!r}, not true or absent"
    expected = search_keys(str(n.get("id")), str(n.get("name")))
    for key in _SEARCH_KEYS:
        if n.get(key) != expected.get(key):
            return f"nodes row {n.get('id')}: its search key {key} does not match its id and name"
    return None


def _sorted(values: Any) -> tuple[str, ...]:
    return tuple(sorted(values or ()))


class Neo4jRows:
    """Rows of one Neo4j read transaction."""

    keeps_current_annotations = True

    def __init__(self, tx: neo4j.Transaction) -> None:
        self.tx = tx

    def _rows(self, query: LiteralString) -> Iterator[Any]:
        for record in self.tx.run(query):
            yield tuple(record.values())

    def entries(self) -> Iterator[AuditEntry]:
        for record in self.tx.run(_AUDIT):
            yield entry_of(record["a"])

    def stored_head(self) -> tuple[int, str] | None:
        row = self.tx.run(_HEAD).single()
        return (int(row["seq"]), str(row["hash"])) if row is not None else None

    def nodes(self) -> Iterator[NodeRow]:
        for record in self.tx.run(_NODES):
            n = record["n"]
            if n.get("revised") is None:
                latest: tuple[str, int | None] | None = (n.get("properties"), n.get("event_time"))
            else:
                latest = (record["lp"], record["le"]) if record["has"] else None
            yield NodeRow(
                n.get("id"),
                n.get("kind"),
                n.get("namespace"),
                n.get("name"),
                n.get("version"),
                n.get("properties"),
                n.get("event_time"),
                n.get("recorded_at"),
                n.get("recorded_by"),
                n.get("retracted_at"),
                n.get("retracted_by"),
                n.get("retract_reason"),
                latest,
                (_sorted(n.get("owners_now")), _sorted(n.get("tags_now"))),
                _flaw(n, record["labels"]),
            )

    def revisions(self) -> Iterator[Any]:
        return self._rows(_REVISIONS)

    def edges(self) -> Iterator[Any]:
        return self._rows(_EDGES)

    def annotations(self) -> Iterator[Any]:
        return self._rows(_ANNOTATIONS)

    def tokens(self) -> Iterator[Any]:
        return self._rows(_TOKENS)

    def raw_events(self) -> Iterator[Any]:
        return self._rows(_RAW)

    def subjects(self) -> Iterator[Any]:
        return self._rows(_SUBJECTS)


@contextmanager
def snapshot(store: Neo4jStore) -> Iterator[Neo4jRows]:
    """One read transaction for the whole verification."""
    with store._errors(), store._session() as session, session.begin_transaction() as tx:
        try:
            yield Neo4jRows(tx)
        finally:
            tx.rollback()

