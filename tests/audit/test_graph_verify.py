"""Store verification beyond single SQL edits: raw Cypher on Neo4j, copies between backends,
concurrent writers, random histories with a random edit, anchoring the head outside the store."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from test_graph_tamper import CLEAN, GONE, MODEL, ORDERS, RUN, cli, populate
from typer.testing import CliRunner

from lineage.cli import build_app
from lineage.model import parse_batch
from lineage.storage import GraphStore, open_store
from lineage.storage.migrate import copy_store

# -- Neo4j: raw Cypher -------------------------------------------------------------------------

#: (case, Cypher, label or table the first problem names)
CYPHER_CASES: list[tuple[str, str, str]] = [
    ("node name", f"MATCH (n:Node {{id: '{CLEAN}'}}) SET n.name = 'x'", "nodes"),
    ("node recorded_by", f"MATCH (n:Node {{id: '{MODEL}'}}) SET n.recorded_by = 'user:mallory'", "nodes"),
    ("node current properties", f"MATCH (n:Node {{id: '{ORDERS}'}}) SET n.properties = '{{\"rows\":7}}'", "nodes"),
    ("unchanged node's properties", f"MATCH (n:Node {{id: '{CLEAN}'}}) SET n.properties = '{{\"x\":1}}'", "revisions"),
    ("node label", f"MATCH (n:Node {{id: '{CLEAN}'}}) REMOVE n:Dataset SET n:Model", "nodes"),
    ("node search key", f"MATCH (n:Node {{id: '{CLEAN}'}}) SET n.name_lc = 'something else'", "nodes"),
    ("node deleted", f"MATCH (n:Node {{id: '{MODEL}'}}) DETACH DELETE n", "nodes"),
    (
        "node inserted",
        f"MATCH (c:Node {{id: '{CLEAN}'}}) CREATE (:Node:Dataset {{id: 'dataset:w/fake@1', kind: 'Dataset', "
        "namespace: 'w', name: 'fake', version: '1', properties: '{}', recorded_at: c.recorded_at, "
        "recorded_by: c.recorded_by})",
        "nodes",
    ),
    (
        "node retraction undone",
        f"MATCH (n:Node {{id: '{GONE}'}}) REMOVE n.retracted_at, n.retracted_by, n.retract_reason",
        "nodes",
    ),
    (
        "revision edited",
        f"MATCH (v:Revision {{node_id: '{ORDERS}'}}) WITH v ORDER BY v.recorded_at LIMIT 1 "
        "SET v.properties = '{\"rows\":50}'",
        "revisions",
    ),
    (
        "revision deleted",
        f"MATCH (v:Revision {{node_id: '{ORDERS}'}}) WITH v ORDER BY v.recorded_at LIMIT 1 DELETE v",
        "revisions",
    ),
    (
        "edge endpoint",
        f"MATCH (s:Node {{id: '{ORDERS}'}})-[r:FEEDS]->() MATCH (m:Node {{id: '{MODEL}'}}) "
        "CREATE (s)-[r2:FEEDS]->(m) SET r2 = properties(r) DELETE r",
        "edges",
    ),
    (
        "edge type",
        f"MATCH (s:Node {{id: '{ORDERS}'}})-[r:FEEDS]->(t) CREATE (s)-[r2:INPUT_TO]->(t) SET r2 = properties(r) "
        "DELETE r",
        "edges",
    ),
    ("edge property", f"MATCH (:Node {{id: '{ORDERS}'}})-[r:FEEDS]->() SET r.properties = '{{}}'", "edges"),
    ("edge deleted", f"MATCH (:Node {{id: '{RUN}'}})-[r:PRODUCED]->() DELETE r", "edges"),
    (
        "edge inserted",
        f"MATCH (s:Node {{id: '{ORDERS}'}})-[r:FEEDS]->() MATCH (m:Node {{id: '{MODEL}'}}) "
        "CREATE (s)-[r2:FEEDS]->(m) SET r2 = properties(r)",
        "edges",
    ),
    (
        "edge retraction undone",
        f"MATCH ()-[r:INPUT_TO]->(:Node {{id: '{RUN}'}}) REMOVE r.retracted_at, r.retracted_by, r.retract_reason",
        "edges",
    ),
    ("annotation value", "MATCH (a:Annotation {key: 'owner', value: 'team-data'}) SET a.value = 'x'", "annotations"),
    ("annotation retraction undone", "MATCH (a:Annotation {value: 'gdpr'}) REMOVE a.retracted_at", "annotations"),
    ("current owners copy", f"MATCH (n:Node {{id: '{ORDERS}'}}) SET n.owners_now = ['team-mallory']", "nodes"),
    ("current tags copy", f"MATCH (n:Node {{id: '{ORDERS}'}}) REMOVE n.tags_now", "nodes"),
    ("token role", "MATCH (t:Token {name: 'ci-writer'}) SET t.role = 'admin'", "tokens"),
    ("token revocation undone", "MATCH (t:Token {name: 'old'}) REMOVE t.revoked_at", "tokens"),
    ("raw event payload", "MATCH (e:RawEvent {seq: 2}) SET e.payload = '{}'", "raw_events"),
    ("raw event deleted", "MATCH (e:RawEvent {seq: 1}) DELETE e", "raw_events"),
    ("subject index row removed", f"MATCH (s:AuditSubject {{subject: '{GONE}'}}) DELETE s", "audit_subjects"),
    ("creating entry of a node changed", f"MATCH (n:Node {{id: '{CLEAN}'}}) SET n.created_seq = 2", "audit_subjects"),
    ("creating entry of a node removed", f"MATCH (n:Node {{id: '{MODEL}'}}) REMOVE n.created_seq", "audit_subjects"),
    ("audit head", "MATCH (h:AuditHead) SET h.hash = 'f00d'", "audit head"),
]


@pytest.mark.neo4j
@pytest.mark.parametrize(("case", "cypher", "table"), CYPHER_CASES, ids=[c[0] for c in CYPHER_CASES])
def test_cypher_edit_is_found(store: GraphStore, case: str, cypher: str, table: str) -> None:
    if store.url.startswith("sqlite"):
        pytest.skip("Cypher cases are for Neo4j")
    populate(store)
    assert store.verify_store().ok
    driver = store._driver  # type: ignore[attr-defined]
    with driver.session(database=store.database) as session:  # type: ignore[attr-defined]
        summary = session.run(cypher).consume()
    changed = summary.counters
    assert changed.contains_updates or changed.properties_set or changed.labels_added, case
    if table != "audit head":  # the head pointer is part of the chain check
        assert store.verify_store(log_only=True).ok  # the chain alone cannot see it
    result = store.verify_store()
    assert not result.ok
    assert result.first is not None and result.first.table == table, result.problems


# -- copies between backends ------------------------------------------------------------------


@pytest.mark.neo4j
def test_verifies_after_migrate_both_ways(store: GraphStore, tmp_path: Path) -> None:
    if store.url.startswith("sqlite"):
        pytest.skip("the round trip goes through Neo4j")
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as source:
        populate(source)
        head = source.verify_store()
        assert head.ok
        copy_store(source, store, batch_size=3)
    there = store.verify_store()
    assert there.ok, there.problems
    assert (there.entries, there.head, there.rows) == (head.entries, head.head, head.rows)
    with open_store(f"sqlite:///{tmp_path / 'b.db'}") as back:
        copy_store(store, back, batch_size=2)
        again = back.verify_store()
        assert again.ok, again.problems
        assert (again.entries, again.head, again.rows) == (head.entries, head.head, head.rows)


def test_verifies_after_sqlite_copy_and_later_writes(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as source, open_store(f"sqlite:///{tmp_path / 'b.db'}") as copy:
        populate(source)
        copy_store(source, copy, batch_size=2)
        copy.register(parse_batch({"nodes": [{"kind": "Dataset", "namespace": "w", "name": "later", "version": "1"}]}),
                      principal="user:ann")
        assert copy.verify_store().ok


# -- concurrent writers -------------------------------------------------------------------------


def test_concurrent_writers_and_verifiers(tmp_path: Path) -> None:
    """Writers in several connections while verification runs: every snapshot verifies."""
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    with open_store(url) as st0:
        populate(st0)
    errors: list[BaseException] = []
    results: list[bool] = []

    def writer(n: int) -> None:
        try:
            with open_store(url) as s:
                for i in range(8):
                    node = {"kind": "Dataset", "namespace": "w", "name": f"t{n}_{i}", "version": "1"}
                    s.register(parse_batch({"nodes": [node], "edges": [
                        {"from": ORDERS, "type": "FEEDS", "to": f"dataset:w/t{n}_{i}@1"}]}), principal=f"w{n}")
                    s.annotate(f"dataset:w/t{n}_{i}@1", "tag", add=["x"], principal=f"w{n}")
                    s.append_raw_event("openlineage", {"n": n, "i": i})
        except BaseException as exc:
            errors.append(exc)

    def verifier() -> None:
        try:
            with open_store(url) as s:
                for _ in range(4):
                    results.append(s.verify_store().ok)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)] + [threading.Thread(target=verifier)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results and all(results)
    with open_store(url) as s:
        final = s.verify_store()
        assert final.ok and final.rows > 100


# -- random histories, one random edit ------------------------------------------------------------

_OPS = st.lists(
    st.tuples(st.sampled_from(["node", "edge", "update", "owner", "untag", "retract", "token", "raw"]),
              st.integers(0, 5), st.integers(0, 5)),
    min_size=1,
    max_size=12,
)


def _apply(s: GraphStore, ops: list[tuple[str, int, int]]) -> None:
    def nid(i: int) -> str:
        return f"dataset:p/n{i}@1"

    def ensure(i: int) -> None:
        s.register(parse_batch({"nodes": [{"kind": "Dataset", "namespace": "p", "name": f"n{i}", "version": "1"}]}),
                   principal="user:p")

    from lineage.errors import LineageError

    for op, a, b in ops:
        try:
            if op == "node":
                ensure(a)
            elif op == "edge" and a < b:
                ensure(a)
                ensure(b)
                s.register(parse_batch({"nodes": [], "edges": [{"from": nid(a), "type": "FEEDS", "to": nid(b)}]}),
                           principal="user:q")
            elif op == "update":
                ensure(a)
                node = {"kind": "Dataset", "namespace": "p", "name": f"n{a}", "version": "1", "properties": {"v": b}}
                s.register(parse_batch({"nodes": [node]}), principal="user:r")
            elif op == "owner":
                ensure(a)
                s.annotate(nid(a), "owner", add=[f"o{b}"], principal="user:s")
            elif op == "untag":
                ensure(a)
                s.annotate(nid(a), "tag", add=["t1", "t2"], principal="user:s")
                s.annotate(nid(a), "tag", remove=["t1"], principal="user:s")
            elif op == "retract":
                s.retract(nid(a), reason=f"r{b}", principal="user:t")
            elif op == "token":
                from lineage.governance.access import create_token, revoke_token

                create_token(s, f"tok{a}", "reader", principal="admin")
                if b % 2:
                    revoke_token(s, f"tok{a}", principal="admin")
            elif op == "raw":
                s.append_raw_events("openlineage", [{"k": a, "ü": b}] * (1 + b % 3))
        except LineageError:
            pass  # refused writes (retracted, conflicts, cycles) change nothing


_TABLES = ("nodes", "node_revisions", "edges", "annotations", "tokens", "raw_events", "audit_subjects")


def _candidates(conn: sqlite3.Connection) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (table, column, row) a single edit could touch."""
    out = []
    for table in _TABLES:
        cur = conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            columns = [c for c in names if c != "n" or _has_edges(conn, row)]
            out.extend((table, col, row) for col in [*columns, "<delete>", "<copy>"])
    return out


def _has_edges(conn: sqlite3.Connection, node: dict[str, Any]) -> bool:
    """A node's number is only how its edges name it: renumbering a node without edges changes no fact."""
    return conn.execute("SELECT 1 FROM edges WHERE ? IN (src_n, dst_n)", (node["n"],)).fetchone() is not None


def _changed(value: Any) -> Any:
    if value is None:
        return 1
    if isinstance(value, int):
        return value + 1
    return value + (" " if value.startswith(("{", "[")) else "x")  # JSON stays valid, its text changes


def _edit(conn: sqlite3.Connection, table: str, column: str, row: dict[str, Any]) -> bool:
    where = " AND ".join(f"{k} IS ?" for k in row)
    params = list(row.values())
    try:
        if column == "<delete>":
            cur = conn.execute(f"DELETE FROM {table} WHERE {where}", params)
        elif column == "<copy>":
            # A copied node takes a number of its own, as a new row would.
            copy = {k: v for k, v in row.items() if k != "n" or table != "nodes"}
            first = next(k for k in copy if k != "seq" or table != "raw_events")
            copy |= {first: _changed(copy[first])}
            cols = ", ".join(copy)
            cur = conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(copy))})",
                               list(copy.values()))
        else:
            cur = conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}",
                               [_changed(row[column]), *params])
    except sqlite3.IntegrityError:
        return False
    return cur.rowcount > 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_OPS, data=st.data())
def test_random_history_then_any_single_edit_is_found(tmp_path_factory: pytest.TempPathFactory, ops: Any,
                                                       data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("prop") / "lineage.db"
    with open_store(f"sqlite:///{path}") as s:
        _apply(s, ops)
        assert s.verify_store().ok
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        candidates = _candidates(conn)
        if not candidates:
            return
        table, column, row = data.draw(st.sampled_from(candidates), label="edit")
        if not _edit(conn, table, column, row):
            return
    finally:
        conn.close()
    with open_store(f"sqlite:///{path}") as s:
        result = s.verify_store()
    assert not result.ok, (table, column, row)


# -- anchoring the head outside the store ---------------------------------------------------------


def test_head_json_and_signed_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "lineage.db"
    url = f"sqlite:///{db}"
    with open_store(url) as s:
        populate(s)
    head = json.loads(cli("audit", "head", "--store", url, "--json").output)
    assert set(head) == {"seq", "hash", "at"} and head["seq"] > 10
    key = tmp_path / "ci.key"
    assert cli("audit", "keygen", "--out", str(key)).exit_code == 0
    pub = tmp_path / "ci.key.pub"
    checkpoint = tmp_path / "head.json"
    made = cli("audit", "checkpoint", "--key", str(key), "--out", str(checkpoint), "--store", url)
    assert made.exit_code == 0, made.output
    signed = json.loads(checkpoint.read_text())
    assert signed["seq"] == head["seq"] and signed["hash"] == head["hash"]

    def verify_with(path: Path = checkpoint, key: Path = pub) -> Any:
        return CliRunner().invoke(build_app(), ["audit", "verify", "--store", url, "--checkpoint", str(path),
                                                "--pubkey", str(key), "--json"])

    assert verify_with().exit_code == 0
    assert cli("audit", "verify", "--store", url, "--checkpoint", str(checkpoint)).exit_code == 2  # no key to trust
    assert verify_with(key=key).exit_code == 2  # a private key is not a public key file
    with open_store(url) as s:  # later writes extend the checkpointed chain
        s.annotate(ORDERS, "tag", add=["later"], principal="user:ann")
    assert verify_with().exit_code == 0
    # A checkpoint edited after signing is refused.
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(signed | {"hash": "0" * 64}))
    assert verify_with(forged).exit_code == 1
    # Another key does not vouch for it.
    other = tmp_path / "other.key"
    cli("audit", "keygen", "--out", str(other))
    assert verify_with(key=tmp_path / "other.key.pub").exit_code == 1
    # The whole chain rewritten from entry 3 on (consistently) no longer extends the checkpoint.
    _rewrite_chain_from(db, 3)
    with open_store(url) as s:
        assert s.verify_store(log_only=True).ok  # consistent on its own
    result = verify_with()
    assert result.exit_code == 1
    assert json.loads(result.output)["first"]["seq"] == signed["seq"]


def _rewrite_chain_from(db: Path, first: int) -> None:
    """What someone with write access could do: change a principal, then re-seal every later entry."""
    from lineage.audit import seal
    from lineage.storage.sqlite import from_us

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        rows = conn.execute("SELECT * FROM audit WHERE seq >= ? ORDER BY seq", (first,)).fetchall()
        names = [d[0] for d in conn.execute("SELECT * FROM audit LIMIT 1").description]
        prev = conn.execute("SELECT hash FROM audit WHERE seq = ?", (first - 1,)).fetchone()[0]
        for values in rows:
            r = dict(zip(names, values, strict=True))
            entry = seal(seq=r["seq"], at=from_us(r["at"]), principal="user:mallory" if r["seq"] == first  # type: ignore[arg-type]
                         else r["principal"], source=r["source"], action=r["action"],
                         subjects=json.loads(r["subjects"]), payload=json.loads(r["payload"]), prev_hash=prev,
                         writes=json.loads(r["writes"]) if r["writes"] else None)
            conn.execute("UPDATE audit SET principal = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                         (entry.principal, entry.prev_hash, entry.hash, entry.seq))
            prev = entry.hash
    finally:
        conn.close()


def test_store_written_before_row_digests_verifies_from_then_on(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries recorded before stores kept row digests are reported unproven, not altered; later ones are proven."""
    from lineage.audit.facts import Writes

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with monkeypatch.context() as patch, open_store(url) as s:
        patch.setattr(Writes, "record", lambda self: None)
        populate(s)
    with open_store(url) as s:
        old = s.verify_store()
        assert old.ok and old.unproven_entries == old.entries
        s.annotate(ORDERS, "tag", add=["new"], principal="user:ann")
        new = s.verify_store()
        assert new.ok and new.unproven_entries == old.entries and new.entries == old.entries + 1
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.execute("UPDATE annotations SET value = 'forged' WHERE value = 'new'")
    conn.close()
    with open_store(url) as s:
        assert not s.verify_store().ok


@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63), st.text()), max_size=8))
def test_fact_encoding_is_the_documented_json(fields: list[Any]) -> None:
    from lineage.audit import facts

    expected = json.dumps(["edge", *fields], ensure_ascii=False, separators=(",", ":")).encode()
    assert facts.encode("edge", fields) == expected


#: Bookkeeping the graph does not depend on: the writers' lock and clock hint, counters, schema marks.
_NOT_GRAPH = {("AuditHead", "lock"), ("AuditHead", "at"), ("AuditHead", "id")}
_SKIP_LABELS = {"Counter", "LineageMeta"}


def _changed_value(value: Any) -> Any:
    if isinstance(value, list):
        return [*value, "x"]
    if isinstance(value, bool):
        return not value
    if isinstance(value, str) and value.startswith(("{", "[")):
        # JSON text: change what it says (a whitespace-only edit leaves the recorded facts as they were)
        parsed = json.loads(value)
        changed = [*parsed, "x"] if isinstance(parsed, list) else {**parsed, "x": "x"}
        return json.dumps(changed, separators=(",", ":"))
    return _changed(value)


@pytest.mark.neo4j
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_OPS, data=st.data())
def test_random_history_then_any_single_cypher_edit_is_found(store_factory: Any, backend: str, ops: Any,
                                                             data: st.DataObject) -> None:
    if backend != "neo4j":
        pytest.skip("Cypher edits are for Neo4j")
    import neo4j

    s = store_factory()
    _apply(s, ops)
    assert s.verify_store().ok
    with s._driver.session(database=s.database) as session:
        found = session.run(
            "MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props, false AS rel "
            "UNION ALL MATCH ()-[r]->() RETURN elementId(r) AS id, [type(r)] AS labels, properties(r) AS props, "
            "true AS rel"
        ).data()
        candidates: list[tuple[dict[str, Any], str]] = []
        for item in found:
            labels = set(item["labels"])
            if labels & _SKIP_LABELS:
                continue
            head = "AuditHead" in labels
            candidates.extend((item, k) for k in sorted(item["props"]) if not (head and ("AuditHead", k) in _NOT_GRAPH))
            if not head:
                candidates.append((item, "<delete>"))
        if not candidates:
            return
        item, key = data.draw(st.sampled_from(candidates), label="edit")
        edits = {
            (False, True): "MATCH (n) WHERE elementId(n) = $id DETACH DELETE n",
            (True, True): "MATCH ()-[r]->() WHERE elementId(r) = $id DELETE r",
            (False, False): "MATCH (n) WHERE elementId(n) = $id SET n[$key] = $value",
            (True, False): "MATCH ()-[r]->() WHERE elementId(r) = $id SET r[$key] = $value",
        }
        value = None if key == "<delete>" else _changed_value(item["props"][key])
        try:
            session.run(edits[(item["rel"], key == "<delete>")], id=item["id"], key=key, value=value).consume()
        except neo4j.exceptions.ConstraintError:
            reject()  # the database's own uniqueness constraint refused this edit: nothing to detect
    result = s.verify_store()
    assert not result.ok, (item, key)


def test_version_1_file_is_upgraded_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store file from before ``audit.writes`` existed opens, gains the column and verifies."""
    from lineage.audit.facts import Writes

    path = tmp_path / "v1.db"
    with monkeypatch.context() as patch, open_store(f"sqlite:///{path}") as s:
        patch.setattr(Writes, "record", lambda self: None)
        populate(s)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ALTER TABLE audit DROP COLUMN writes")
    conn.execute("UPDATE meta SET value = 'v1' WHERE key = 'schema_ddl'")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    with open_store(f"sqlite:///{path}") as s:
        s.annotate(ORDERS, "tag", add=["after-upgrade"], principal="user:ann")
        result = s.verify_store()
        assert result.ok and result.unproven_entries == result.entries - 1


def _ol_event(
    job: str, run: int, event_type: str, minute: int, inputs: list[str], outputs: list[str]
) -> dict[str, Any]:
    def ds(name: str) -> dict[str, Any]:
        return {"namespace": "warehouse", "name": name, "facets": {}}

    return {
        "eventType": event_type,
        "eventTime": f"2026-11-03T10:{minute:02d}:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "run": {"runId": f"00000000-0000-4000-8000-{run:012d}", "facets": {}},
        "job": {"namespace": "pipelines", "name": job, "facets": {}},
        "inputs": [ds(n) for n in inputs],
        "outputs": [ds(n) for n in outputs],
    }


def test_openlineage_ingest_verifies(store: GraphStore) -> None:
    """Events landed raw and mapped (grouped where the store allows it, late events re-linking earlier
    lineage) leave a store that verifies; editing a landed event is found."""
    from lineage.ingest.openlineage import OpenLineageIngester

    ingester = OpenLineageIngester(store, principal="token:airflow")
    events = [
        _ol_event("load", 1, "START", 0, ["raw"], ["orders"]),
        _ol_event("load", 1, "COMPLETE", 5, ["raw"], ["orders"]),
        _ol_event("train", 2, "COMPLETE", 20, ["orders"], ["model_input"]),
        _ol_event("load", 3, "COMPLETE", 10, ["raw"], ["orders"]),  # late: a new version before train read it
    ]
    ingester.ingest_many(events[:2])
    for event in events[2:]:
        ingester.ingest(event)
    result = store.verify_store()
    assert result.ok, result.problems
    assert result.rows > 10 and store.counts()["raw_events"] == 4
