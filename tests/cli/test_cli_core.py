"""The `lineage` command, run as a real process: outputs, exit codes, store and principal selection.

Exit codes are the contract: 0 ok, 1 a check found a problem, 2 bad input or usage, 3 store
unavailable. Expected errors print one line, ``error [CODE]: message``, and never a traceback.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml

from lineage.demo import CORRUPTED, build_demo_batch
from lineage.storage import AuditFilter, open_store

CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]
CI_VARS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "CIRCLECI", "BUILDKITE")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without store, actor or CI settings that would change what is tested."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_") and k not in CI_VARS}
    env["COLUMNS"] = "300"  # rich wraps at 80 columns when not on a terminal; keep ids on one line
    env.update(extra)
    return env


def lineage(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env or clean_env(), cwd=cwd,
                          input=stdin, timeout=180)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def ok(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    proc = lineage(*args, **kw)
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc


def fails(code: int, *args: str, **kw: Any) -> str:
    proc = lineage(*args, **kw)
    assert proc.returncode == code, f"{args} exited {proc.returncode}, not {code}: {proc.stdout}\n{proc.stderr}"
    return proc.stderr + proc.stdout


def as_json(*args: str, **kw: Any) -> Any:
    return json.loads(ok(*args, "--format", "json", **kw).stdout)


# -- a small pipeline written as the README documents the batch format ----------------------------

ROOT = "dataset:warehouse/orders@v7"
SVC = "deployment:prod/churn-api"
ETL = "run:airflow/features.orders_30d@run-4411"
FEATURE = "feature:features/orders_30d@v3"
BATCH: dict[str, Any] = {
    "nodes": [
        {"kind": "Dataset", "namespace": "warehouse", "name": "orders", "version": "v7",
         "event_time": "2026-11-20T03:00:00Z", "owners": ["team-data-platform"],
         "properties": {"rows": 1200000, "location": "s3://acme/orders/v7"}},
        {"kind": "Run", "namespace": "airflow", "name": "features.orders_30d", "version": "run-4411",
         "properties": {"status": "COMPLETE"}},
        {"kind": "Feature", "namespace": "features", "name": "orders_30d", "version": "v3"},
        {"kind": "Run", "namespace": "ci", "name": "train.churn", "version": "t-1"},
        {"kind": "Model", "namespace": "ml", "name": "churn", "version": "3", "owners": ["team-churn"]},
        {"kind": "Deployment", "namespace": "prod", "name": "churn-api"},
    ],
    "edges": [
        {"from": ROOT, "type": "INPUT_TO", "to": ETL},
        {"from": ETL, "type": "PRODUCED", "to": FEATURE},
        {"from": FEATURE, "type": "INPUT_TO", "to": "run:ci/train.churn@t-1"},
        {"from": "run:ci/train.churn@t-1", "type": "PRODUCED", "to": "model:ml/churn@3"},
        {"from": "model:ml/churn@3", "type": "DEPLOYED_AS", "to": "deployment:prod/churn-api"},
    ],
}


def batch_graph() -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_edges_from((e["from"], e["to"], {"type": e["type"]}) for e in BATCH["edges"])
    return g


def kind_of(node_id: str) -> str:
    prefix = node_id.split(":", 1)[0]
    return {"codecommit": "CodeCommit"}.get(prefix, prefix.capitalize())


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def loaded(tmp_path: Path, url: str) -> str:
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(BATCH))
    ok("register", "--file", str(path), "--store", url, "--actor", "user:loader")
    return url


def check_listing(report: dict[str, Any], start: str, walk: nx.DiGraph, depth: int | None = None,
                  kinds: set[str] | None = None) -> None:
    expected = nx.single_source_shortest_path_length(walk, start, cutoff=depth)
    del expected[start]
    if kinds:
        expected = {n: d for n, d in expected.items() if kind_of(n) in kinds}
    assert {n["id"]: n["distance"] for n in report["nodes"]} == expected
    for n in report["nodes"]:
        assert n["kind"] == kind_of(n["id"])
        path = n["path"]
        assert path[0] == start and path[-1] == n["id"] and len(path) == n["distance"] + 1
        assert all(walk.has_edge(u, v) for u, v in itertools.pairwise(path))


# -- demo ------------------------------------------------------------------------------------------


def test_demo_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = ok("demo", "--store", url).stdout
    batch = build_demo_batch()
    g = nx.DiGraph((e.source, e.target) for e in batch.edges)
    specs = {n.id: n for n in batch.nodes}
    prod = [n for n in nx.descendants(g, CORRUPTED)
            if n.startswith("deployment:") and (specs[n].properties.get("environment") or specs[n].namespace) == "prod"]
    assert prod
    for dep in prod:
        assert dep in first
    assert CORRUPTED in first
    assert str(tmp_path / "demo.db") in first  # says where the store is
    assert "lineage impact" in first and "lineage audit verify" in first  # and what to try next

    second = ok("demo", "--store", url).stdout
    assert "nothing new" in second
    for dep in prod:
        assert dep in second
    with open_store(url) as st:
        assert st.counts()["audit_entries"] == 1
        assert st.counts()["nodes"] == len({n.id for n in batch.nodes})
        assert st.verify_audit().ok
    # the suggested commands work on that store
    assert {n["id"] for n in as_json("impact", CORRUPTED, "--kind", "Deployment", "--store", url)["nodes"]} == set(
        n for n in nx.descendants(g, CORRUPTED) if n.startswith("deployment:"))


# -- register --------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_register_file_and_repeat(tmp_path: Path, url: str, suffix: str) -> None:
    path = tmp_path / f"batch{suffix}"
    path.write_text(json.dumps(BATCH) if suffix == ".json" else yaml.safe_dump(BATCH))
    first = as_json("register", "--file", str(path), "--store", url)
    assert (first["nodes_created"], first["edges_created"], first["audit_seq"]) == (
        len(BATCH["nodes"]), len(BATCH["edges"]), 1)
    with open_store(url) as st:
        state = (st.counts(), st.verify_audit().head)
    again = ok("register", "--file", str(path), "--store", url).stdout
    assert "nothing new" in again
    with open_store(url) as st:
        assert (st.counts(), st.verify_audit().head) == state
        assert st.counts()["nodes"] == len(BATCH["nodes"]) and st.counts()["audit_entries"] == 1
        assert st.get_node(ROOT).owners == ("team-data-platform",)


def test_register_from_stdin(url: str) -> None:
    out = as_json("register", "--file", "-", "--store", url, stdin=yaml.safe_dump(BATCH))
    assert out["nodes_created"] == len(BATCH["nodes"])


def test_register_yaml_with_dates_in_properties(tmp_path: Path, url: str) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text("nodes:\n  - {kind: Dataset, namespace: w, name: d, version: '1', properties: {day: 2026-11-20}}\n")
    ok("register", "--file", str(path), "--store", url)
    assert "nothing new" in ok("register", "--file", str(path), "--store", url).stdout
    with open_store(url) as st:
        assert st.get_node("dataset:w/d@1").properties == {"day": "2026-11-20"}


@pytest.mark.parametrize(
    ("content", "suffix", "words"),
    [
        ({"nodes": [BATCH["nodes"][0], {"kind": "Dataset", "namespace": "w", "name": "x"}]}, ".json",
         "nodes[1].version"),
        ({"nodes": BATCH["nodes"], "edges": [*BATCH["edges"], {"from": SVC, "type": "FEEDS", "to": ROOT}]}, ".yaml",
         "edges[5]"),
        ('{"nodes": [', ".json", "malformed JSON at line 1"),
        ("nodes: [\n  - {kind: Dataset\n", ".yaml", "malformed YAML"),
        ("[1, 2]", ".json", "must be an object"),
    ],
)
def test_register_refusals(tmp_path: Path, url: str, content: Any, suffix: str, words: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    err = fails(2, "register", "--file", str(path), "--store", url)
    assert words in err and "error [BAD_INPUT]" in err
    with open_store(url) as st:
        assert st.counts()["nodes"] == 0 and st.counts()["audit_entries"] == 0


def test_register_missing_file(tmp_path: Path, url: str) -> None:
    assert "no such file" in fails(2, "register", "--file", str(tmp_path / "absent.json"), "--store", url)


# -- queries ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_impact_and_provenance_json(loaded: str) -> None:
    g = batch_graph()
    check_listing(as_json("impact", ROOT, "--store", loaded), ROOT, g)
    check_listing(as_json("provenance", SVC, "--store", loaded), SVC, g.reverse())
    check_listing(as_json("impact", ROOT, "--depth", "2", "--store", loaded), ROOT, g, depth=2)
    check_listing(as_json("provenance", SVC, "-d", "3", "--store", loaded), SVC, g.reverse(), depth=3)
    check_listing(as_json("impact", ROOT, "--kind", "Deployment,Model", "--store", loaded), ROOT, g,
                  kinds={"Deployment", "Model"})
    check_listing(as_json("provenance", SVC, "--kind", "run", "--kind", "dataset", "--store", loaded), SVC,
                  g.reverse(), kinds={"Run", "Dataset"})
    text = ok("impact", ROOT, "--store", loaded).stdout
    assert SVC in text and "team-churn" in text


def test_query_refusals(loaded: str) -> None:
    assert "error [NOT_FOUND]" in fails(2, "impact", "dataset:warehouse/nothing@1", "--store", loaded)
    assert "error [BAD_INPUT]" in fails(2, "provenance", "not-an-id", "--store", loaded)
    assert "error [LIMIT_EXCEEDED]" in fails(2, "impact", ROOT, "--depth", "0", "--store", loaded)
    assert "--as-of" in fails(2, "impact", ROOT, "--as-of", "last tuesday", "--store", loaded)


def test_show_and_search(loaded: str) -> None:
    shown = as_json("show", "run:ci/train.churn@t-1", "--store", loaded)
    assert shown["node"]["id"] == "run:ci/train.churn@t-1" and shown["node"]["kind"] == "Run"
    assert {e["from"] for e in shown["upstream"]} == {"feature:features/orders_30d@v3"}
    assert {e["to"] for e in shown["downstream"]} == {"model:ml/churn@3"}
    assert [a["principal"] for a in shown["audit"]] == ["user:loader"]
    text = ok("show", ROOT, "--store", loaded).stdout
    assert ROOT in text and "team-data-platform" in text and "1200000" in text and "s3://acme/orders/v7" in text

    found = as_json("search", "orders", "--store", loaded)
    assert {n["id"] for n in found} == {ROOT, FEATURE, ETL}
    assert [n["id"] for n in as_json("search", "orders", "--kind", "Feature", "--store", loaded)] == [
        "feature:features/orders_30d@v3"]
    assert SVC in ok("search", "churn-api", "--store", loaded).stdout


@pytest.mark.slow
def test_retract_then_as_of(loaded: str) -> None:
    before = as_json("impact", ROOT, "--store", loaded)
    run_id = "run:ci/train.churn@t-1"
    ok("retract", run_id, "--reason", "trained on the wrong split", "--store", loaded, "--actor", "user:fixer")
    after = as_json("impact", ROOT, "--store", loaded)
    assert {n["id"] for n in after["nodes"]} == {"run:airflow/features.orders_30d@run-4411",
                                                  "feature:features/orders_30d@v3"}
    with open_store(loaded) as st:
        retracted = st.get_node_any(run_id)
        assert retracted is not None and retracted.retracted_at is not None
        at = retracted.retracted_at
    earlier = (at - timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    then = as_json("impact", ROOT, "--as-of", earlier, "--store", loaded)
    assert {n["id"] for n in then["nodes"]} == {n["id"] for n in before["nodes"]}
    assert "error [NOT_FOUND]" in fails(2, "show", run_id, "--store", loaded)
    assert "error [CONFLICT]" in fails(2, "retract", run_id, "--reason", "again", "--store", loaded)
    # an edge, by its id
    edge = "dataset:warehouse/orders@v7 -INPUT_TO-> run:airflow/features.orders_30d@run-4411"
    ok("retract", edge, "--reason", "wrong input", "--store", loaded)
    assert as_json("impact", ROOT, "--store", loaded)["nodes"] == []
    assert "error [NOT_FOUND]" in fails(2, "retract", "dataset:warehouse/orders@v7 -FEEDS-> dataset:w/x@1",
                                        "--reason", "x", "--store", loaded)


# -- audit log -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_audit_log_filters(tmp_path: Path, loaded: str) -> None:
    second = tmp_path / "second.json"
    second.write_text(json.dumps({"nodes": [{"kind": "Dataset", "namespace": "w", "name": "other", "version": "1"}]}))
    ok("register", "--file", str(second), "--store", loaded, "--actor", "ci:bot")
    ok("retract", "dataset:w/other@1", "--reason", "mistake", "--store", loaded, "--actor", "ci:bot")
    with open_store(loaded) as st:
        entries = st.audit_entries(AuditFilter())
    assert [e.principal for e in entries] == ["user:loader", "ci:bot", "ci:bot"]

    def seqs(*args: str) -> list[int]:
        return [e["seq"] for e in as_json("audit", "log", *args, "--store", loaded)]

    assert seqs("--principal", "ci:bot") == [2, 3]
    assert seqs("--node", ROOT) == [1]
    assert seqs("--node", "dataset:w/other@1") == [2, 3]
    assert seqs("--action", "retract") == [3]
    iso = [e.at.isoformat() for e in entries]
    assert seqs("--since", iso[1]) == [2, 3]
    assert seqs("--until", iso[1]) == [1, 2]
    assert seqs("--after", "1", "--limit", "1") == [2]
    full = as_json("audit", "log", "--payload", "--store", loaded)
    assert [e["seq"] for e in full] == [1, 2, 3] and full[2]["payload"]["reason"] == "mistake"
    assert "--since" in fails(2, "audit", "log", "--since", "yesterday", "--store", loaded)


# -- store and principal selection -----------------------------------------------------------------


def test_store_and_actor_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    path = tmp_path / "b.json"
    path.write_text(json.dumps(BATCH))
    env = clean_env(LINEAGE_STORE=f"sqlite:///{db}", LINEAGE_ACTOR="user:from-env")
    ok("register", "--file", str(path), env=env)
    assert db.exists()
    entries = as_json("audit", "log", env=env)
    assert [(e["principal"], e["source"]) for e in entries] == [("user:from-env", "cli")]
    # --actor wins over LINEAGE_ACTOR; --store wins over LINEAGE_STORE
    other = tmp_path / "other.db"
    ok("register", "--file", str(path), "--store", f"sqlite:///{other}", "--actor", "user:flag", env=env)
    assert [e["principal"] for e in as_json("audit", "log", "--store", f"sqlite:///{other}", env=env)] == ["user:flag"]


def test_principal_from_ci_then_os_user(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(BATCH))
    url = f"sqlite:///{tmp_path / 'ci.db'}"
    gha = clean_env(GITHUB_ACTIONS="true", GITHUB_ACTOR="octocat", GITHUB_RUN_ID="4242",
                    GITHUB_REPOSITORY="acme/ml")
    ok("register", "--file", str(path), "--store", url, env=gha)
    ok("retract", ROOT, "--reason", "bad", "--store", url)  # no CI: the OS user
    entries = as_json("audit", "log", "--store", url)
    assert (entries[0]["principal"], entries[0]["source"]) == ("github-actions:octocat", "ci:github-actions#4242")
    assert entries[1]["principal"].startswith("user:") and entries[1]["source"] == "cli"


def test_default_store_is_a_file_in_the_working_directory(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(BATCH))
    ok("register", "--file", str(path), cwd=tmp_path)
    assert (tmp_path / "lineage.db").exists()
    assert {n["id"] for n in as_json("impact", ROOT, cwd=tmp_path)["nodes"]} == nx.descendants(batch_graph(), ROOT)


def test_store_unavailable_exits_3(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    err = fails(3, "impact", ROOT, "--store", missing)
    assert "error [BACKEND_UNAVAILABLE]" in err and "x.db" in err
    batch = tmp_path / "b.json"
    batch.write_text(json.dumps(BATCH))
    err = fails(3, "register", "--file", str(batch), "--store", missing)  # a write may create a file, not a folder
    assert "error [BACKEND_UNAVAILABLE]" in err and "does not exist" in err
    # a read on a store file that is not there does not create an empty one to answer from
    typo = tmp_path / "typo.db"
    assert "no store file" in fails(3, "audit", "verify", "--store", f"sqlite:///{typo}")
    assert not typo.exists()
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a database" * 100)
    assert "BACKEND_UNAVAILABLE" in fails(3, "search", "x", "--store", f"sqlite:///{not_a_db}")


@pytest.mark.skipif(importlib.util.find_spec("lineage.storage.neo4j") is None, reason="no Neo4j backend yet")
def test_unreachable_neo4j_exits_3() -> None:
    assert "BACKEND_UNAVAILABLE" in fails(3, "search", "x", "--store", "neo4j://127.0.0.1:1")


def test_unknown_store_scheme_is_bad_input() -> None:
    assert "error [BAD_INPUT]" in fails(2, "search", "x", "--store", "postgres://db/lineage")


def test_schema_commands() -> None:
    schema = json.loads(ok("schema", "batch").stdout)
    assert {"nodes", "edges"} <= set(schema["properties"])
    edges = ok("schema", "edges").stdout
    assert "Dataset" in edges and "-DEPLOYED_AS-> Deployment" in edges


def test_usage_errors_exit_2() -> None:
    assert lineage("impact").returncode == 2
    assert lineage("no-such-command").returncode == 2


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (("--response-cache-mib", "-1"), {}, "response_cache_mib"),
        ((), {"LINEAGE_MAX_WORK_SECONDS": "soon"}, "max_work_seconds"),
        ((), {"LINEAGE_PORT": "http"}, "port"),
    ],
)
def test_a_setting_out_of_range_is_one_error_line_naming_it(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], named: str
) -> None:
    store = f"sqlite:///{tmp_path / 'never.db'}"
    out = fails(2, "serve", "--store", store, *args, env=clean_env(**env))
    assert "error [BAD_INPUT]" in out and named in out
    assert not (tmp_path / "never.db").exists()  # refused before anything is opened
