"""The commands: `lineage import openlineage|dbt`, `lineage replay`, `lineage columns`, and
`lineage register` as a CI hook (real git, CI variables, exit codes, --server, --fail-open)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lineage_server import clean_env, run_cli, serve
from ol_support import fixture_events, run_event, run_id, snapshot

from lineage.ingest.openlineage import OpenLineageIngester
from lineage.storage import open_store

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci"


def test_import_openlineage_files_arrays_ndjson_and_folders(shared_fixtures: Path, tmp_path: Path) -> None:
    events = fixture_events(shared_fixtures)
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "array.json").write_text(json.dumps(events[:20]))
    (folder / "lines.ndjson").write_text("\n".join(json.dumps(e) for e in events[20:40]) + "\n")
    for i, event in enumerate(events[40:]):
        (folder / f"single-{i}.json").write_text(json.dumps(event))
    url = f"sqlite:///{tmp_path / 'imported.db'}"
    done = run_cli("import", "openlineage", str(folder), "--store", url, "--format", "json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["events"] == len(events) and summary["failed"] == 0 and summary["invalid"] == 0
    assert "OpenLineage events" not in done.stderr  # no progress bar: stderr is not a terminal, output is JSON
    with open_store(url) as imported, open_store(f"sqlite:///{tmp_path / 'direct.db'}") as direct:
        OpenLineageIngester(direct, principal="p").ingest_many(events)
        assert snapshot(imported) == snapshot(direct)
        assert imported.counts()["raw_events"] == len(events)


def test_import_refuses_invalid_events_unless_told_to_skip(shared_fixtures: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spark.db'}"
    spark = shared_fixtures / "openlineage" / "spark"
    refused = run_cli("import", "openlineage", str(spark), "--store", url)
    assert refused.returncode == 2
    assert "field required" in refused.stderr and "nothing imported" in refused.stderr
    with open_store(url) as st:
        assert st.counts()["raw_events"] == 0
    mixed = tmp_path / "mixed.json"
    mixed.write_text(
        json.dumps([run_event("etl", run_id(1), "START", 0), json.loads(next(spark.glob("*.json")).read_text())])
    )
    skipped = run_cli("import", "openlineage", str(mixed), "--store", url, "--skip-invalid")
    assert skipped.returncode == 0 and "1 invalid" in skipped.stdout
    with open_store(url) as st:
        assert st.counts()["raw_events"] == 1


def test_import_dbt_and_replay_into_a_fresh_store(shared_fixtures: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    done = run_cli("import", "dbt", str(shared_fixtures / "dbt" / "postgres-manifest.json"), "--store", url)
    assert done.returncode == 0, done.stderr
    events = tmp_path / "events.json"
    events.write_text(json.dumps(fixture_events(shared_fixtures)))
    assert run_cli("import", "openlineage", str(events), "--store", url).returncode == 0
    fresh = f"sqlite:///{tmp_path / 'b.db'}"
    replayed = run_cli("replay", "--from", url, "--to", fresh, "--format", "json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["errors"] == []
    with open_store(url) as a, open_store(fresh) as b:
        assert snapshot(a) == snapshot(b)


def test_columns_command(shared_fixtures: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    path = shared_fixtures / "openlineage" / "marquez" / "column-lineage.json"
    assert run_cli("import", "openlineage", str(path), "--store", url).returncode == 0
    target = "dataset:namespace/dataset_c@run-00000000-0000-0000-0000-000000000002"
    shown = run_cli("columns", target, "--store", url, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [(r["target_field"], r["source_field"]) for r in rows] == [("col_c", "col_b")]
    assert run_cli("columns", "dataset:namespace/nope@1", "--store", url).returncode == 2


# -- the CI hook ------------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@acme.com")
    git(repo, "config", "user.name", "CI Bot")
    git(repo, "remote", "add", "origin", "https://x-access-token:secret@github.com/acme/churn.git")
    shutil.copy(DOCS / "lineage.yaml", repo / "lineage.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Retrain churn")
    return repo


GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_RUN_ID": "8080",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_REPOSITORY": "acme/churn",
    "GITHUB_JOB": "train",
    "MODEL_VERSION": "5",
    "DEPLOY_ENV": "prod",
}


def hook(checkout: Path, store: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli("register", "--store", store, *args, env=clean_env(**{**GITHUB, **env}), cwd=checkout)


def test_register_from_lineage_yaml_with_git_and_ci(checkout: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ci.db'}"
    first = hook(checkout, store, "--format", "json")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    sha = git(checkout, "rev-parse", "HEAD")
    assert result["run"] == "run:ml-training/train.churn-classifier@github-actions-8080"
    assert result["commit"] == f"codecommit:git/github.com/acme/churn@{sha}"
    assert result["nodes_created"] > 0
    retry = hook(checkout, store, "--format", "json", GITHUB_RUN_ATTEMPT="2")
    assert retry.returncode == 0 and json.loads(retry.stdout)["audit_seq"] is None  # nothing new
    with open_store(store) as st:
        run = st.get_node(result["run"])
        assert run.properties["ci_run_url"] == "https://github.com/acme/churn/actions/runs/8080"
        assert run.recorded_by == "github-actions:octocat"
        commit = st.get_node(result["commit"])
        assert commit.properties["author"] == "CI Bot <ci@acme.com>"
        assert "secret" not in json.dumps(commit.properties)
        deployment = st.get_node("deployment:prod/churn-api")
        assert deployment.properties["endpoint"] == "https://churn-api.prod.acme.internal"
        audit = st.audit_entries()
        assert audit[-1].source == "ci:github-actions#8080" and len(audit) == 1


def test_register_flags_dry_run_and_the_batch_file(checkout: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'flags.db'}"
    dry = hook(checkout, store, "--dry-run", "--job", "evaluate", "--property", "auc=0.91", "--property", "note=x")
    assert dry.returncode == 0
    batch = json.loads(dry.stdout)
    run = next(n for n in batch["nodes"] if n["kind"] == "Run")
    assert run["name"] == "evaluate" and run["properties"]["auc"] == 0.91 and run["properties"]["note"] == "x"
    with open_store(store) as st:
        assert st.counts()["nodes"] == 0
    batch_file = tmp_path / "batch.json"
    batch_file.write_text(json.dumps(batch))
    assert hook(checkout, store, "--file", str(batch_file)).returncode == 0
    unknown = hook(checkout, store, "--input", "dataset:wh/never-recorded@1")
    assert unknown.returncode == 2 and "dataset:wh/never-recorded@1" in unknown.stderr


def test_unreachable_store_or_server_exit_3_unless_fail_open(checkout: Path, tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    down = hook(checkout, missing)
    assert down.returncode == 3 and "BACKEND_UNAVAILABLE" in down.stderr
    server = hook(checkout, missing, "--server", "http://127.0.0.1:9")
    assert server.returncode == 3 and "cannot reach the lineage server" in server.stderr
    tolerated = hook(checkout, missing, "--server", "http://127.0.0.1:9", "--fail-open")
    assert tolerated.returncode == 0 and "NOT registered" in tolerated.stderr
    bad = hook(checkout, missing, "--fail-open", "--status", "FINISHED")
    assert bad.returncode == 2  # bad input is never tolerated


def test_register_through_a_server(checkout: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'served.db'}"
    open_store(store).close()
    with serve(store, tmp_path) as served:
        anonymous = hook(checkout, store, "--server", served.url)
        assert anonymous.returncode == 2 and "UNAUTHENTICATED" in anonymous.stderr
        done = hook(checkout, store, "--server", served.url, "--format", "json", LINEAGE_TOKEN=served.token)
        assert done.returncode == 0, done.stderr
        again = hook(checkout, store, "--server", served.url, "--format", "json", LINEAGE_TOKEN=served.token)
        assert json.loads(again.stdout)["audit_seq"] is None
    with open_store(store) as st:
        assert st.get_node(json.loads(done.stdout)["run"]).recorded_by == "token:ci-tests"
