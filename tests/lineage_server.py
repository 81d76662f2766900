"""A real `lineage serve` process for end-to-end tests (used by tests/ingest and tests/sdk).

Started on a free loopback port over a given store, with a writer token made by the CLI; stopped
(and waited for) when the context exits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]


@dataclass(frozen=True)
class Served:
    url: str
    token: str
    store: str


def clean_env(**extra: str) -> dict[str, str]:
    """The test process environment without LINEAGE_* or CI variables, plus ``extra``."""
    drop = ("LINEAGE_", "GITHUB_", "GITLAB_", "CI_", "CIRCLE", "BUILDKITE", "JENKINS_", "BUILD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "CI"}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, env=env or clean_env(), cwd=cwd, check=False
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_token(store: str, name: str = "ci-tests", role: str = "writer") -> str:
    made = run_cli("token", "create", name, "--role", role, "--store", store)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@contextmanager
def serve(store: str, log_dir: Path, *, workers: int = 1, options: tuple[str, ...] = ()) -> Iterator[Served]:
    token = make_token(store)
    port = free_port()
    log_path = log_dir / f"serve-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--store",
                store,
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                *options,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"lineage serve exited with {proc.returncode}: {log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("lineage serve did not become ready in 90 s (a loaded machine starts it slowly)")
                time.sleep(0.2)
            yield Served(base, token, store)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
