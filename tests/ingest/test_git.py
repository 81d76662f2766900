"""Commit detection: git in a real repository, the CI variables without one, remote URL normalisation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lineage.ingest.git import detect_commit, repo_identity


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("git@github.com:acme/ml-platform.git", "github.com/acme/ml-platform"),
        ("https://github.com/acme/ml-platform", "github.com/acme/ml-platform"),
        ("https://x-access-token:ghs_secret@github.com/acme/ml-platform.git", "github.com/acme/ml-platform"),
        (
            "https://gitlab-ci-token:glcbt-secret@gitlab.example.com/group/sub/proj.git",
            "gitlab.example.com/group/sub/proj",
        ),
        ("ssh://git@bitbucket.org:22/team/repo.git", "bitbucket.org/team/repo"),
        ("https://git.internal:8443/team/repo/", "git.internal:8443/team/repo"),
    ],
)
def test_remote_urls_normalise_and_never_keep_credentials(url: str, name: str) -> None:
    repo = repo_identity(url)
    assert repo is not None and repo.name == name and repo.url == f"https://{name}"
    assert "secret" not in repo.url


def test_unrecognisable_remote_is_none() -> None:
    assert repo_identity("") is None
    assert repo_identity("not a url") is None


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "feature/churn")
    git(tmp_path, "config", "user.email", "ada@acme.com")
    git(tmp_path, "config", "user.name", "Ada Lovelace")
    git(tmp_path, "remote", "add", "origin", "https://token@github.com/acme/churn.git")
    (tmp_path / "train.py").write_text("print('train')\n")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-q", "-m", "Train churn model\n\nLonger body.")
    return tmp_path


def test_commit_from_git(repo: Path) -> None:
    commit = detect_commit(repo, {})
    assert commit is not None
    assert commit.sha == git(repo, "rev-parse", "HEAD")
    assert commit.repo.name == "github.com/acme/churn"
    assert commit.author == "Ada Lovelace <ada@acme.com>"
    assert commit.message == "Train churn model"
    assert commit.branch == "feature/churn"
    assert commit.committed_at is not None and commit.committed_at.tzinfo is not None
    spec = commit.spec()
    assert spec.id == f"codecommit:git/github.com/acme/churn@{commit.sha}"
    assert spec.properties["repository"] == "https://github.com/acme/churn"


def test_commit_from_ci_variables_without_git(tmp_path: Path) -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": "ab" * 20,
        "CI_PROJECT_URL": "https://gitlab.com/acme/churn",
        "CI_COMMIT_AUTHOR": "Ada <ada@acme.com>",
        "CI_COMMIT_TITLE": "Retrain",
        "CI_COMMIT_REF_NAME": "main",
        "CI_COMMIT_TIMESTAMP": "2026-11-20T10:00:00+01:00",
    }
    commit = detect_commit(tmp_path, env)
    assert commit is not None and commit.sha == "ab" * 20 and commit.repo.name == "gitlab.com/acme/churn"
    assert commit.committed_at is not None and commit.committed_at.hour == 9
    assert detect_commit(tmp_path, {}) is None


def test_repository_without_remote_uses_the_ci_repository(tmp_path: Path, repo: Path) -> None:
    git(repo, "remote", "remove", "origin")
    commit = detect_commit(repo, {"GITHUB_REPOSITORY": "acme/churn", "GITHUB_SERVER_URL": "https://github.com"})
    assert commit is not None and commit.repo.name == "github.com/acme/churn"
