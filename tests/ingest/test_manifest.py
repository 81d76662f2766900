"""lineage.yaml: parsing, interpolation, run ids that survive retries, and the docs/ci examples."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lineage.errors import UnknownReferenceError, ValidationError
from lineage.ingest.ci import detect_ci
from lineage.ingest.git import Commit, Repo
from lineage.ingest.manifest import Overrides, build_registration, derive_run_id, interpolate, parse_manifest
from lineage.storage import GraphStore

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci"
COMMIT = Commit(Repo("github.com/acme/ml", "https://github.com/acme/ml"), "c0ffee" + "0" * 34, "Ada", "Train")

CI_ENVS = {
    "github-actions": (
        {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "991", "GITHUB_RUN_ATTEMPT": "1"},
        {"GITHUB_RUN_ATTEMPT": "2"},
        "github-actions-991",
    ),
    "gitlab-ci": (
        {"GITLAB_CI": "true", "CI_PIPELINE_ID": "55", "CI_JOB_ID": "1001"},
        {"CI_JOB_ID": "1002"},
        "gitlab-ci-55",
    ),
    "jenkins": (
        {"JENKINS_URL": "https://ci", "BUILD_TAG": "jenkins-train-12", "BUILD_NUMBER": "12"},
        {},
        "jenkins-jenkins-train-12",
    ),
    "circleci": (
        {"CIRCLECI": "true", "CIRCLE_WORKFLOW_ID": "wf-1", "CIRCLE_BUILD_NUM": "7"},
        {"CIRCLE_BUILD_NUM": "8"},
        "circleci-wf-1",
    ),
    "buildkite": (
        {"BUILDKITE": "true", "BUILDKITE_BUILD_ID": "bk-9", "BUILDKITE_JOB_ID": "j1"},
        {"BUILDKITE_JOB_ID": "j2"},
        "buildkite-bk-9",
    ),
}


@pytest.mark.parametrize("system", sorted(CI_ENVS))
def test_run_id_is_the_same_for_every_retry(system: str) -> None:
    env, retry, expected = CI_ENVS[system]
    ci = detect_ci(env)
    assert ci.system == system
    assert derive_run_id(ci, env, COMMIT) == expected
    assert derive_run_id(detect_ci({**env, **retry}), {**env, **retry}, COMMIT) == expected


def test_run_id_outside_ci_comes_from_the_commit_or_is_required() -> None:
    assert derive_run_id(detect_ci({}), {}, COMMIT) == "commit-c0ffee000000"
    with pytest.raises(ValidationError, match="--run-id"):
        derive_run_id(detect_ci({}), {}, None)


def test_interpolation_with_defaults_nesting_and_errors() -> None:
    env = {"MODEL_VERSION": "7", "LINEAGE_SHORT_SHA": "abc"}
    assert interpolate({"v": "${MODEL_VERSION}", "w": ["x-${MISSING:-d}"]}, env) == {"v": "7", "w": ["x-d"]}
    assert interpolate("${NOPE:-${LINEAGE_SHORT_SHA}}", env) == "abc"
    with pytest.raises(ValidationError, match=r"model.version: environment variable NOPE is not set"):
        interpolate({"model": {"version": "${NOPE}"}}, env)
    with pytest.raises(ValidationError, match="unclosed"):
        interpolate("${NOPE", env)


def test_manifest_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match=r"job.name"):
        parse_manifest({"job": {}}, {})
    with pytest.raises(ValidationError, match=r"unknown_key"):
        parse_manifest({"job": {"name": "j"}, "unknown_key": 1}, {})
    with pytest.raises(ValidationError, match="malformed node id"):
        parse_manifest({"job": {"name": "j"}, "inputs": ["not-an-id"]}, {})


def test_registration_links_run_commit_inputs_outputs_model_and_deployment() -> None:
    manifest = parse_manifest(
        {
            "job": {"name": "train", "owners": ["team-ml"]},
            "inputs": ["dataset:wh/labels@1", {"kind": "Feature", "namespace": "f", "name": "x", "version": "2"}],
            "outputs": [{"namespace": "wh", "name": "scores", "version": "3"}],
            "model": {"namespace": "ml", "name": "churn", "version": "4"},
            "deployment": {"namespace": "prod", "name": "churn-api"},
        },
        {},
    )
    env, _, run_id = CI_ENVS["github-actions"]
    reg = build_registration(manifest, Overrides(), ci=detect_ci(env), commit=COMMIT, env=env)
    assert reg.run == f"run:ci/train@{run_id}"
    edges = {(e.source, e.type.value, e.target) for e in reg.batch.edges}
    assert edges == {
        (COMMIT.node_id, "EXECUTED_IN", reg.run),
        ("dataset:wh/labels@1", "INPUT_TO", reg.run),
        ("feature:f/x@2", "INPUT_TO", reg.run),
        (reg.run, "PRODUCED", "dataset:wh/scores@3"),
        (reg.run, "PRODUCED", "model:ml/churn@4"),
        ("model:ml/churn@4", "DEPLOYED_AS", "deployment:prod/churn-api"),
    }
    nodes = {n.id for n in reg.batch.nodes}
    assert "dataset:wh/labels@1" not in nodes  # referenced by id: must already be recorded
    run = next(n for n in reg.batch.nodes if n.id == reg.run)
    assert run.properties["ci_system"] == "github-actions" and run.properties["git_sha"] == COMMIT.sha
    assert run.owners == ["team-ml"]
    failed = build_registration(manifest, Overrides(status="FAIL"), ci=detect_ci(env), commit=COMMIT, env=env)
    assert {e.type.value for e in failed.batch.edges} == {"EXECUTED_IN", "INPUT_TO"}


EXAMPLE_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_RUN_ID": "31337",
    "GITHUB_REPOSITORY": "acme/churn",
    "MODEL_VERSION": "12",
    "DEPLOY_ENV": "prod",
    "RAW_SNAPSHOT": "2026-11-03",
}


@pytest.mark.parametrize("name", ["lineage.yaml", "lineage-etl.yaml"])
def test_docs_examples_parse_and_register_idempotently(name: str, sqlite_store: GraphStore) -> None:
    data = yaml.safe_load((DOCS / name).read_text())
    env = {**EXAMPLE_ENV, "LINEAGE_RUN_ID": "github-actions-31337", "LINEAGE_SHORT_SHA": COMMIT.sha[:12]}
    manifest = parse_manifest(data, env, origin=name)
    reg = build_registration(manifest, Overrides(), ci=detect_ci(env), commit=COMMIT, env=env)
    missing = [e.source for e in reg.batch.edges if e.source not in {n.id for n in reg.batch.nodes}]
    if missing:
        with pytest.raises(UnknownReferenceError):
            sqlite_store.register(reg.batch, principal="ci", source="test")
        from lineage.model import parse_batch, parse_node_id

        prior = [
            {
                "kind": parse_node_id(i).kind.value,
                "namespace": parse_node_id(i).namespace,
                "name": parse_node_id(i).name,
                "version": parse_node_id(i).version,
            }
            for i in missing
        ]
        sqlite_store.register(parse_batch({"nodes": prior}), principal="ingest", source="test")
    first = sqlite_store.register(reg.batch, principal="ci", source="test")
    assert first.changed and sqlite_store.get_node(reg.run).properties["status"] == "COMPLETE"
    assert not sqlite_store.register(reg.batch, principal="ci", source="test").changed
    if name == "lineage.yaml":
        assert sqlite_store.get_node("model:ml/churn-classifier@12").properties["artifact_uri"].endswith("/12")
        assert sqlite_store.get_node("deployment:prod/churn-api").owners == ("team-churn-ml",)
