"""tools/neo4j-local keeps its state per checkout and per port, and never claims a port it does not serve.

No Java is needed: a stand-in process whose command line looks like the launcher's plays the
running server (the script recognises its launcher by that command line and its pid file).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "neo4j-local" / "neo4j-local.sh"


def run(script: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_LOCAL_")}
    full.update(env)
    return subprocess.run(["bash", str(script), command], capture_output=True, text=True, env=full, timeout=60)


def state_of(script: Path, home: Path, port: int) -> str:
    done = run(script, "status", HOME=str(home), NEO4J_LOCAL_PORT=str(port))
    assert done.returncode == 1
    found = re.search(r"not running \(state (.+)\)", done.stdout)
    assert found, done.stdout
    return found.group(1)


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A state dir whose 'server' runs on port 7801 (a sleeping stand-in with the launcher's name)."""
    state = tmp_path / "state"
    state.mkdir()
    proc = subprocess.Popen(
        ["bash", "-c", 'exec -a "java -Dneo4j.local.port=7801 neo4jlocal.Neo4jLocal" sleep 120'],
    )
    (state / "neo4j-local.pid").write_text(f"{proc.pid}\n")
    (state / "neo4j-local.port").write_text("7801\n")
    try:
        yield state, proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_state_is_per_port_and_per_checkout(tmp_path: Path) -> None:
    home = tmp_path / "home"
    a, b = state_of(SCRIPT, home, 7801), state_of(SCRIPT, home, 7802)
    assert a != b and a.startswith(str(home / ".cache" / "neo4j-local")) and a.endswith("-7801")
    other = tmp_path / "other-checkout" / "tools" / "neo4j-local"
    other.mkdir(parents=True)
    shutil.copy(SCRIPT, other / SCRIPT.name)
    assert state_of(other / SCRIPT.name, home, 7801) != a


def test_start_on_another_port_refuses_instead_of_claiming_it(fake_server: tuple[Path, int]) -> None:
    state, pid = fake_server
    done = run(SCRIPT, "start", NEO4J_LOCAL_HOME=str(state), NEO4J_LOCAL_PORT="7802")
    assert done.returncode == 1
    assert "already running" not in done.stdout and "NEO4J_URI=bolt://127.0.0.1:7802" not in done.stdout
    assert f"pid {pid}" in done.stderr and "port 7801, not 7802" in done.stderr
    status = run(SCRIPT, "status", NEO4J_LOCAL_HOME=str(state), NEO4J_LOCAL_PORT="7802")
    assert status.returncode == 1 and "bolt://127.0.0.1:7801, not on port 7802" in status.stdout
    same = run(SCRIPT, "status", NEO4J_LOCAL_HOME=str(state), NEO4J_LOCAL_PORT="7801")
    assert same.returncode == 0 and "NEO4J_URI=bolt://127.0.0.1:7801" in same.stdout
