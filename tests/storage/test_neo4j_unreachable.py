"""An unreachable Neo4j (connection refused) fails fast, with exit 3 and exactly one error line.

No server is needed: nothing listens on the port (a socket is bound, its port read, then closed).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from lineage.errors import BackendUnavailableError
from lineage.storage import open_store


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize("scheme", ["bolt", "neo4j"])
def test_refused_connection_fails_within_two_seconds(scheme: str) -> None:
    import lineage.storage.neo4j  # noqa: F401  (import time is not connection time)

    url = f"{scheme}://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError) as caught:
        open_store(url)
    assert time.monotonic() - started <= 2.0
    assert "\n" not in caught.value.message and url in caught.value.message


@pytest.mark.parametrize("scheme", ["bolt", "neo4j"])
def test_cli_prints_one_error_line_and_no_driver_logs(scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{_closed_port()}"
    proc = subprocess.run(
        [sys.executable, "-c", "from lineage.cli import main; main()", "search", "x", "--store", url],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 3
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error [BACKEND_UNAVAILABLE]: "), proc.stderr
    assert proc.stdout == ""
