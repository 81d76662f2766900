"""Progress bars of long commands: drawn on a terminal, absent from pipes and from --format json."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import yaml

CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    clean.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINEAGE_ACTOR": "alice"})
    return clean


def batch_file(tmp_path: Path, n: int = 300) -> Path:
    nodes = [{"kind": "Dataset", "namespace": "wh", "name": f"t{i}", "version": "1"} for i in range(n)]
    edges = [{"from": f"dataset:wh/t{i}@1", "type": "FEEDS", "to": f"dataset:wh/t{i + 1}@1"} for i in range(n - 1)]
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump({"nodes": nodes, "edges": edges}))
    return path


def on_terminal(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal: (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                            env=env(), cwd=cwd)
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    return proc.wait(timeout=60), stdout, shown.decode(errors="replace")


def piped(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env(), cwd=cwd, timeout=120)


def test_register_file_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    batch = batch_file(tmp_path)
    store = f"sqlite:///{tmp_path / 'a.db'}"
    code, stdout, terminal = on_terminal("register", "--file", str(batch), "--store", store, cwd=tmp_path)
    assert code == 0, terminal
    assert "validating 599 nodes and edges" in terminal or "registering 599 nodes and edges" in terminal, terminal
    assert "300 nodes created" in stdout
    again = piped("register", "--file", str(batch), "--store", f"sqlite:///{tmp_path / 'b.db'}", cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == ""
    code, stdout, terminal = on_terminal("register", "--file", str(batch), "--store", f"sqlite:///{tmp_path / 'c.db'}",
                                         "--format", "json", cwd=tmp_path)
    assert code == 0 and json.loads(stdout)["nodes_created"] == 300
    assert "validating" not in terminal and "registering" not in terminal


def test_import_openlineage_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    events = [
        {
            "eventType": kind, "eventTime": f"2026-03-01T06:{i:02d}:00+00:00", "producer": "https://x/p",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": f"00000000-0000-4000-8000-{i:012d}"}, "job": {"namespace": "p", "name": f"j{i}"},
            "inputs": [], "outputs": [{"namespace": "wh", "name": f"t{i}"}],
        }
        for i in range(20) for kind in ("START", "COMPLETE")
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    store = f"sqlite:///{tmp_path / 'a.db'}"
    code, stdout, terminal = on_terminal("import", "openlineage", str(path), "--store", store, cwd=tmp_path)
    assert code == 0, terminal
    assert "importing 40 OpenLineage events" in terminal and "imported 40 events" in stdout
    quiet = piped("import", "openlineage", str(path), "--store", f"sqlite:///{tmp_path / 'b.db'}", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "" and "imported 40 events" in quiet.stdout
