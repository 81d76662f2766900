"""The governance commands end to end: exit codes, audited writes, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gov_graphs import ANON_RUN, MODEL, PROD, RAW, small_batch
from typer.testing import CliRunner

from lineage.cli import build_app
from lineage.storage import AuditFilter, open_store


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    store.register(small_batch(), principal="tester")
    store.close()
    return url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args), env={"LINEAGE_ACTOR": "alice", "COLUMNS": "200"})
    return result.exit_code, result.output


def test_classify_show_reach_and_removes(url: str) -> None:
    code, text = run("classify", "tag", RAW, "pii.email", "--column", "email", "--reason", "contact", "--store", url)
    assert code == 0 and "audit entry #2" in text
    code, text = run("classify", "show", PROD, "--format", "json", "--store", url)
    data = json.loads(text)
    assert code == 0 and data["classifications"] == ["pii.email"]
    assert data["effective"][0]["origin"] == {
        "node": RAW, "columns": ["email"], "set_by": "alice", "set_at": data["effective"][0]["origin"]["set_at"]
    }
    code, text = run("classify", "reach", "pii", "--kind", "Deployment", "--format", "json", "--store", url)
    assert code == 0 and [n["id"] for n in json.loads(text)["nodes"]] == [PROD, "deployment:staging/churn-api"]
    code, text = run("classify", "removes", ANON_RUN, "pii", "--store", url)
    assert code == 0
    code, text = run("classify", "show", "dataset:reporting/kpis@v1", "--store", url)
    assert "removed" in text and ANON_RUN in text
    code, text = run("classify", "list", "--format", "json", "--store", url)
    assert json.loads(text) == ["pii", "pii.email"]
    code, text = run("classify", "tag", RAW, "PII", "--store", url)
    assert code == 2 and "lower-case dotted" in text
    code, text = run("classify", "untag", RAW, "pii.email", "--column", "email", "--store", url)
    assert code == 0
    store = open_store(url)
    actions = [e.action for e in store.audit_entries(AuditFilter(limit=100))]
    store.close()
    assert actions == ["register", "annotate.tag", "annotate.removes", "annotate.tag"]


def test_owners_commands(url: str) -> None:
    assert run("owners", "add", PROD, "team-sre", "--contact", "#sre-oncall", "--store", url)[0] == 0
    _code, text = run("owners", "show", PROD, "--format", "json", "--store", url)
    assert json.loads(text)["owners"] == [{"name": "team-sre", "contact": "#sre-oncall"}]
    assert run("owners", "set", PROD, "team-a", "team-b", "--store", url)[0] == 0
    assert run("owners", "remove", PROD, "team-a", "--store", url)[0] == 0
    _code, text = run("owners", "show", PROD, "--store", url)
    assert text.strip() == "team-b"
    assert run("owners", "add", PROD, "a", "b", "--contact", "x", "--store", url)[0] == 2


def test_check_exit_codes_and_approval(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nrules:\n  - id: no-pii\n    type: forbid-flow\n    classification: pii\n",
                      encoding="utf-8")
    code, text = run("check", "--policy", str(policy), "--store", url)
    assert code == 0 and "PASSED" in text
    run("classify", "tag", RAW, "pii", "--store", url)
    code, text = run("check", "--policy", str(policy), "--store", url)
    assert code == 1 and "pii reaches deployment:prod/churn-api" in text and "fix: approve with" in text
    code, text = run("check", "--policy", str(policy), "--format", "json", "--store", url)
    assert code == 1 and json.loads(text)["summary"]["violations"] == 1
    code, text = run("approve", PROD, "--classification", "pii", "--store", url)
    assert code == 2 and "reason" in text
    code, text = run("approve", PROD, "--classification", "pii", "--reason", "DPIA-7", "--store", url)
    assert code == 0
    code, text = run("check", "--policy", str(policy), "--store", url)
    assert code == 0 and "approved by alice" in text and "DPIA-7" in text
    code, text = run("approve", PROD, "--format", "json", "--store", url)
    assert json.loads(text)[0]["reason"] == "DPIA-7"
    code, text = run("check", "--policy", str(policy), "--target", MODEL, "--store", url)
    assert code == 0 and "everything downstream" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - type: max-staleness\n    days: -1\n", encoding="utf-8")
    code, text = run("check", "--policy", str(bad), "--store", url)
    assert code == 2 and "bad.yaml, line 3" in text and "days" in text
    code, text = run("check", "--store", url)  # no lineage-policy.yaml here: the built-in baseline
    assert code == 1 and "built-in baseline" in text
    assert "deployment:staging/churn-api (Deployment) has no owner" in text
    (tmp_path / "lineage-policy.yaml").write_text(policy.read_text(encoding="utf-8"), encoding="utf-8")
    code, text = run("check", "--store", url)
    assert code == 0 and "lineage-policy.yaml" in text
