"""End to end: a real `lineage serve` process on a free loopback port, tokens made by the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lineage.cli import build_app
from lineage.demo import CORRUPTED, build_demo_batch
from lineage.storage import AuditFilter, GraphStore, open_store
from tests.api.conftest import neo4j_options

CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_env() -> dict[str, str]:
    """The environment for CLI subprocesses: no stray LINEAGE_* settings, Neo4j credentials passed on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    for key in ("USER", "PASSWORD", "DATABASE"):
        if os.environ.get(f"NEO4J_{key}"):
            env[f"LINEAGE_NEO4J_{key}"] = os.environ[f"NEO4J_{key}"]
    return env


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=cli_env(), check=False)


def open_url(url: str) -> GraphStore:
    if url.startswith("sqlite"):
        return open_store(url)
    options = neo4j_options()
    return open_store(url, user=options["neo4j_user"], password=options["neo4j_password"],
                      database=options["neo4j_database"])


@pytest.fixture
def store_file(store_url: str) -> str:
    """The demo graph in a fresh store of each backend."""
    store = open_url(store_url)
    try:
        store.register(build_demo_batch(), principal="user:seed", source="test")
    finally:
        store.close()
    return store_url


@pytest.fixture
def server(store_file: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    made = run_cli("token", "create", "ci-e2e", "--role", "writer", "--store", store_file)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("lin_") and "\n" not in secret
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    env = cli_env()
    proc = subprocess.Popen(
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--store", store_file, "--mode", "production",
         "--workers", "2", "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"lineage serve exited with {proc.returncode}: {(tmp_path / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("lineage serve did not become ready in 60 s")
            time.sleep(0.2)
        yield base, secret
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_served_process_end_to_end(server: tuple[str, str], store_file: str) -> None:
    base, secret = server
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        impact = client.post(
            "/graphql",
            json={"query": "query I($id: ID!) { impact(id: $id) { total productionDeployments { node { id } } } }",
                  "variables": {"id": CORRUPTED}},
        ).json()
        assert impact["data"]["impact"]["total"] > 50
        register = (
            'mutation { register(batch: {nodes: [{kind: DATASET, namespace: "e2e", name: "t", version: "1"}]}) '
            "{ changed auditSeq } }"
        )
        refused = client.post("/graphql", json={"query": register}).json()
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        done = client.post("/graphql", json={"query": register}, headers={"Authorization": f"Bearer {secret}"}).json()
        seq = done["data"]["register"]["auditSeq"]
        assert done["data"]["register"]["changed"] is True
        assert client.get("/graphql", headers={"Accept": "text/html"}).status_code == 404  # no GraphiQL in production
        bad = client.post("/graphql", content=b"{nope", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
        assert "lineage_graphql_requests_total" in client.get("/metrics").text
        # keep-alive responses are not held back by Nagle's algorithm (TCP_NODELAY with several workers)
        timings = []
        for _ in range(11):
            t0 = time.perf_counter()
            client.get("/healthz")
            timings.append(time.perf_counter() - t0)
        assert sorted(timings)[5] < 0.035, timings
    store = open_url(store_file)
    try:
        entry = store.audit_entries(AuditFilter(after_seq=seq - 1, limit=1))[0]
        assert (entry.principal, entry.source) == ("token:ci-e2e", "api")
    finally:
        store.close()


def test_token_commands(store_file: str) -> None:
    runner = CliRunner()
    app = build_app()
    made = runner.invoke(app, ["token", "create", "nightly", "--role", "writer", "-n", "sandbox", "-n", "ml",
                               "--store", store_file, "--format", "json"])
    assert made.exit_code == 0, made.output
    assert '"secret": "lin_' in made.stdout
    listed = runner.invoke(app, ["token", "list", "--store", store_file, "--format", "json"])
    assert '"nightly"' in listed.stdout and "lin_" not in listed.stdout and '"sandbox"' in listed.stdout
    assert runner.invoke(app, ["token", "revoke", "nightly", "--store", store_file]).exit_code == 0
    again = runner.invoke(app, ["token", "revoke", "nightly", "--store", store_file])
    assert again.exit_code == 2 and "NOT_FOUND" in again.output
    wrong = runner.invoke(app, ["token", "create", "x", "--role", "superuser", "--store", store_file])
    assert wrong.exit_code == 2 and "unknown role" in wrong.output
    everything = runner.invoke(app, ["token", "list", "--all", "--store", store_file])
    assert "nightly" in everything.stdout


def test_schema_export_check(tmp_path: Path) -> None:
    runner = CliRunner()
    app = build_app()
    target = tmp_path / "schema.graphql"
    assert runner.invoke(app, ["schema", "export", "--check", "-o", str(target)]).exit_code == 1
    assert runner.invoke(app, ["schema", "export", "-o", str(target)]).exit_code == 0
    assert runner.invoke(app, ["schema", "export", "--check", "-o", str(target)]).exit_code == 0
    target.write_text(target.read_text() + "# edited\n")
    assert runner.invoke(app, ["schema", "export", "--check", "-o", str(target)]).exit_code == 1


def test_serve_refuses_an_unreachable_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_app(), ["serve", "--store", f"sqlite:///{tmp_path / 'missing' / 'x.db'}"])
    assert result.exit_code == 3
    assert "BACKEND_UNAVAILABLE" in result.output


def test_serve_reports_an_address_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", "--port", str(port), "--store", f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 2, done.stderr
    assert "address already in use" in done.stderr
    # one error line, and no claim to be serving before it
    assert done.stderr.splitlines() == [
        f"error [BAD_INPUT]: cannot serve on 127.0.0.1:{port}: address already in use; "
        "choose another with --port or stop what uses it"
    ]
    assert "serving" not in done.stdout + done.stderr
