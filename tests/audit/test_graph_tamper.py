"""`lineage audit verify` proves the stored graph, not only the log.

Each case edits the store the way someone with direct database access would: raw SQL on the
SQLite file (append-only triggers dropped first) or raw Cypher on Neo4j. One case per table or
label and per kind of change (each column edited, row deleted, row inserted, rows swapped,
retraction undone, index row removed). Every one must make verification fail, exit 1 from the CLI,
and name the place: the table or label, the key where it can, expected and found digests.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage.cli import build_app
from lineage.governance.access import create_token, revoke_token
from lineage.model import EdgeType, parse_batch
from lineage.model.ids import edge_id
from lineage.storage import GraphStore, open_store

ORDERS = "dataset:w/orders@1"
CLEAN = "dataset:w/orders_clean@1"
RUN = "run:ci/train@r1"
MODEL = "model:m/churn@3"
GONE = "dataset:w/typo@1"


def ds(name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "Dataset", "namespace": "w", "name": name, "version": "1", **extra}


def populate(st: GraphStore) -> None:
    """A history touching every kind of row: nodes, revisions, edges, annotations, retractions,
    tokens, raw events and the subject index."""
    st.register(
        parse_batch(
            {
                "nodes": [
                    ds("orders", properties={"rows": 5}, event_time="2026-01-01T00:00:00Z"),
                    ds("orders_clean"),
                    {"kind": "Run", "namespace": "ci", "name": "train", "version": "r1"},
                    {"kind": "Model", "namespace": "m", "name": "churn", "version": "3", "owners": ["team-ml"]},
                ],
                "edges": [
                    {"from": ORDERS, "type": "FEEDS", "to": CLEAN, "properties": {"sql": "select 1"}},
                    {"from": CLEAN, "type": "INPUT_TO", "to": RUN},
                    {"from": RUN, "type": "PRODUCED", "to": MODEL},
                ],
            }
        ),
        principal="ci:bob",
    )
    st.register(parse_batch({"nodes": [ds("orders", properties={"rows": 6})]}), principal="user:cy")
    st.annotate(ORDERS, "owner", add=["team-data"], principal="user:ann")
    st.annotate(ORDERS, "tag", add=["pii", "gdpr"], principal="user:ann")
    st.annotate(ORDERS, "tag", remove=["gdpr"], principal="user:ann")
    st.annotate(MODEL, "approval", add=["risk-board"], principal="user:dee")
    st.register(
        parse_batch({"nodes": [ds("typo")], "edges": [{"from": GONE, "type": "FEEDS", "to": CLEAN}]}),
        principal="user:ann",
    )
    st.retract(GONE, reason="typo", principal="user:ann")
    st.retract(edge_id(CLEAN, EdgeType.INPUT_TO, RUN), reason="wrong input", principal="user:ann")
    create_token(st, "ci-writer", "writer", principal="admin")
    create_token(st, "old", "reader", principal="admin")
    revoke_token(st, "old", principal="admin")
    st.append_raw_events("openlineage", [{"eventType": "START", "ü": [1, 2.5]}, {"eventType": "COMPLETE"}])


# -- SQLite ----------------------------------------------------------------------------------


def _at(table: str, where: str, column: str = "recorded_at") -> str:
    return f"(SELECT {column} FROM {table} WHERE {where})"


def _number(node: str) -> str:
    """The node's number, which keys its edges."""
    return f"(SELECT n FROM nodes WHERE id = '{node}')"


ORDERS_N, CLEAN_N, RUN_N, MODEL_N, GONE_N = map(_number, (ORDERS, CLEAN, RUN, MODEL, GONE))
ORDERS_AT = _at("nodes", "id = '" + ORDERS + "'")  # when orders was first registered
ORDERS_EDGE_AT = _at("edges", "src_n = " + ORDERS_N)
GONE_EDGE_AT = _at("edges", "src_n = " + GONE_N)


#: (case, SQL, table or label the first problem names, key it names or None)
SQL_CASES: list[tuple[str, str, str, str | None]] = [
    ("node kind", f"UPDATE nodes SET kind = 'Feature' WHERE id = '{CLEAN}'", "nodes", None),
    ("node namespace", f"UPDATE nodes SET namespace = 'x' WHERE id = '{CLEAN}'", "nodes", None),
    ("node name", f"UPDATE nodes SET name = 'x' WHERE id = '{CLEAN}'", "nodes", None),
    ("node version", f"UPDATE nodes SET version = '2' WHERE id = '{CLEAN}'", "nodes", None),
    ("node recorded_by", f"UPDATE nodes SET recorded_by = 'user:mallory' WHERE id = '{CLEAN}'", "nodes", None),
    ("node recorded_at", f"UPDATE nodes SET recorded_at = recorded_at + 1 WHERE id = '{CLEAN}'", "nodes", None),
    ("node properties", f"UPDATE nodes SET properties = '{{\"rows\":7}}' WHERE id = '{ORDERS}'", "nodes", ORDERS),
    ("node event_time", f"UPDATE nodes SET event_time = 1 WHERE id = '{ORDERS}'", "nodes", ORDERS),
    ("node deleted", f"DELETE FROM nodes WHERE id = '{MODEL}'", "nodes", None),
    # Edges name their nodes by number: renumbering a node moves its edges to another node, or to none.
    ("node renumbered", f"UPDATE nodes SET n = 1000 WHERE id = '{CLEAN}'", "edges", None),
    (
        "node numbers swapped",
        f"CREATE TEMP TABLE was AS SELECT id, n FROM nodes WHERE id IN ('{ORDERS}', '{CLEAN}'); "
        f"UPDATE nodes SET n = -n WHERE id IN ('{ORDERS}', '{CLEAN}'); "
        "UPDATE nodes SET n = (SELECT n FROM was WHERE was.id <> nodes.id) WHERE n < 0;",
        "edges",
        None,
    ),
    (
        "node inserted into an entry",
        "INSERT INTO nodes (id, kind, namespace, name, version, properties, recorded_at, recorded_by) "
        f"SELECT 'dataset:w/fake@1', 'Dataset', 'w', 'fake', '1', '{{}}', recorded_at, recorded_by FROM nodes "
        f"WHERE id = '{CLEAN}'",
        "nodes",
        None,
    ),
    (
        "node inserted with no entry",
        "INSERT INTO nodes (id, kind, namespace, name, version, properties, recorded_at, recorded_by) "
        "VALUES ('dataset:w/fake@1', 'Dataset', 'w', 'fake', '1', '{}', 12345, 'user:mallory')",
        "nodes",
        "dataset:w/fake@1",
    ),
    (
        "node retraction undone",
        f"UPDATE nodes SET retracted_at = NULL, retracted_by = NULL, retract_reason = NULL WHERE id = '{GONE}'",
        "nodes",
        None,
    ),
    ("node retraction reason", f"UPDATE nodes SET retract_reason = 'x' WHERE id = '{GONE}'", "nodes", GONE),
    ("node retracted_by", f"UPDATE nodes SET retracted_by = 'x' WHERE id = '{GONE}'", "nodes", GONE),
    (
        "node retracted outside the log",
        f"UPDATE nodes SET retracted_at = 99, retracted_by = 'x', retract_reason = 'y' WHERE id = '{MODEL}'",
        "nodes",
        MODEL,
    ),
    (
        "revision properties",
        f"UPDATE node_revisions SET properties = '{{\"rows\":50}}' WHERE node_id = '{ORDERS}' AND recorded_at = "
        f"{ORDERS_AT}",
        "revisions",
        None,
    ),
    (
        "revision recorded_by",
        f"UPDATE node_revisions SET recorded_by = 'x' WHERE node_id = '{CLEAN}'",
        "revisions",
        None,
    ),
    ("revision event_time", f"UPDATE node_revisions SET event_time = 7 WHERE node_id = '{CLEAN}'", "revisions", None),
    (
        "revision deleted",
        f"DELETE FROM node_revisions WHERE node_id = '{ORDERS}' AND recorded_at = {ORDERS_AT}",
        "revisions",
        None,
    ),
    (
        "revision inserted",
        "INSERT INTO node_revisions (node_id, recorded_at, recorded_by, properties) "
        f"SELECT '{CLEAN}', recorded_at, recorded_by, '{{\"evil\":1}}' FROM node_revisions "
        f"WHERE node_id = '{ORDERS}' "
        "ORDER BY recorded_at DESC LIMIT 1",
        "revisions",
        None,
    ),
    ("edge endpoint", f"UPDATE edges SET dst_n = {MODEL_N}, dst_kind = 'Model' WHERE src_n = {ORDERS_N}", "edges",
     None),
    ("edge source", f"UPDATE edges SET src_n = {CLEAN_N} WHERE dst_n = {MODEL_N}", "edges", None),
    ("edge type", f"UPDATE edges SET type = 'INPUT_TO' WHERE src_n = {ORDERS_N}", "edges", None),
    ("edge kinds", f"UPDATE edges SET src_kind = 'Feature' WHERE src_n = {ORDERS_N}", "edges", None),
    ("edge properties", f"UPDATE edges SET properties = '{{}}' WHERE src_n = {ORDERS_N}", "edges", None),
    ("edge event_time", f"UPDATE edges SET event_time = 5 WHERE src_n = {ORDERS_N}", "edges", None),
    ("edge recorded_by", f"UPDATE edges SET recorded_by = 'x' WHERE src_n = {ORDERS_N}", "edges", None),
    ("edge deleted", f"DELETE FROM edges WHERE dst_n = {MODEL_N}", "edges", None),
    (
        "edge inserted",
        "INSERT INTO edges (src_n, type, dst_n, src_kind, dst_kind, properties, recorded_at, recorded_by) "
        f"SELECT src_n, 'FEEDS', {MODEL_N}, 'Dataset', 'Model', '{{}}', recorded_at, recorded_by FROM edges "
        f"WHERE src_n = {ORDERS_N}",
        "edges",
        None,
    ),
    (
        "edge retraction undone",
        f"UPDATE edges SET retracted_at = NULL, retracted_by = NULL, retract_reason = NULL WHERE dst_n = {RUN_N}",
        "edges",
        None,
    ),
    (
        "edge retraction reason",
        f"UPDATE edges SET retract_reason = 'x' WHERE src_n = {GONE_N}",
        "edges",
        None,
    ),
    (
        "edges swapped between entries",
        f"UPDATE edges SET recorded_at = CASE WHEN src_n = {ORDERS_N} THEN {GONE_EDGE_AT} "
        f"ELSE {ORDERS_EDGE_AT} END WHERE src_n IN (SELECT n FROM nodes WHERE id IN ('{ORDERS}', '{GONE}'))",
        "edges",
        None,
    ),
    ("annotation value", "UPDATE annotations SET value = 'team-mallory' WHERE key = 'owner' AND value = 'team-data'",
     "annotations", None),
    ("annotation key", "UPDATE annotations SET key = 'owner' WHERE value = 'risk-board'", "annotations", None),
    ("annotation recorded_by", "UPDATE annotations SET recorded_by = 'x' WHERE value = 'pii'", "annotations", None),
    ("annotation deleted", "DELETE FROM annotations WHERE value = 'risk-board'", "annotations", None),
    (
        "annotation inserted",
        "INSERT INTO annotations (node_id, key, value, recorded_at, recorded_by) "
        "SELECT node_id, 'approval', 'forged', recorded_at, recorded_by FROM annotations WHERE value = 'risk-board'",
        "annotations",
        None,
    ),
    (
        "annotation retraction undone",
        "UPDATE annotations SET retracted_at = NULL, retracted_by = NULL WHERE value = 'gdpr'",
        "annotations",
        None,
    ),
    ("annotation retracted_by", "UPDATE annotations SET retracted_by = 'x' WHERE value = 'gdpr'", "annotations", None),
    ("token role", "UPDATE tokens SET role = 'admin' WHERE name = 'ci-writer'", "tokens", None),
    ("token name", "UPDATE tokens SET name = 'root' WHERE name = 'ci-writer'", "tokens", None),
    ("token namespaces", "UPDATE tokens SET namespaces = '[\"w\"]' WHERE name = 'ci-writer'", "tokens", None),
    ("token secret", "UPDATE tokens SET secret_hash = 'f00d' WHERE name = 'ci-writer'", "tokens", None),
    ("token created_by", "UPDATE tokens SET created_by = 'x' WHERE name = 'ci-writer'", "tokens", None),
    ("token revocation undone", "UPDATE tokens SET revoked_at = NULL WHERE name = 'old'", "tokens", None),
    ("token deleted", "DELETE FROM tokens WHERE name = 'ci-writer'", "tokens", None),
    (
        "token inserted",
        "INSERT INTO tokens (name, role, namespaces, secret_hash, created_at, created_by) "
        "SELECT 'backdoor', 'admin', '[]', 'beef', created_at, created_by FROM tokens WHERE name = 'ci-writer'",
        "tokens",
        None,
    ),
    ("raw event payload", "UPDATE raw_events SET payload = '{\"eventType\": \"FAIL\"}' WHERE seq = 2",
     "raw_events", "2"),
    ("raw event source", "UPDATE raw_events SET source = 'x' WHERE seq = 1", "raw_events", "1"),
    ("raw event renumbered", "UPDATE raw_events SET seq = 9 WHERE seq = 2", "raw_events", "9"),
    ("raw event deleted", "DELETE FROM raw_events WHERE seq = 1", "raw_events", None),
    (
        "raw events reordered",
        "UPDATE raw_events SET payload = CASE seq WHEN 1 THEN (SELECT payload FROM raw_events WHERE seq = 2) "
        "ELSE (SELECT payload FROM raw_events WHERE seq = 1) END",
        "raw_events",
        None,
    ),
    (
        "raw event inserted",
        "INSERT INTO raw_events (received_at, source, payload) VALUES (5, 'openlineage', '{}')",
        "raw_events",
        "3",
    ),
    ("subject index row removed", f"DELETE FROM audit_subjects WHERE subject = '{GONE}'", "audit_subjects", None),
    (
        "subject index row added",
        f"INSERT INTO audit_subjects (subject, seq) VALUES ('{MODEL}', 2)",
        "audit_subjects",
        None,
    ),
    ("subject index row moved", f"UPDATE audit_subjects SET seq = 1 WHERE subject = '{GONE}' AND seq = 8",
     "audit_subjects", None),
]


@pytest.fixture(scope="module")
def pristine_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("graph") / "pristine.db"
    with open_store(f"sqlite:///{path}") as st:
        populate(st)
        result = st.verify_store()
        assert result.ok, result.problems
    return path


@pytest.fixture
def db(pristine_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "lineage.db"
    shutil.copy(pristine_db, path)
    return path


def attack(path: Path, sql: str) -> None:
    """Raw write access to the file, append-only triggers removed; the edit must change something."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        if sql.endswith(";"):  # a script of several statements
            conn.executescript(sql)
            assert conn.total_changes > 0, f"the edit changed nothing: {sql}"
        else:
            cur = conn.execute(sql)
            assert cur.rowcount > 0, f"the edit changed nothing: {sql}"
    finally:
        conn.close()


def cli(*args: str) -> Any:
    return CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "250"})


def test_untouched_store_verifies(db: Path) -> None:
    result = cli("audit", "verify", "--store", f"sqlite:///{db}", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["checked"] == "log+graph" and report["rows"] > 20
    assert report["unproven_entries"] == 0


@pytest.mark.parametrize(("case", "sql", "table", "key"), SQL_CASES, ids=[c[0] for c in SQL_CASES])
def test_sql_edit_is_found(db: Path, case: str, sql: str, table: str, key: str | None) -> None:
    attack(db, sql)
    assert cli("audit", "verify", "--store", f"sqlite:///{db}", "--log-only").exit_code == 0  # the chain alone
    result = cli("audit", "verify", "--store", f"sqlite:///{db}", "--json")
    assert result.exit_code == 1, result.output
    first = json.loads(result.output)["first"]
    assert first["table"] == table, first
    if key is not None:
        assert first["key"] == key, first
    assert first["expected"] != first["found"] or first["expected"] is None
    text = cli("audit", "verify", "--store", f"sqlite:///{db}")
    assert text.exit_code == 1 and table in text.output


def test_text_report_names_entry_table_key_and_digests(db: Path) -> None:
    attack(db, f"UPDATE edges SET dst_n = {MODEL_N}, dst_kind = 'Model' WHERE src_n = {ORDERS_N}")
    result = cli("audit", "verify", "--store", f"sqlite:///{db}")
    assert result.exit_code == 1
    assert "entry 1 " in result.output and "edges" in result.output
    assert f"{ORDERS} -FEEDS-> {MODEL}" in result.output
    assert "expected digest" in result.output and "found digest" in result.output
