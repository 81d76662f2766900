"""Policies: file validation with line numbers, each rule type, approvals, scope, demo timing."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from gov_graphs import ANON, CLEAN, COMMIT, MODEL, PROD, RAW, STAGING, T0, TRAIN, edge, node

from lineage.demo import build_demo_batch
from lineage.governance.approvals import approvals_of, approve
from lineage.governance.classifications import classify
from lineage.governance.owners import notices, owner_value, parse_owner, set_owners
from lineage.governance.policy import BASELINE_POLICY, PolicyFileError, load_policy
from lineage.governance.policy_rules import check_policy
from lineage.model import Batch
from lineage.storage import AuditFilter, GraphStore


def _policy(text: str) -> object:
    return load_policy(text=text, name="policy.yaml")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("rules:\n  - type: max-staleness\n    days: 0\n", 3, "days: Input should be greater than 0"),
        ("version: 1\nrules:\n  - id: a\n    type: forbid-flows\n", 4, "unknown rule type 'forbid-flows'"),
        ("rules:\n  - id: a\n    days: 3\n", 2, "a rule needs a 'type'"),
        ("rules:\n  - type: require-owner\n    kinds: [Modle]\n", 3, "unknown kind 'Modle'"),
        ("rules:\n  - type: forbid-flow\n    classification: pii\n    colour: red\n", 4, "colour: Extra inputs"),
        ("rules:\n  - type: forbid-flow\n    classification: PII\n", 3, "lower-case dotted name"),
        ("rules:\n  - type: require-owner\n    kinds: [Model]\n    kinds: [Run]\n", 4, "appears twice"),
        ("rules: [\n", 2, "not valid YAML"),
        ("rules:\n- {type: require-owner, kinds: [Model], id: x}\n- {type: require-owner, kinds: [Run], id: x}\n", 1,
         "two rules are named 'x'"),
        ("version: 2\nrules:\n  - type: require-provenance\n", 1, "version"),
        ("", 1, "empty"),
    ],
)
def test_invalid_policy_names_line_and_problem(text: str, line: int, fragment: str) -> None:
    with pytest.raises(PolicyFileError) as info:
        load_policy(text=text, name="policy.yaml")
    assert f"policy.yaml, line {line}" in info.value.message
    assert fragment in info.value.message
    assert info.value.exit_code == 2


def test_policy_file_from_disk_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - type: max-staleness\n    days: 7\n", encoding="utf-8")
    policy = load_policy(path)
    assert policy.rule_ids() == ["max-staleness-1"]
    assert policy.production_environments == ["prod", "production", "live"]
    with pytest.raises(PolicyFileError, match="no such policy file"):
        load_policy(tmp_path / "missing.yaml")
    assert load_policy(text=BASELINE_POLICY).rule_ids() == ["production-provenance", "owned-models-and-deployments"]


def test_require_provenance(small: GraphStore) -> None:
    policy = load_policy(text="rules:\n  - type: require-provenance\n")
    report = check_policy(small, policy)
    assert report.ok and report.outcomes[0].checked == 1  # prod only, not staging
    small.register(
        Batch(
            nodes=[node("Model", "ml", "adhoc", "1"), node("Deployment", "prod", "adhoc-api", None),
                   node("Dataset", "raw", "dump", "latest"), node("Run", "ci", "train-adhoc", "x1")],
            edges=[edge("dataset:raw/dump@latest", "INPUT_TO", "run:ci/train-adhoc@x1"),
                   edge("run:ci/train-adhoc@x1", "PRODUCED", "model:ml/adhoc@1"),
                   edge("model:ml/adhoc@1", "DEPLOYED_AS", "deployment:prod/adhoc-api")],
        ),
        principal="tester",
    )
    report = check_policy(small, policy)
    messages = [v.message for v in report.violations]
    assert len(messages) == 2, messages
    assert any("0 code commit(s)" in m for m in messages)
    unpinned = next(v for v in report.violations if "pinned" in v.message)
    assert unpinned.node == "deployment:prod/adhoc-api"
    assert unpinned.explanation == [
        "dataset:raw/dump@latest -INPUT_TO-> run:ci/train-adhoc@x1 -PRODUCED-> model:ml/adhoc@1 "
        "-DEPLOYED_AS-> deployment:prod/adhoc-api"
    ]


def test_forbid_flow_with_audited_approval(small: GraphStore) -> None:
    policy = load_policy(text="rules:\n  - id: no-pii\n    type: forbid-flow\n    classification: pii\n")
    assert check_policy(small, policy).ok
    classify(small, RAW, ["pii.email"], column="email", principal="alice")
    report = check_policy(small, policy)
    (violation,) = report.violations
    assert violation.node == PROD and "pii.email reaches deployment:prod/churn-api" in violation.message
    assert "column email of dataset:raw/customers@v1" in violation.explanation[0]
    assert "lineage approve deployment:prod/churn-api" in (violation.hint or "")
    result = approve(small, PROD, "pii.email", reason="DPIA-14 signed", principal="dpo")
    report = check_policy(small, policy)
    assert report.ok
    (waiver,) = report.outcomes[0].waived
    assert (waiver.approved_by, waiver.reason, waiver.audit_seq) == ("dpo", "DPIA-14 signed", result.audit_seq)
    entry = small.audit_entries(AuditFilter(action="annotate.approval"))[-1]
    assert entry.payload["reason"] == "DPIA-14 signed" and entry.principal == "dpo"
    # the check as of before the approval still fails: results are reproducible
    assert not check_policy(small, policy, as_of=result.recorded_at - timedelta(microseconds=1)).ok
    # an approval of a narrower class does not cover a broader one
    classify(small, CLEAN, ["pii"], principal="alice")
    assert [v.message.split(" ")[0] for v in check_policy(small, policy).violations] == ["pii"]
    approve(small, PROD, "pii", reason="DPIA-15 covers all personal data", principal="dpo")
    assert check_policy(small, policy).ok
    approve(small, PROD, "pii", reason="withdrawn", principal="dpo", revoke=True)
    assert [a.value for a in approvals_of(small, PROD)] == ["flow:pii.email"]
    assert not check_policy(small, policy).ok
    with pytest.raises(Exception, match="deployments"):
        approve(small, MODEL, "pii", reason="x", principal="dpo")
    with pytest.raises(Exception, match="reason"):
        approve(small, PROD, "pii", reason=" ", principal="dpo")
    staging = load_policy(text="rules:\n  - type: forbid-flow\n    classification: pii\n    environments: ['*']\n")
    assert {v.node for v in check_policy(small, staging).violations} == {PROD, STAGING}


def test_require_owner_and_target_scope(small: GraphStore) -> None:
    policy = load_policy(text="rules:\n  - type: require-owner\n    kinds: [Dataset, Deployment]\n")
    report = check_policy(small, policy)
    assert {v.node for v in report.violations} == {ANON, PROD, STAGING}
    scoped = check_policy(small, policy, target=MODEL)
    assert {v.node for v in scoped.violations} == {PROD, STAGING}
    assert scoped.outcomes[0].checked == 2
    set_owners(small, PROD, add=[owner_value("team-sre", "#sre")], principal="lead")
    set_owners(small, STAGING, add=["team-sre"], principal="lead")
    assert check_policy(small, policy, target=MODEL).ok
    with pytest.raises(Exception, match="no node"):
        check_policy(small, policy, target="model:ml/none@1")


def test_max_staleness(small: GraphStore) -> None:
    policy = load_policy(text="rules:\n  - type: max-staleness\n    days: 10\n    severity: warning\n")
    fresh = check_policy(small, policy, now=T0 + timedelta(days=5))
    assert fresh.ok and not fresh.warnings
    stale = check_policy(small, policy, now=T0 + timedelta(days=30))
    assert stale.ok  # warnings do not fail the check
    (warning,) = stale.warnings
    assert warning.node == PROD and "2 upstream Dataset node(s)" in warning.message
    assert any(line.startswith(f"{RAW} is 30.0 days old") for line in warning.explanation)
    shallow = load_policy(text="rules:\n  - type: max-staleness\n    days: 10\n    depth: 3\n")
    report = check_policy(small, shallow, now=T0 + timedelta(days=30))
    assert [v.message.split(" ")[0] for v in report.violations] == ["1"]  # only the clean dataset is 3 hops up
    by_deployment = load_policy(text="rules:\n  - type: max-staleness\n    days: 1\n    relative_to: deployment\n")
    assert check_policy(small, by_deployment).ok  # everything happened at T0


def test_owners_parse_and_notices(small: GraphStore) -> None:
    assert parse_owner("team-x <x@acme.com>").contact == "x@acme.com"
    assert parse_owner("ana@acme.com").contact == "ana@acme.com"
    assert parse_owner("team-y").contact is None
    with pytest.raises(Exception, match="must not contain"):
        owner_value("team <x>")
    model = small.get_node(MODEL)
    prod = small.get_node(PROD)
    (notice,) = notices([(model, False), (prod, True)])
    assert notice.owner.name == "team-churn" and notice.nodes == [MODEL] and notice.production == []


def test_baseline_policy_on_the_demo_graph_is_fast(store: GraphStore) -> None:
    store.register(build_demo_batch(), principal="demo")
    policy = load_policy(text=BASELINE_POLICY + "  - type: forbid-flow\n    classification: pii\n"
                         "  - type: max-staleness\n    days: 30\n")
    classify(store, "dataset:raw/crm.customers@2026-11-03", ["pii.email"], column="email", principal="alice")
    started = time.perf_counter()
    report = check_policy(store, policy, now=T0 + timedelta(days=10))
    elapsed = time.perf_counter() - started
    assert [o.checked for o in report.outcomes][:2] == [4, 27]
    assert {v.node for v in report.violations} == {"deployment:prod/churn-api", "deployment:prod/ltv-batch-scorer"}
    assert elapsed < 5.0


def test_commit_and_train_are_in_the_fixture(small: GraphStore) -> None:
    assert small.get_node(COMMIT).kind.value == "CodeCommit" and small.get_node(TRAIN).kind.value == "Run"
