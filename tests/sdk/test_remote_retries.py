"""The remote client retries with backoff on connection errors and 502/503/504 (every operation it
sends is idempotent, registration included), within a bounded total time, then fails clearly.

The policy is checked with a scripted transport and a fake clock (exact delays and attempt counts);
the real case with a real server that starts while a registration is already retrying, and with the
CLI against a port where nothing listens.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from lineage_server import CLI, clean_env, free_port, make_token, run_cli

from lineage import Client
from lineage.errors import BackendUnavailableError
from lineage.model import parse_batch
from lineage.sdk.remote import REGISTER, RemoteBackend, RetryPolicy

BATCH = parse_batch({"nodes": [{"kind": "Dataset", "namespace": "ci", "name": "orders", "version": "1"}]})
OK = {"data": {"register": {"nodesCreated": 1, "nodesUpdated": 0, "edgesCreated": 0, "unchanged": 0,
                            "auditSeq": 1, "recordedAt": None, "nodeIds": ["dataset:ci/orders@1"]}}}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(answers: list[Any]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0) if answers else httpx.Response(200, json=OK)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    return httpx.MockTransport(handler), seen


def backend(answers: list[Any], retry_for: float = 30.0) -> tuple[RemoteBackend, FakeTime, list[httpx.Request]]:
    fake = FakeTime()
    transport, seen = scripted(answers)
    policy = RetryPolicy(retry_for, sleep=fake.sleep, clock=fake.clock, rng=random.Random(7))
    return RemoteBackend("http://lineage.test", None, transport=transport, retry=policy), fake, seen


def test_connection_errors_and_503_are_retried_with_growing_backoff() -> None:
    refused = httpx.ConnectError("connection refused")
    remote, fake, seen = backend([refused, refused, httpx.Response(503), httpx.Response(502), refused])
    result = remote.register(BATCH)
    assert result.nodes_created == 1 and len(seen) == 6
    assert all(r.content == seen[0].content for r in seen)  # the same idempotent request each time
    caps = [min(5.0, 0.2 * 2**n) for n in range(1, 6)]
    assert all(0.1 <= d <= cap for d, cap in zip(fake.sleeps, caps, strict=True))


def test_retry_after_is_honoured_and_capped() -> None:
    remote, fake, _ = backend([httpx.Response(503, headers={"Retry-After": "2"}),
                               httpx.Response(503, headers={"Retry-After": "3600"})])
    remote.register(BATCH)
    assert fake.sleeps == [2.0, 5.0]


def test_total_time_is_bounded_and_the_final_error_is_clear() -> None:
    remote, fake, seen = backend([httpx.ConnectError("connection refused")] * 1000, retry_for=20.0)
    with pytest.raises(BackendUnavailableError) as caught:
        remote.call(REGISTER, {"batch": {"nodes": [], "edges": []}})
    assert fake.now <= 20.0 and len(seen) > 3
    message = caught.value.message
    assert f"after {len(seen)} attempt(s)" in message and "last error: ConnectError: connection refused" in message
    assert caught.value.exit_code == 3


def test_other_answers_are_not_retried() -> None:
    bad = httpx.Response(200, json={"errors": [{"message": "nope", "extensions": {"code": "BAD_INPUT"}}]})
    remote, fake, seen = backend([bad])
    with pytest.raises(Exception, match="nope"):
        remote.register(BATCH)
    assert len(seen) == 1 and not fake.sleeps
    remote, fake, seen = backend([httpx.Response(503)], retry_for=0)
    with pytest.raises(BackendUnavailableError, match="HTTP 503"):
        remote.register(BATCH)
    assert len(seen) == 1


def test_registration_succeeds_once_a_late_server_comes_up(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'late.db'}"
    token = make_token(store)
    port = free_port()
    started: list[subprocess.Popen[bytes]] = []

    def start_late() -> None:
        time.sleep(1.5)
        started.append(subprocess.Popen([*CLI, "serve", "--port", str(port), "--store", store, "--log-level",
                                         "warning"], env=clean_env(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))

    thread = threading.Thread(target=start_late)
    thread.start()
    try:
        began = time.monotonic()
        with Client(f"http://127.0.0.1:{port}", token=token, retry_for=60) as client:
            result = client.register(BATCH)
        assert result.nodes_created == 1 and time.monotonic() - began >= 1.5
        with Client(f"http://127.0.0.1:{port}", token=token) as client:
            assert client.register(BATCH).unchanged == 1  # a retried registration is a no-op
    finally:
        thread.join()
        for proc in started:
            proc.terminate()
            proc.wait(timeout=30)


def test_cli_register_gives_up_after_the_retry_budget(tmp_path: Path) -> None:
    batch = tmp_path / "b.yaml"
    batch.write_text("nodes:\n  - {kind: Dataset, namespace: ci, name: orders, version: 1}\n")
    began = time.monotonic()
    done = run_cli("register", "--file", str(batch), "--server", f"http://127.0.0.1:{free_port()}",
                   env=clean_env(LINEAGE_RETRY_FOR="1.5", LINEAGE_TOKEN="x"))
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error [BACKEND_UNAVAILABLE]: cannot reach the lineage server")
    assert "attempt(s) over" in lines[0] and time.monotonic() - began < 30
