"""The commit being built: repository, sha, author, message and time, from git or the CI environment.

``git`` is run as a subprocess in the working directory. When it is missing, or the checkout has no
history (some CI caches), the CI variables that carry the same facts are used instead. Credentials
embedded in remote URLs (``https://token@host/...``, common in CI) are never recorded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from lineage.model import NodeKind, NodeSpec

_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?P<path>(?!//)[^\s]+)$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass(frozen=True, slots=True)
class Repo:
    """A repository identity: ``host/path`` (the CodeCommit node name) and a browsable https URL."""

    name: str
    url: str


def repo_identity(url: str) -> Repo | None:
    """Normalise a remote URL: ``git@github.com:acme/x.git``, ``https://tok@github.com/acme/x`` and
    ``ssh://git@github.com/acme/x.git`` all become ``github.com/acme/x``. None when unrecognisable."""
    text = url.strip()
    if not text:
        return None
    host = path = ""
    if "://" in text:
        parts = urlsplit(text)
        host = parts.hostname or ""
        if parts.port and parts.scheme in ("http", "https"):
            host = f"{host}:{parts.port}"
        path = parts.path
        if parts.scheme == "file" or not host:
            local = parts.path.rstrip("/").removesuffix(".git")
            return Repo(f"file{local}", f"file://{local}") if local else None
    else:
        match = _SCP_LIKE.match(text)
        if match:
            host, path = match["host"], match["path"]
        elif text.startswith("/"):
            local = text.rstrip("/").removesuffix(".git")
            return Repo(f"file{local}", f"file://{local}")
        else:
            return None
    path = path.strip("/").removesuffix(".git").strip("/")
    if not host or not path:
        return None
    name = f"{host.lower()}/{path}"
    return Repo(name, f"https://{name}")


@dataclass(frozen=True, slots=True)
class Commit:
    repo: Repo
    sha: str
    author: str | None = None
    message: str | None = None
    committed_at: datetime | None = None
    branch: str | None = None

    @property
    def node_id(self) -> str:
        return self.spec().id

    def spec(self) -> NodeSpec:
        """The CodeCommit node: namespace ``git``, name ``host/path``, version the sha."""
        props: dict[str, object] = {"repository": self.repo.url}
        if self.author:
            props["author"] = self.author
        if self.message:
            props["message"] = self.message
        if self.committed_at:
            props["committed_at"] = self.committed_at.isoformat()
        return NodeSpec(
            kind=NodeKind.CODE_COMMIT,
            namespace="git",
            name=self.repo.name,
            version=self.sha,
            event_time=self.committed_at,
            properties=props,
        )


def _git(args: list[str], cwd: Path) -> str | None:
    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def repo_root(cwd: Path) -> Path | None:
    """The top of the git work tree containing ``cwd``, if any."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    return Path(top) if top else None


def detect_commit(cwd: Path, env: Mapping[str, str]) -> Commit | None:
    """The checked-out commit, from ``git`` first and the CI environment second; None if neither knows."""
    from_git = _from_git(cwd, env)
    return from_git if from_git is not None else _from_env(env)


def _from_git(cwd: Path, env: Mapping[str, str]) -> Commit | None:
    out = _git(["log", "-1", "--format=%H%x1f%an <%ae>%x1f%cI%x1f%s"], cwd)
    if not out:
        return None
    parts = out.split("\x1f")
    if len(parts) != 4 or not _SHA.match(parts[0]):
        return None
    sha, author, when, subject = parts
    remote = _git(["config", "--get", "remote.origin.url"], cwd) or _env_remote(env)
    repo = repo_identity(remote) if remote else None
    if repo is None:
        top = _git(["rev-parse", "--show-toplevel"], cwd)
        repo = repo_identity(top) if top else None
    if repo is None:
        return None
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
    return Commit(
        repo,
        sha.lower(),
        author.strip() or None,
        subject.strip() or None,
        _parse_time(when),
        branch if branch and branch != "HEAD" else None,
    )


def _env_remote(env: Mapping[str, str]) -> str | None:
    if env.get("GITHUB_REPOSITORY"):
        return f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{env['GITHUB_REPOSITORY']}"
    return (
        env.get("CI_PROJECT_URL")
        or env.get("GIT_URL")
        or env.get("CIRCLE_REPOSITORY_URL")
        or env.get("BUILDKITE_REPO")
        or None
    )


def _from_env(env: Mapping[str, str]) -> Commit | None:
    """GitHub Actions, GitLab CI, Jenkins (git plugin), CircleCI and Buildkite name the commit too."""
    sha = (
        env.get("GITHUB_SHA")
        or env.get("CI_COMMIT_SHA")
        or env.get("GIT_COMMIT")
        or env.get("CIRCLE_SHA1")
        or env.get("BUILDKITE_COMMIT")
    )
    if not sha or not _SHA.match(sha):
        return None
    remote = _env_remote(env)
    repo = repo_identity(remote) if remote else None
    if repo is None:
        return None
    author = env.get("CI_COMMIT_AUTHOR") or env.get("BUILDKITE_BUILD_AUTHOR")
    message = env.get("CI_COMMIT_TITLE") or env.get("BUILDKITE_MESSAGE")
    branch = (
        env.get("GITHUB_HEAD_REF")
        or env.get("GITHUB_REF_NAME")
        or env.get("CI_COMMIT_REF_NAME")
        or env.get("GIT_BRANCH")
        or env.get("CIRCLE_BRANCH")
        or env.get("BUILDKITE_BRANCH")
    )
    return Commit(
        repo,
        sha.lower(),
        author or None,
        (message or "").splitlines()[0] if message else None,
        _parse_time(env.get("CI_COMMIT_TIMESTAMP")),
        branch or None,
    )
