"""The Cypher text of the Neo4j store: schema, and every statement it runs, as static strings.

Cypher cannot take labels or relationship types as parameters, so statements that need one are
built here, once, from the closed enums (:class:`NodeKind`, :class:`EdgeType`) into dicts keyed by
the enum. No user string ever becomes part of a statement; every value is a ``$parameter``.

Graph layout:

- ``(:Node:<Kind>)`` per node version, unique ``id``. ``properties`` is canonical JSON text (Neo4j
  properties cannot hold maps), times are integer microseconds since the epoch (UTC), like SQLite,
  so as-of comparisons are exact. ``name_lc``/``id_lc`` (ASCII lowercase) and ``name_fold``/``id_fold``
  (Unicode lowercase) are copies for search, present only where they differ from name and id;
  ``owners_now``/``tags_now`` hold the current owners and tags (history: ``:Annotation``).
- ``(:Node)-[:<EDGE_TYPE>]->(:Node)`` per provenance edge, with the same bookkeeping properties
  (``properties`` left out when empty: most edges have none).
- ``(:Revision {node_id, recorded_at})``: the recorded states of a node's properties, written from
  its first change on (the node's ``revised`` flag); until then the node itself is its only state.
- ``(:Annotation {node_id, key, value})``: owners, tags, approvals, with retraction.
- ``(:AuditEntry {seq})`` with ``(:AuditSubject {subject, seq})`` as the subject index, except that
  a node names the entry that created it itself (``created_seq``: no subject row then), and one
  ``(:AuditHead {id: 'head'})`` holding the chain head; every write transaction locks it first.
- ``(:Token)``, ``(:RawEvent {seq})`` and ``(:Counter {id})`` for raw event numbering.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, LiteralString

from lineage.model import EdgeType, NodeKind

SCHEMA_VERSION = 1

#: Every provenance relationship type, for patterns that must not match anything else.
EDGE_TYPES: LiteralString = "INPUT_TO|PRODUCED|EXECUTED_IN|FEEDS|DEPLOYED_AS|PARENT_OF"
assert set(EDGE_TYPES.split("|")) == {e.value for e in EdgeType}, "EDGE_TYPES out of step with EdgeType"

# -- schema --------------------------------------------------------------------------------------

CONSTRAINTS: dict[str, LiteralString] = {
    "lineage_node_id": "CREATE CONSTRAINT lineage_node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE",
    "lineage_audit_seq": (
        "CREATE CONSTRAINT lineage_audit_seq IF NOT EXISTS FOR (a:AuditEntry) REQUIRE a.seq IS UNIQUE"
    ),
    "lineage_audit_head": (
        "CREATE CONSTRAINT lineage_audit_head IF NOT EXISTS FOR (h:AuditHead) REQUIRE h.id IS UNIQUE"
    ),
    "lineage_counter": "CREATE CONSTRAINT lineage_counter IF NOT EXISTS FOR (c:Counter) REQUIRE c.id IS UNIQUE",
    "lineage_meta": "CREATE CONSTRAINT lineage_meta IF NOT EXISTS FOR (m:LineageMeta) REQUIRE m.id IS UNIQUE",
    "lineage_token_hash": (
        "CREATE CONSTRAINT lineage_token_hash IF NOT EXISTS FOR (t:Token) REQUIRE t.secret_hash IS UNIQUE"
    ),
    "lineage_raw_event_seq": (
        "CREATE CONSTRAINT lineage_raw_event_seq IF NOT EXISTS FOR (e:RawEvent) REQUIRE e.seq IS UNIQUE"
    ),
}

INDEXES: dict[str, LiteralString] = {
    # Search is a substring match (CONTAINS) over name and id, a scan like the embedded store's LIKE
    # '%text%': text indexes would serve it but double the cost of every registration.
    "lineage_node_retracted": ("CREATE INDEX lineage_node_retracted IF NOT EXISTS FOR (n:Node) ON (n.retracted_at)"),
    "lineage_revision": ("CREATE INDEX lineage_revision IF NOT EXISTS FOR (r:Revision) ON (r.node_id, r.recorded_at)"),
    "lineage_annotation_node": (
        "CREATE INDEX lineage_annotation_node IF NOT EXISTS FOR (a:Annotation) ON (a.node_id, a.key)"
    ),
    "lineage_annotation_value": (
        "CREATE INDEX lineage_annotation_value IF NOT EXISTS FOR (a:Annotation) ON (a.key, a.value)"
    ),
    "lineage_audit_subject": (
        "CREATE INDEX lineage_audit_subject IF NOT EXISTS FOR (s:AuditSubject) ON (s.subject, s.seq)"
    ),
    "lineage_audit_principal": (
        "CREATE INDEX lineage_audit_principal IF NOT EXISTS FOR (a:AuditEntry) ON (a.principal)"
    ),
    "lineage_audit_at": "CREATE INDEX lineage_audit_at IF NOT EXISTS FOR (a:AuditEntry) ON (a.at)",
    "lineage_token_name": "CREATE INDEX lineage_token_name IF NOT EXISTS FOR (t:Token) ON (t.name)",
    # Relationship property indexes keep the retracted-edge count off a full scan.
    "lineage_rel_input_to_retracted": (
        "CREATE INDEX lineage_rel_input_to_retracted IF NOT EXISTS FOR ()-[r:INPUT_TO]-() ON (r.retracted_at)"
    ),
    "lineage_rel_produced_retracted": (
        "CREATE INDEX lineage_rel_produced_retracted IF NOT EXISTS FOR ()-[r:PRODUCED]-() ON (r.retracted_at)"
    ),
    "lineage_rel_executed_in_retracted": (
        "CREATE INDEX lineage_rel_executed_in_retracted IF NOT EXISTS FOR ()-[r:EXECUTED_IN]-() ON (r.retracted_at)"
    ),
    "lineage_rel_feeds_retracted": (
        "CREATE INDEX lineage_rel_feeds_retracted IF NOT EXISTS FOR ()-[r:FEEDS]-() ON (r.retracted_at)"
    ),
    "lineage_rel_deployed_as_retracted": (
        "CREATE INDEX lineage_rel_deployed_as_retracted IF NOT EXISTS FOR ()-[r:DEPLOYED_AS]-() ON (r.retracted_at)"
    ),
    "lineage_rel_parent_of_retracted": (
        "CREATE INDEX lineage_rel_parent_of_retracted IF NOT EXISTS FOR ()-[r:PARENT_OF]-() ON (r.retracted_at)"
    ),
}

SHOW_CONSTRAINTS = "SHOW CONSTRAINTS YIELD name RETURN name"
SHOW_INDEXES = "SHOW INDEXES YIELD name, state RETURN name, state"
AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"
INIT_SINGLETONS = (
    "MERGE (h:AuditHead {id: 'head'}) ON CREATE SET h.seq = 0, h.hash = $genesis "
    "MERGE (c:Counter {id: 'raw_events'}) ON CREATE SET c.seq = 0 "
    "MERGE (m:LineageMeta {id: 'schema'}) ON CREATE SET m.version = $version "
    "RETURN m.version AS version"
)
COUNT_SINGLETONS = (
    "OPTIONAL MATCH (h:AuditHead {id: 'head'}) OPTIONAL MATCH (c:Counter {id: 'raw_events'}) "
    "OPTIONAL MATCH (m:LineageMeta {id: 'schema'}) RETURN h IS NOT NULL AND c IS NOT NULL AND m IS NOT NULL AS ok"
)
HOME_DATABASE = "CALL db.info() YIELD name RETURN name"
SERVER_COMPONENTS = "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition"

# -- write transaction ---------------------------------------------------------------------------

#: First statement of every write transaction: an exclusive lock on the audit head until commit.
#: Writers from every process and replica queue here, so the audit chain cannot fork.
LOCK_HEAD = "MERGE (h:AuditHead {id: 'head'}) ON CREATE SET h.seq = 0, h.hash = $genesis SET h.lock = $nonce"
READ_HEAD = "MATCH (h:AuditHead {id: 'head'}) RETURN h.seq AS seq, h.hash AS hash, h.at AS at"
TX_NODES = (
    "UNWIND $ids AS id MATCH (n:Node {id: id}) "
    "RETURN collect([n.id, n.kind, n.properties, n.event_time, n.retracted_at]) AS rows"
)
#: Both ends are looked up by id, then the edge between them, in a subquery with both ends bound (so
#: Expand(Into), which walks the smaller side). A plan that expanded from one end instead, as one made
#: on a nearly empty database may, would walk every edge of a hub for every key.
TX_EDGES = (
    "UNWIND $keys AS k MATCH (s:Node {id: k[0]}) USING INDEX s:Node(id) "
    "MATCH (t:Node {id: k[2]}) USING INDEX t:Node(id) "
    f"CALL (s, t, k) {{ MATCH (s)-[r:{EDGE_TYPES}]->(t) WHERE type(r) = k[1] RETURN r }} "
    "RETURN collect([s.id, type(r), t.id, r.retracted_at]) AS rows"
)
TX_SUCCESSORS = (
    f"UNWIND $ids AS id MATCH (n:Node {{id: id}})-[r:{EDGE_TYPES}]->(m) WHERE r.retracted_at IS NULL "
    "RETURN collect([id, m.id]) AS rows"
)
TX_ANNOTATIONS = (
    "UNWIND $ids AS id MATCH (a:Annotation {node_id: id, key: $key}) WHERE a.retracted_at IS NULL "
    "RETURN collect([a.node_id, a.value]) AS rows"
)
TX_REMOVED_ANNOTATIONS = (
    "UNWIND $ids AS id MATCH (a:Annotation {node_id: id, key: $key}) WHERE a.retracted_at IS NOT NULL "
    "RETURN collect([a.node_id, a.value]) AS rows"
)


def _by_label(template: str, members: Iterable[NodeKind] | Iterable[EdgeType]) -> dict[Any, LiteralString]:
    """One statement per member of a closed enum, its value standing in for a label or type."""
    out: dict[Any, LiteralString] = {}
    for member in members:
        assert _NAME.match(member.value), member
        out[member] = template.replace("{label}", member.value)
    return out


_NAME = re.compile(r"^[A-Za-z][A-Za-z_]*$")

#: Nodes of one kind; recording time and principal are the same for the whole batch.
INSERT_NODES: dict[NodeKind, LiteralString] = _by_label(
    "UNWIND $rows AS r CREATE (n:Node:{label}) SET n = r, n.recorded_at = $at, n.recorded_by = $by", NodeKind
)
#: Nodes exactly as exported, every field in the row (lineage migrate).
IMPORT_NODES: dict[NodeKind, LiteralString] = _by_label("UNWIND $rows AS r CREATE (n:Node:{label}) SET n = r", NodeKind)
INSERT_REVISIONS = "UNWIND $rows AS r CREATE (v:Revision) SET v = r"
#: Before a node's first change, keep its original state as a revision (``revised`` marks it).
KEEP_FIRST_REVISION = (
    "UNWIND $ids AS id MATCH (n:Node {id: id}) WHERE n.revised IS NULL "
    "CREATE (v:Revision {node_id: n.id, recorded_at: n.recorded_at, recorded_by: n.recorded_by, "
    "properties: n.properties, event_time: n.event_time}) SET n.revised = true"
)
UPDATE_NODES = (
    "UNWIND $rows AS r MATCH (n:Node {id: r.id}) SET n.properties = r.properties, n.event_time = r.event_time"
)
#: Edges of one type: rows are [from, to, properties or null, event time or null] (a null is not stored).
INSERT_EDGES: dict[EdgeType, LiteralString] = _by_label(
    "UNWIND $rows AS r MATCH (s:Node {id: r[0]}) MATCH (t:Node {id: r[1]}) "
    "CREATE (s)-[:{label} {recorded_at: $at, recorded_by: $by, properties: r[2], event_time: r[3]}]->(t)",
    EdgeType,
)
#: Edges exactly as exported (lineage migrate): rows are {src, dst, props}.
IMPORT_EDGES: dict[EdgeType, LiteralString] = _by_label(
    "UNWIND $rows AS r MATCH (s:Node {id: r.src}) MATCH (t:Node {id: r.dst}) "
    "CREATE (s)-[e:{label}]->(t) SET e = r.props",
    EdgeType,
)
INSERT_ANNOTATIONS = "UNWIND $rows AS r CREATE (a:Annotation) SET a = r"
#: The current owners and tags of nodes, kept on the node (``owners_now``, ``tags_now``; absent when
#: none) so that reads of the present need no annotation lookups; history stays in :Annotation.
REFRESH_CURRENT_ANNOTATIONS = (
    "UNWIND $ids AS id MATCH (n:Node {id: id}) "
    "WITH n, COLLECT { MATCH (a:Annotation {node_id: n.id, key: 'owner'}) WHERE a.retracted_at IS NULL "
    "RETURN a.value } AS owners, "
    "COLLECT { MATCH (a:Annotation {node_id: n.id, key: 'tag'}) WHERE a.retracted_at IS NULL RETURN a.value } AS tags "
    "SET n.owners_now = CASE WHEN size(owners) = 0 THEN null ELSE owners END, "
    "n.tags_now = CASE WHEN size(tags) = 0 THEN null ELSE tags END"
)
#: The current owners and tags of nodes created in this transaction, known without a lookup.
SET_CURRENT_ANNOTATIONS = (
    "UNWIND $rows AS r MATCH (n:Node {id: r.id}) SET n.owners_now = r.owners, n.tags_now = r.tags"
)
RETRACT_ANNOTATIONS = (
    "UNWIND $rows AS r MATCH (a:Annotation {node_id: r.node_id, key: r.key}) "
    "WHERE a.value = r.value AND a.retracted_at IS NULL SET a.retracted_at = $at, a.retracted_by = $by"
)
RETRACT_NODE = (
    "MATCH (n:Node {id: $id}) SET n.retracted_at = $at, n.retracted_by = $by, n.retract_reason = $reason "
    f"WITH n OPTIONAL MATCH (n)-[r:{EDGE_TYPES}]-() WHERE r.retracted_at IS NULL "
    "SET r.retracted_at = $at, r.retracted_by = $by, r.retract_reason = $edge_reason "
    "RETURN collect([startNode(r).id, type(r), endNode(r).id]) AS edges"
)
RETRACT_EDGE = (
    "MATCH (s:Node {id: $src}) USING INDEX s:Node(id) MATCH (t:Node {id: $dst}) USING INDEX t:Node(id) "
    f"MATCH (s)-[r:{EDGE_TYPES}]->(t) "
    "WHERE type(r) = $type SET r.retracted_at = $at, r.retracted_by = $by, r.retract_reason = $reason"
)
APPEND_AUDIT = (
    "CREATE (a:AuditEntry) SET a = $entry "
    "WITH a MATCH (h:AuditHead {id: 'head'}) SET h.seq = a.seq, h.hash = a.hash, h.at = a.at"
)
#: Sets (or, with a null ``$seq``, removes) the audit entry number a node was created by.
STAMP_CREATED = "UNWIND $ids AS id MATCH (n:Node {id: id}) SET n.created_seq = $seq"
INSERT_AUDIT_SUBJECTS = "UNWIND $subjects AS subject CREATE (s:AuditSubject {subject: subject, seq: $seq})"
PUT_TOKEN = "CREATE (t:Token) SET t = $token"
REVOKE_TOKEN = "MATCH (t:Token {name: $name}) WHERE t.revoked_at IS NULL SET t.revoked_at = $at RETURN count(t) AS n"
APPEND_RAW_EVENT = (
    "MERGE (c:Counter {id: 'raw_events'}) ON CREATE SET c.seq = 0 SET c.seq = c.seq + 1 "
    "CREATE (e:RawEvent {seq: c.seq, received_at: $at, source: $source, payload: $payload}) "
    "RETURN e.seq AS seq"
)
APPEND_RAW_EVENTS = (
    "MERGE (c:Counter {id: 'raw_events'}) ON CREATE SET c.seq = 0 SET c.seq = c.seq + size($payloads) "
    "WITH c.seq - size($payloads) AS base UNWIND range(0, size($payloads) - 1) AS i "
    "CREATE (e:RawEvent {seq: base + i + 1, received_at: $at, source: $source, payload: $payloads[i]}) "
    "RETURN e.seq AS seq ORDER BY seq"
)

# -- reads ---------------------------------------------------------------------------------------

_VISIBLE: LiteralString = "(n.recorded_at <= $t AND (n.retracted_at IS NULL OR n.retracted_at > $t))"
_R_VISIBLE: LiteralString = "(r.recorded_at <= $t AND (r.retracted_at IS NULL OR r.retracted_at > $t))"
_A_VISIBLE: LiteralString = "(a.recorded_at <= $t AND (a.retracted_at IS NULL OR a.retracted_at > $t))"

#: Node reads return one record holding every row (one Bolt message, not one per node).
NODES_VISIBLE = f"UNWIND $ids AS id MATCH (n:Node {{id: id}}) WHERE {_VISIBLE} RETURN collect(n {{.*}}) AS nodes"
NODE_ANY = "MATCH (n:Node {id: $id}) RETURN collect(n {.*}) AS nodes"
#: One node visible at ``$t`` together with the audit head: the head a walk from it catches up to.
NODE_WITH_HEAD = (
    "OPTIONAL MATCH (h:AuditHead {id: 'head'}) WITH coalesce(h.seq, 0) AS seq "
    f"OPTIONAL MATCH (n:Node {{id: $id}}) WHERE {_VISIBLE} RETURN seq, collect(n {{.*}}) AS nodes"
)
NODE_ANNOTATIONS = (
    "UNWIND $ids AS id MATCH (a:Annotation {node_id: id}) "
    f"WHERE a.key IN ['owner', 'tag'] AND {_A_VISIBLE} RETURN collect([a.node_id, a.key, a.value]) AS rows"
)
REVISIONS_AS_OF = (
    "UNWIND $ids AS id CALL (id) { MATCH (v:Revision {node_id: id}) WHERE v.recorded_at <= $t "
    "RETURN v ORDER BY v.recorded_at DESC LIMIT 1 } "
    "RETURN collect([id, v.properties, v.event_time]) AS rows"
)
#: One level of a breadth-first walk: every visible edge leaving (or entering) the frontier, as three
#: parallel lists in a single record (one Bolt message instead of one per edge).
EXPAND: dict[tuple[str, bool], LiteralString] = {
    ("downstream", False): (
        f"UNWIND $ids AS id MATCH (:Node {{id: id}})-[r:{EDGE_TYPES}]->(m) WHERE {_R_VISIBLE} "
        "RETURN collect(id) AS origins, collect(type(r)) AS types, collect(m.id) AS reached"
    ),
    ("upstream", False): (
        f"UNWIND $ids AS id MATCH (:Node {{id: id}})<-[r:{EDGE_TYPES}]-(m) WHERE {_R_VISIBLE} "
        "RETURN collect(id) AS origins, collect(type(r)) AS types, collect(m.id) AS reached"
    ),
    # Now (no as-of time): every stored edge was recorded before now, only retraction matters.
    ("downstream", True): (
        f"UNWIND $ids AS id MATCH (:Node {{id: id}})-[r:{EDGE_TYPES}]->(m) WHERE r.retracted_at IS NULL "
        "RETURN collect(id) AS origins, collect(type(r)) AS types, collect(m.id) AS reached"
    ),
    ("upstream", True): (
        f"UNWIND $ids AS id MATCH (:Node {{id: id}})<-[r:{EDGE_TYPES}]-(m) WHERE r.retracted_at IS NULL "
        "RETURN collect(id) AS origins, collect(type(r)) AS types, collect(m.id) AS reached"
    ),
}
_EDGE_MAP: LiteralString = (
    "{properties: coalesce(r.properties, '{}'), event_time: r.event_time, recorded_at: r.recorded_at, "
    "recorded_by: r.recorded_by, retracted_at: r.retracted_at, retracted_by: r.retracted_by, "
    "retract_reason: r.retract_reason}"
)
NODE_EDGES = (
    f"MATCH (n:Node {{id: $id}})-[r:{EDGE_TYPES}]->(m) WHERE $all OR {_R_VISIBLE} "
    f"RETURN n.id AS src, type(r) AS type, m.id AS dst, {_EDGE_MAP} AS e "
    "UNION ALL "
    f"MATCH (n:Node {{id: $id}})<-[r:{EDGE_TYPES}]-(m) WHERE $all OR {_R_VISIBLE} "
    f"RETURN m.id AS src, type(r) AS type, n.id AS dst, {_EDGE_MAP} AS e"
)
EDGE_ANY = (
    "MATCH (s:Node {id: $src}) USING INDEX s:Node(id) MATCH (t:Node {id: $dst}) USING INDEX t:Node(id) "
    f"MATCH (s)-[r:{EDGE_TYPES}]->(t) "
    f"WHERE type(r) = $type RETURN s.id AS src, type(r) AS type, t.id AS dst, {_EDGE_MAP} AS e"
)
REVISIONS = (
    "MATCH (v:Revision {node_id: $id}) WHERE v.recorded_at IS NOT NULL "  # lets the composite index serve
    "RETURN v.recorded_at AS recorded_at, v.recorded_by AS recorded_by, v.properties AS properties, "
    "v.event_time AS event_time ORDER BY v.recorded_at"
)
ANNOTATIONS = (
    "MATCH (a:Annotation {node_id: $id}) WHERE a.key IS NOT NULL AND ($all OR a.retracted_at IS NULL) "
    "RETURN a {.*} AS a ORDER BY a.recorded_at, a.key, a.value"
)
#: Search by name or id, ignoring case: ASCII case for an ASCII needle (``name_lc``, ``id_lc``), full
#: Unicode lowercase otherwise (``name_fold``/``id_fold``, stored only where they differ), as SQLite.
SEARCH: dict[bool, LiteralString] = {
    True: (
        "MATCH (n:Node) WITH n, coalesce(n.name_lc, n.name) AS name, coalesce(n.id_lc, n.id) AS id "
        f"WHERE (name CONTAINS $needle OR id CONTAINS $needle) "
        f"AND {_VISIBLE} AND (size($kinds) = 0 OR n.kind IN $kinds) "
        "WITH n ORDER BY name <> $needle, NOT name CONTAINS $needle, size(n.id), n.id LIMIT $limit "
        "RETURN collect(n {.*}) AS nodes"
    ),
    False: (
        "MATCH (n:Node) WITH n, coalesce(n.name_fold, n.name_lc, n.name) AS name, "
        "coalesce(n.id_fold, n.id_lc, n.id) AS id "
        f"WHERE (name CONTAINS $needle OR id CONTAINS $needle) "
        f"AND {_VISIBLE} AND (size($kinds) = 0 OR n.kind IN $kinds) "
        "WITH n ORDER BY name <> $needle, NOT name CONTAINS $needle, size(n.id), n.id LIMIT $limit "
        "RETURN collect(n {.*}) AS nodes"
    ),
}
LIST_NODES = (
    f"MATCH (n:Node) WHERE n.id > $after AND {_VISIBLE} "
    "AND (size($kinds) = 0 OR n.kind IN $kinds) AND ($ns IS NULL OR n.namespace = $ns) "
    "AND coalesce(n.name_lc, n.name) STARTS WITH $prefix "
    "AND ($since IS NULL OR n.recorded_at >= $since) AND ($until IS NULL OR n.recorded_at <= $until) "
    f"AND ($tag IS NULL OR EXISTS {{ MATCH (a:Annotation {{node_id: n.id, key: 'tag'}}) "
    f"WHERE a.value = $tag AND {_A_VISIBLE} }}) "
    f"AND ($owner IS NULL OR EXISTS {{ MATCH (a:Annotation {{node_id: n.id, key: 'owner'}}) "
    f"WHERE a.value = $owner AND {_A_VISIBLE} }}) "
    "WITH n ORDER BY n.id LIMIT $limit RETURN collect(n {.*}) AS nodes"
)
NODES_WITH_ANNOTATION = (
    f"MATCH (a:Annotation {{key: $key, value: $value}}) WHERE {_A_VISIBLE} "
    f"MATCH (n:Node {{id: a.node_id}}) WHERE {_VISIBLE} RETURN DISTINCT n.id AS id ORDER BY id"
)
_AUDIT_WHERE: LiteralString = (
    "a.seq > $after AND ($p IS NULL OR a.principal = $p) AND ($action IS NULL OR a.action = $action) "
    "AND ($since IS NULL OR a.at >= $since) AND ($until IS NULL OR a.at <= $until)"
)
AUDIT_ENTRIES = f"MATCH (a:AuditEntry) WHERE {_AUDIT_WHERE} RETURN a {{.*}} AS a ORDER BY a.seq LIMIT $limit"
#: The entries naming a subject: its :AuditSubject rows, and the entry that created it when it is a
#: node registered since ``created_seq`` was kept (that entry has no :AuditSubject row for it).
AUDIT_ENTRIES_BY_SUBJECT = (
    "CALL () { MATCH (s:AuditSubject {subject: $subject}) WHERE s.seq > $after RETURN s.seq AS seq "
    "UNION MATCH (n:Node {id: $subject}) WHERE n.created_seq > $after RETURN n.created_seq AS seq } "
    f"MATCH (a:AuditEntry {{seq: seq}}) WHERE {_AUDIT_WHERE} "
    "RETURN a {.*} AS a ORDER BY a.seq LIMIT $limit"
)
AUDIT_PAGE = "MATCH (a:AuditEntry) WHERE a.seq > $after RETURN a {.*} AS a ORDER BY a.seq LIMIT $limit"
#: Sizes of the next entries (payload and subject text), to cut a page of entries by bytes; a
#: compressed payload counts as its text (``payload_len``).
AUDIT_SIZES = (
    "MATCH (a:AuditEntry) WHERE a.seq > $after WITH a ORDER BY a.seq LIMIT $limit "
    "RETURN collect([a.seq, coalesce(size(a.payload), a.payload_len, 0) + size(a.subjects)]) AS sizes"
)
AUDIT_RANGE = "MATCH (a:AuditEntry) WHERE $after < a.seq <= $last RETURN a {.*} AS a ORDER BY a.seq"
COUNTS = (
    "CALL () { MATCH (n:Node) RETURN count(n) AS nodes } "
    f"CALL () {{ MATCH ()-[r:{EDGE_TYPES}]->() RETURN count(r) AS edges }} "
    "CALL () { MATCH (a:AuditEntry) RETURN count(a) AS audit_entries } "
    "CALL () { MATCH (e:RawEvent) RETURN count(e) AS raw_events } "
    "CALL () { MATCH (n:Node) WHERE n.retracted_at IS NOT NULL RETURN count(n) AS retracted_nodes } "
    "CALL () { "
    "  CALL () { MATCH ()-[r:INPUT_TO]->() WHERE r.retracted_at IS NOT NULL RETURN count(r) AS c "
    "    UNION ALL MATCH ()-[r:PRODUCED]->() WHERE r.retracted_at IS NOT NULL RETURN count(r) AS c "
    "    UNION ALL MATCH ()-[r:EXECUTED_IN]->() WHERE r.retracted_at IS NOT NULL RETURN count(r) AS c "
    "    UNION ALL MATCH ()-[r:FEEDS]->() WHERE r.retracted_at IS NOT NULL RETURN count(r) AS c "
    "    UNION ALL MATCH ()-[r:DEPLOYED_AS]->() WHERE r.retracted_at IS NOT NULL RETURN count(r) AS c "
    "    UNION ALL MATCH ()-[r:PARENT_OF]->() WHERE r.retracted_at IS NOT NULL RETURN count(r) AS c } "
    "  RETURN sum(c) AS retracted_edges } "
    "RETURN nodes, edges, audit_entries, raw_events, retracted_nodes, retracted_edges"
)
TOKENS = "MATCH (t:Token) RETURN t {.*} AS t ORDER BY t.created_at"
FIND_TOKEN = "MATCH (t:Token {secret_hash: $hash}) RETURN t {.*} AS t"
RAW_EVENTS_PAGE = "MATCH (e:RawEvent) WHERE e.seq > $after RETURN e {.*} AS e ORDER BY e.seq LIMIT $limit"

# -- maintenance ---------------------------------------------------------------------------------

#: Deletes every node and relationship, in batches (auto-commit: CALL IN TRANSACTIONS needs it).
WIPE = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF $batch ROWS"

# -- bulk copy (lineage migrate) -----------------------------------------------------------------

EXPORT_NODES = "MATCH (n:Node) WHERE n.id > $after WITH n ORDER BY n.id LIMIT $limit RETURN collect(n {.*}) AS nodes"
EXPORT_REVISIONS = (
    "UNWIND $ids AS id MATCH (v:Revision {node_id: id}) WHERE v.recorded_at IS NOT NULL "
    "RETURN v {.*} AS v ORDER BY v.node_id, v.recorded_at"
)
EXPORT_EDGES = (
    "MATCH (s:Node) WHERE s.id > $after WITH s ORDER BY s.id LIMIT $limit "
    f"OPTIONAL MATCH (s)-[r:{EDGE_TYPES}]->(t) "
    f"RETURN s.id AS src, type(r) AS type, t.id AS dst, {_EDGE_MAP} AS e"
)
EXPORT_ANNOTATIONS = (
    "UNWIND $ids AS id MATCH (a:Annotation {node_id: id}) WHERE a.key IS NOT NULL RETURN a {.*} AS a "
    "ORDER BY a.node_id, a.key, a.value, a.recorded_at"
)
IMPORT_NODE_STATES = (
    "UNWIND $ids AS id MATCH (n:Node {id: id}) RETURN n.id AS id, n.recorded_at AS recorded_at, "
    "n.recorded_by AS recorded_by, n.properties AS properties, n.event_time AS event_time, "
    "n.revised AS revised"
)
MARK_REVISED = "UNWIND $ids AS id MATCH (n:Node {id: id}) SET n.revised = true"
IMPORT_ANNOTATIONS = INSERT_ANNOTATIONS
IMPORT_TOKENS = "UNWIND $rows AS r CREATE (t:Token) SET t = r"
IMPORT_RAW_EVENTS = (
    "UNWIND $rows AS r CREATE (e:RawEvent) SET e = r WITH max(r.seq) AS top "
    "MERGE (c:Counter {id: 'raw_events'}) ON CREATE SET c.seq = 0 "
    "SET c.seq = CASE WHEN top > c.seq THEN top ELSE c.seq END"
)
IMPORT_AUDIT = (
    "UNWIND $rows AS r CREATE (a:AuditEntry) SET a = r WITH max(r.seq) AS top "
    "MATCH (last:AuditEntry {seq: top}) MERGE (h:AuditHead {id: 'head'}) "
    "SET h.seq = last.seq, h.hash = last.hash, h.at = last.at"
)
IMPORT_AUDIT_SUBJECTS = "UNWIND $rows AS r CREATE (s:AuditSubject {subject: r[0], seq: r[1]})"

#: Owners of many nodes: now from the node (``owners_now``), as of a time from the annotations.
OWNERS_NOW = (
    "UNWIND $ids AS id MATCH (n:Node {id: id}) WHERE n.owners_now IS NOT NULL "
    "RETURN collect([n.id, n.owners_now]) AS rows"
)
OWNERS_AS_OF = (
    f"UNWIND $ids AS id MATCH (a:Annotation {{node_id: id}}) WHERE a.key = 'owner' AND {_A_VISIBLE} "
    "RETURN collect([a.node_id, [a.value]]) AS rows"
)
