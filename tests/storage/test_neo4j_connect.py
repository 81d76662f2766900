"""Connecting to Neo4j: URLs, credentials, unreachable servers, driver errors, schema set-up.

The unreachable-server tests need no server at all (nothing listens on port 1), so they run
everywhere; the schema tests need the real one.
"""

from __future__ import annotations

import json
import subprocess
import sys

import neo4j.exceptions as nex
import pytest
from typer.testing import CliRunner

from lineage.cli import build_app
from lineage.errors import BackendUnavailableError, ConflictError, ValidationError
from lineage.storage import GraphStore, open_store
from lineage.storage.neo4j import Neo4jStore, map_exceptions, redact, split_url

DEAD = "bolt://127.0.0.1:1"
SECRET = "s3cret-Pa55word"


def test_url_credentials_are_split_and_redacted() -> None:
    assert split_url("neo4j+s://alice:p%40ss@db.example.com:7687?policy=eu") == (
        "neo4j+s://db.example.com:7687?policy=eu",
        "alice",
        "p@ss",
    )
    assert split_url("bolt://127.0.0.1:7687") == ("bolt://127.0.0.1:7687", None, None)
    assert redact("neo4j://alice:p%40ss@db:7687") == "neo4j://alice:***@db:7687"
    assert redact("bolt://db:7687") == "bolt://db:7687"


def test_unreachable_server_names_the_url_never_the_password() -> None:
    with pytest.raises(BackendUnavailableError) as caught:
        open_store(DEAD, user="neo4j", password=SECRET, connection_timeout=3)
    assert DEAD in caught.value.message
    assert SECRET not in str(caught.value)
    assert caught.value.exit_code == 3

    with pytest.raises(BackendUnavailableError) as caught:
        open_store(f"bolt://neo4j:{SECRET}@127.0.0.1:1", connection_timeout=3)
    assert "bolt://neo4j:***@127.0.0.1:1" in caught.value.message
    assert SECRET not in str(caught.value)


def test_cli_exits_3_when_neo4j_is_unreachable() -> None:
    env = {"LINEAGE_NEO4J_PASSWORD": SECRET, "LINEAGE_STORE": DEAD, "COLUMNS": "200"}
    for args in (["search", "orders"], ["db", "info"], ["db", "init"], ["audit", "verify"]):
        result = CliRunner().invoke(build_app(), args, env=env)
        assert result.exit_code == 3, (args, result.output)
        assert DEAD in result.output
        assert SECRET not in result.output


def test_cli_exit_code_3_in_a_real_process() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from lineage.cli import main; main()",
            "impact",
            "dataset:w/x@1",
            "--store",
            f"neo4j://u:{SECRET}@127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "LINEAGE_NEO4J_PASSWORD": SECRET},
    )
    assert proc.returncode == 3, proc.stderr
    assert "neo4j://u:***@127.0.0.1:1" in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout


def test_unknown_scheme_and_bad_url_are_bad_input() -> None:
    with pytest.raises(ValidationError):
        open_store("mongodb://localhost")
    with pytest.raises(ValidationError):
        open_store("bolt://[::1", connection_timeout=1)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (nex.ServiceUnavailable("Couldn't connect to db:7687"), BackendUnavailableError),
        (nex.SessionExpired("gone"), BackendUnavailableError),
        (nex.AuthError(f"The client is unauthorized due to authentication failure. {SECRET}"), BackendUnavailableError),
        (nex.TransientError("deadlock"), BackendUnavailableError),
        (nex.ConstraintError("already exists"), ConflictError),
        (nex.ConfigurationError("bad"), ValidationError),
    ],
)
def test_driver_errors_are_translated_in_one_place(raised: Exception, expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught, map_exceptions("bolt://db:7687", [SECRET]):
        raise raised
    assert "bolt://db:7687" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_programming_errors_are_not_hidden() -> None:
    with pytest.raises(nex.CypherSyntaxError), map_exceptions("bolt://db:7687"):
        raise nex.CypherSyntaxError("Invalid input")


# -- with a real server ----------------------------------------------------------------------------


@pytest.mark.neo4j
@pytest.mark.parametrize("backend", ["neo4j"])
def test_schema_setup_is_idempotent_and_drops_obsolete_indexes(store: GraphStore) -> None:
    assert isinstance(store, Neo4jStore)
    again = store.ensure_schema()
    assert again.created == [] and again.dropped == []
    assert sorted(again.existing) == sorted(store.schema_names())
    with store._driver.session(database=store.database) as session:
        session.run("CREATE INDEX lineage_obsolete_probe IF NOT EXISTS FOR (n:Node) ON (n.probe)").consume()
        session.run("CREATE INDEX other_app_index IF NOT EXISTS FOR (n:Other) ON (n.x)").consume()
    try:
        change = store.ensure_schema()
        assert change.dropped == ["lineage_obsolete_probe"]
        with store._driver.session(database=store.database) as session:
            names = {r["name"] for r in session.run("SHOW INDEXES YIELD name")}
        assert "other_app_index" in names  # not ours: left alone
        assert "lineage_obsolete_probe" not in names
    finally:
        with store._driver.session(database=store.database) as session:
            session.run("DROP INDEX other_app_index IF EXISTS").consume()


@pytest.mark.neo4j
@pytest.mark.parametrize("backend", ["neo4j"])
def test_db_init_command_twice(store_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(build_app(), ["db", "init", "--store", store_url, "--format", "json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(build_app(), ["db", "init", "--store", store_url, "--format", "json"])
    assert second.exit_code == 0, second.output
    result = json.loads(second.output)
    assert result["created"] == [] and result["dropped"] == []
    assert "lineage_node_id" in result["existing"]
    info = runner.invoke(build_app(), ["db", "info", "--store", store_url, "--format", "json"])
    assert info.exit_code == 0, info.output
    assert json.loads(info.output)["backend"] == "neo4j"


@pytest.mark.neo4j
@pytest.mark.parametrize("backend", ["neo4j"])
def test_read_after_write_across_stores_and_sessions(store: GraphStore, store_url: str) -> None:
    from lineage.model import parse_batch

    other = open_store(store_url, database=getattr(store, "database", None))
    try:
        for i in range(20):
            store.register(
                parse_batch({"nodes": [{"kind": "Dataset", "namespace": "w", "name": f"n{i}", "version": "1"}]}),
                principal="p",
            )
            assert store.get_node(f"dataset:w/n{i}@1").name == f"n{i}"
            assert other.get_node(f"dataset:w/n{i}@1").name == f"n{i}"
    finally:
        other.close()


@pytest.mark.neo4j
@pytest.mark.parametrize("backend", ["neo4j"])
def test_transient_failure_is_retried_by_the_managed_transaction(store: GraphStore) -> None:
    """A transient error mid-write rolls the attempt back; the driver runs the unit again."""
    from lineage.model import parse_batch

    assert isinstance(store, Neo4jStore)
    batch = parse_batch({"nodes": [{"kind": "Dataset", "namespace": "w", "name": "retried", "version": "1"}]})
    attempts = 0

    def work() -> object:
        nonlocal attempts
        attempts += 1
        result = store.register(batch, principal="p")  # joins the unit's transaction
        if attempts == 1:
            raise nex.TransientError("simulated deadlock")
        return result

    store.transact(work)
    assert attempts == 2
    assert [e.seq for e in store.iter_audit()] == [1]  # the first attempt left nothing
    assert store.get_node("dataset:w/retried@1").recorded_by == "p"
    assert store.verify_audit().ok
