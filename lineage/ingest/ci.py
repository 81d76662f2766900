"""Who is writing, and from which CI run: detected from the environment."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CIContext:
    """The CI run a command runs in (or ``local``): system, actor, run id and URL, job."""

    system: str  # github-actions, gitlab-ci, jenkins, circleci, buildkite, ci, or local
    actor: str | None
    run_id: str | None
    run_url: str | None
    job: str | None

    @property
    def source(self) -> str:
        """A short label for the audit log: ``ci:github-actions#1234`` or ``cli``."""
        if self.system == "local":
            return "cli"
        return f"ci:{self.system}" + (f"#{self.run_id}" if self.run_id else "")


def detect_ci(env: Mapping[str, str]) -> CIContext:
    """Recognise GitHub Actions, GitLab CI, Jenkins, CircleCI and Buildkite, with a generic fallback."""
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo, run = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
        url = f"{server}/{repo}/actions/runs/{run}" if repo and run else None
        return CIContext("github-actions", env.get("GITHUB_ACTOR"), run, url, env.get("GITHUB_JOB"))
    if env.get("GITLAB_CI") == "true":
        return CIContext(
            "gitlab-ci",
            env.get("GITLAB_USER_LOGIN"),
            env.get("CI_JOB_ID"),
            env.get("CI_JOB_URL"),
            env.get("CI_JOB_NAME"),
        )
    if env.get("JENKINS_URL"):
        return CIContext(
            "jenkins",
            env.get("BUILD_USER_ID"),
            env.get("BUILD_NUMBER"),
            env.get("BUILD_URL"),
            env.get("JOB_NAME"),
        )
    if env.get("CIRCLECI") == "true":
        return CIContext(
            "circleci",
            env.get("CIRCLE_USERNAME"),
            env.get("CIRCLE_BUILD_NUM"),
            env.get("CIRCLE_BUILD_URL"),
            env.get("CIRCLE_JOB"),
        )
    if env.get("BUILDKITE") == "true":
        return CIContext(
            "buildkite",
            env.get("BUILDKITE_BUILD_CREATOR_EMAIL") or env.get("BUILDKITE_BUILD_CREATOR"),
            env.get("BUILDKITE_BUILD_NUMBER"),
            env.get("BUILDKITE_BUILD_URL"),
            env.get("BUILDKITE_LABEL"),
        )
    if env.get("CI", "").lower() in ("true", "1", "yes"):
        return CIContext("ci", None, None, None, None)
    return CIContext("local", None, None, None, None)


def resolve_principal(explicit: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """(principal, source) for a write: --actor / LINEAGE_ACTOR, then the CI actor, then the OS user."""
    ci = detect_ci(env)
    if explicit:
        return explicit, ci.source
    if ci.actor:
        return f"{ci.system}:{ci.actor}", ci.source
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"user:{user}", ci.source
