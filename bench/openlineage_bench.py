"""Benchmark OpenLineage ingestion over HTTP with the real openlineage-python client, and the CI hook.

    python bench/openlineage_bench.py --jobs 40 --days 25 --clients 8 [--backends sqlite,neo4j]

For each backend: start ``lineage serve`` on an empty store with a writer token, then send a
generated workload (a DAG of --jobs jobs running once a day for --days days, a START and a
COMPLETE event per run, each with inputs, an output and a schema facet) through
``OpenLineageClient`` with its HTTP transport, unchanged:

- sequential: one client sends --sequential events one after another (latency-bound);
- concurrent: --clients processes, each with its own client, send the rest; every run's events go
  through one client, in order. Throughput is events acknowledged (HTTP 201) per wall-clock second.
- rate (light clients): --light-clients processes post pre-serialised events (START and COMPLETE of
  distinct runs, one event per POST) over keep-alive connections with the standard library's
  http.client for --rate-seconds, so the figure is the server's, not the client's; the server's CPU
  time per event (every worker process) is read from /proc. The real client's own ceiling is
  measured beside it against a server that answers 201 and does nothing.
- mapper: the same events parsed, landed and mapped in one process without HTTP, in groups as the
  endpoint's group commit makes them: the mapper's own rate on one core.

``--compare DIR`` runs the rate and mapper phases also with another source tree of the project (for
example ``git archive <commit> | tar -x -C DIR``), side by side in one run, so that a change is
measured against
its base under the same load:

    python bench/openlineage_bench.py --phases rate,mapper --compare /tmp/main-tree --workers 2

Then the CI hook: ``lineage register`` (the real command, process start included) in a git
checkout with a lineage.yaml, --hook-runs times against the store file and through the server,
each a new CI run, each followed by a retry (which registers nothing). Figures are printed, never
asserted. Neo4j runs only when --backends names it; its database must be empty (or pass
--neo4j-wipe).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]
PRODUCER = "https://github.com/acme/bench/openlineage_bench.py"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


# -- workload -------------------------------------------------------------------------------------


def workload(jobs: int, days: int, seed: int) -> list[list[dict[str, Any]]]:
    """Runs (each a list of its events, in order): job j reads up to 3 earlier jobs' tables."""
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    deps = {j: sorted(rng.sample(range(j), min(j, rng.randint(1, 3)))) for j in range(jobs)}
    runs = []
    for day in range(days):
        for j in range(jobs):
            run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            start = base + timedelta(days=day, minutes=3 * j)
            inputs = [{"namespace": "postgres://warehouse:5432", "name": f"analytics.table_{i}"} for i in deps[j]]
            if not deps[j]:
                inputs = [{"namespace": "s3://acme-raw", "name": f"events/source_{j}"}]
            fields = [{"name": f"col_{c}", "type": "BIGINT" if c % 2 else "VARCHAR"} for c in range(10)]
            outputs = [
                {
                    "namespace": "postgres://warehouse:5432",
                    "name": f"analytics.table_{j}",
                    "facets": {
                        "schema": {
                            "_producer": PRODUCER,
                            "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                            "fields": fields,
                        }
                    },
                }
            ]
            events = []
            for kind, at in (("START", start), ("COMPLETE", start + timedelta(minutes=2))):
                events.append(
                    {
                        "eventType": kind,
                        "eventTime": at.isoformat(),
                        "producer": PRODUCER,
                        "schemaURL": SCHEMA_URL,
                        "run": {"runId": run_id, "facets": {}},
                        "job": {"namespace": "airflow-bench", "name": f"dag.task_{j}", "facets": {}},
                        "inputs": inputs,
                        "outputs": outputs,
                    }
                )
            runs.append(events)
    return runs


# -- sending with the real client -----------------------------------------------------------------


def client(url: str, token: str) -> Any:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config = HttpConfig.from_dict({"url": url, "timeout": 60, "auth": {"type": "api_key", "apiKey": token}})
    return OpenLineageClient(transport=HttpTransport(config))


def to_event(raw: dict[str, Any]) -> Any:
    """A workload dict as the client's own RunEvent class, so ``OpenLineageClient.emit`` sends it."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import schema_dataset

    def output(d: dict[str, Any]) -> Any:
        fields = [
            schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"])
            for f in d["facets"]["schema"]["fields"]
        ]
        return OutputDataset(
            d["namespace"], d["name"], facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}
        )

    return RunEvent(
        eventType=RunState(raw["eventType"]),
        eventTime=raw["eventTime"],
        producer=raw["producer"],
        run=Run(runId=raw["run"]["runId"]),
        job=Job(namespace=raw["job"]["namespace"], name=raw["job"]["name"]),
        inputs=[InputDataset(d["namespace"], d["name"]) for d in raw["inputs"]],
        outputs=[output(d) for d in raw["outputs"]],
    )


def send(
    url: str, token: str, runs: list[list[dict[str, Any]]], start_at: float
) -> tuple[int, list[float], str, float]:
    """Emit every event of ``runs`` from ``start_at`` (epoch s); (sent, latencies s, first error, end time)."""
    ol = client(url, token)
    events = [to_event(e) for run in runs for e in run]
    while time.time() < start_at:
        time.sleep(0.001)
    latencies, error = [], ""
    for event in events:
        t0 = time.perf_counter()
        try:
            ol.emit(event)
        except Exception as exc:  # a failed request is counted, not fatal
            error = error or repr(exc)
            continue
        latencies.append(time.perf_counter() - t0)
    return len(latencies), latencies, error, time.time()


def _send_star(args: tuple[str, str, list[list[dict[str, Any]]], float]) -> tuple[int, list[float], str, float]:
    return send(*args)


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# -- server and stores ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def env_for(args: argparse.Namespace, tree: Path | None = None) -> dict[str, str]:
    """The environment of a child process; with ``tree``, it imports ``lineage`` from that source tree
    (run it outside the checkout: ``python -c`` puts the working directory first on the path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "GITHUB_", "GITLAB_", "CI"))}
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    env["LINEAGE_NEO4J_USER"] = args.neo4j_user
    if args.neo4j_password:
        env["LINEAGE_NEO4J_PASSWORD"] = args.neo4j_password
    return env


def cli(
    args: argparse.Namespace, *argv: str, cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *argv], capture_output=True, text=True, cwd=cwd, env={**env_for(args), **extra}, check=False, timeout=300
    )


def prepare_store(backend: str, args: argparse.Namespace) -> str:
    if backend == "sqlite":
        db = args.workdir / "openlineage-bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{db}"
    from lineage.storage import open_store

    store = open_store(args.neo4j_uri, user=args.neo4j_user, password=args.neo4j_password, database=args.neo4j_database)
    try:
        if store.counts().get("nodes", 0) or store.counts().get("raw_events", 0):
            wipe = getattr(store, "wipe", None)
            if not args.neo4j_wipe or wipe is None:
                raise SystemExit(f"the Neo4j database at {args.neo4j_uri} is not empty; pass --neo4j-wipe")
            wipe()
    finally:
        store.close()
    return str(args.neo4j_uri)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and every live descendant (server worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        here = todo.pop()
        used = cpu_seconds(here)
        if used == used:  # not NaN: the process still exists
            total += used
        todo.extend(children.get(here, []))
    return total


@contextmanager
def server(url: str, args: argparse.Namespace, tree: Path | None = None) -> Iterator[str]:
    port = free_port()
    log_path = args.workdir / f"serve-{port}.log"
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
                url,
                "--mode",
                "production",
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                *(["--openlineage-ack", "landed"] if getattr(args, "ack", "mapped") == "landed" else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env_for(args, tree),
            cwd=args.workdir,  # not the checkout: `python -c` would import its lineage before --compare's
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"lineage serve exited: {log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("lineage serve did not become ready")
                time.sleep(0.2)
            args.server_pid = proc.pid
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- phases ---------------------------------------------------------------------------------------


def make_token(url: str, args: argparse.Namespace) -> str:
    made = cli(args, "token", "create", f"bench-{time.time_ns()}", "--role", "writer", "--store", url)
    if made.returncode != 0:
        raise SystemExit(made.stderr)
    return made.stdout.strip()


def ingest(backend: str, url: str, base: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    runs = workload(args.jobs, args.days, args.seed)
    total = sum(len(r) for r in runs)
    split = max(1, min(len(runs) - 1, args.sequential // 2))
    print(f"[{backend}] sequential: 1 client, {split * 2} events", flush=True)
    t0 = time.perf_counter()
    sent, latencies, error, _ = send(base, token, runs[:split], 0.0)
    seq_s = time.perf_counter() - t0
    rest = runs[split:]
    shares: list[list[list[dict[str, Any]]]] = [[] for _ in range(args.clients)]
    for i, run in enumerate(rest):
        shares[i % args.clients].append(run)
    print(
        f"[{backend}] concurrent: {args.clients} client processes, {total - split * 2} events "
        f"(load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.clients) as pool:
        start_at = time.time() + 5.0  # every process has built its client and events by then
        results = pool.map(_send_star, [(base, token, share, start_at) for share in shares])
    conc_s = max(1e-9, max(r[3] for r in results) - start_at)
    conc_sent = sum(r[0] for r in results)
    conc_lat = [x for r in results for x in r[1]]
    errors = [r[2] for r in results if r[2]] + ([error] if error else [])
    if args.ack == "landed":
        drained(base, token)  # count what is stored once every accepted event is mapped
    from lineage.storage import open_store

    options: dict[str, Any] = {}
    if not url.startswith("sqlite"):
        options = {"user": args.neo4j_user, "password": args.neo4j_password, "database": args.neo4j_database}
    with open_store(url, **options) as st:
        counts = st.counts()
    return {
        "backend": backend,
        "events": total,
        "runs": len(runs),
        "sequential": {
            "events": sent,
            "seconds": seq_s,
            "events_per_s": sent / seq_s,
            "p50_ms": pct(latencies, 0.5) * 1e3,
            "p95_ms": pct(latencies, 0.95) * 1e3,
        },
        "concurrent": {
            "clients": args.clients,
            "events": conc_sent,
            "seconds": conc_s,
            "events_per_s": conc_sent / conc_s,
            "p50_ms": pct(conc_lat, 0.5) * 1e3,
            "p95_ms": pct(conc_lat, 0.95) * 1e3,
        },
        "stored": counts,
        "errors": errors[:3],
    }


# -- light clients: the server's own rate ---------------------------------------------------------


def post_raw(
    base: str, token: str, bodies: list[bytes], start_at: float, connections: int, seconds: float = 0.0
) -> tuple[int, list[float], str, float, float]:
    """POST each body (one event) over ``connections`` keep-alive connections, round robin by run.

    (acknowledged, latencies s, first error, end time, client CPU s). Each connection sends its
    events one after another; the connections run in threads. With ``seconds``, sending stops
    that long after ``start_at`` (the rate is then sustained over a fixed window).
    """
    import http.client
    import threading
    from urllib.parse import urlsplit

    where = urlsplit(base)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    shares = [bodies[i::connections] for i in range(connections)]
    latencies: list[float] = []
    errors: list[str] = []
    acked = [0]
    lock = threading.Lock()

    def work(share: list[bytes]) -> None:
        conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port or 80, timeout=60)
        mine = []
        ok = 0
        stop = start_at + seconds if seconds else float("inf")
        for body in share:
            if time.time() >= stop:
                break
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/lineage", body, headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port or 80, timeout=60)
                continue
            if response.status in (201, 202):
                ok += 1
                mine.append(time.perf_counter() - t0)
            elif not errors:
                errors.append(f"HTTP {response.status}")
        conn.close()
        with lock:
            latencies.extend(mine)
            acked[0] += ok

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    while time.time() < start_at:
        time.sleep(0.001)
    c0 = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acked[0], latencies, errors[0] if errors else "", time.time(), time.process_time() - c0


def _post_raw_star(
    args: tuple[str, str, list[bytes], float, int, float],
) -> tuple[int, list[float], str, float, float]:
    return post_raw(*args)


def rate_workload(args: argparse.Namespace) -> list[list[bytes]]:
    """Runs of a larger workload (--rate-days), each as its pre-serialised START and COMPLETE."""
    runs = workload(args.jobs, args.rate_days, args.seed + 1)
    return [[json.dumps(e).encode() for e in run] for run in runs]


def spread(runs: list[list[bytes]], clients: int) -> list[list[bytes]]:
    """Each client gets whole runs; its events are ordered START-of-all-its-runs-by-time, so a run's
    START is sent before its COMPLETE while distinct runs interleave, as a scheduler emits them."""
    shares: list[list[bytes]] = [[] for _ in range(clients)]
    for i, run in enumerate(runs):
        shares[i % clients].extend(run)
    return shares


def drained(base: str, token: str, timeout: float = 600.0) -> float:
    """When the server's OpenLineage intake was found empty (polled every 20 ms): every event
    acknowledged before then is mapped."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.time() + timeout
    with httpx.Client(timeout=10) as http:
        while time.time() < deadline:
            status = http.get(f"{base}/api/v1/lineage/intake", headers=headers).json()
            if status["waiting"] == 0:
                return time.time()
            time.sleep(0.02)
    raise SystemExit("the intake did not drain")


def light(backend: str, base: str, token: str, args: argparse.Namespace, label: str = "") -> dict[str, Any]:
    runs = rate_workload(args)
    shares = spread(runs, args.light_clients)
    total = sum(len(s) for s in shares)
    print(
        f"[{backend}{label and ' ' + label}] rate: {args.light_clients} light client processes x "
        f"{args.connections} connections, up to {total} events for {args.rate_seconds:g} s, {args.workers} "
        f"server worker(s) (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.light_clients) as pool:
        start_at = time.time() + 3.0
        pending = pool.map_async(
            _post_raw_star, [(base, token, share, start_at, args.connections, args.rate_seconds) for share in shares]
        )
        while time.time() < start_at:
            time.sleep(0.001)
        cpu0 = tree_cpu_seconds(args.server_pid)
        load0 = os.getloadavg()[0]
        results = pending.get()
        mapped_at = drained(base, token) if args.ack == "landed" else None
        cpu1 = tree_cpu_seconds(args.server_pid)
    seconds = max(1e-9, max(r[3] for r in results) - start_at)
    acked = sum(r[0] for r in results)
    lat = [x for r in results for x in r[1]]
    return {
        "ack": args.ack,
        # landed: every acknowledged event mapped into the graph, per second since the start
        "mapped_per_s": acked / max(1e-9, mapped_at - start_at) if mapped_at else None,
        "backend": backend,
        "code": label or "this tree",
        "workers": args.workers,
        "clients": args.light_clients,
        "connections": args.connections,
        "events": total,
        "acknowledged": acked,
        "seconds": seconds,
        "events_per_s": acked / seconds,
        "p50_ms": pct(lat, 0.5) * 1e3,
        "p95_ms": pct(lat, 0.95) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "server_cpu_ms_per_event": (cpu1 - cpu0) * 1e3 / max(1, acked),
        "client_cpu_ms_per_event": sum(r[4] for r in results) * 1e3 / max(1, acked),
        "errors": [r[2] for r in results if r[2]][:3],
        "load_average": os.getloadavg()[0],
        "load_average_before": load0,
    }


NULL_SERVER = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def real_client_ceiling(args: argparse.Namespace) -> dict[str, Any]:
    """The real openlineage-python client against a server that answers 201 and does nothing."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", NULL_SERVER, str(port)], env=env_for(args))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(base, content=b"{}", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the do-nothing server did not start") from None
                time.sleep(0.1)
        runs = workload(args.jobs, args.days, args.seed)
        shares: list[list[list[dict[str, Any]]]] = [[] for _ in range(args.clients)]
        for i, run in enumerate(runs):
            shares[i % args.clients].append(run)
        ctx = mp.get_context("spawn")
        with ctx.Pool(args.clients) as pool:
            start_at = time.time() + 5.0
            results = pool.map(_send_star, [(base, "x", share, start_at) for share in shares])
        seconds = max(1e-9, max(r[3] for r in results) - start_at)
        sent = sum(r[0] for r in results)
        lat = [x for r in results for x in r[1]]
        return {"clients": args.clients, "events": sent, "events_per_s": sent / seconds,
                "p50_ms": pct(lat, 0.5) * 1e3, "p95_ms": pct(lat, 0.95) * 1e3}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


HOOK_YAML = """\
job: {name: train.bench-model, namespace: ml-bench, owners: [team-bench]}
inputs:
  - {kind: Dataset, namespace: warehouse, name: features, version: "${FEATURES_VERSION:-v1}"}
model: {namespace: ml, name: bench-model, version: "${MODEL_VERSION}"}
deployment: {namespace: staging, name: bench-api}
"""


def hook(backend: str, url: str, base: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    """`lineage register` latency: new CI runs and retries, against the store and through the server."""
    repo = args.workdir / f"hook-repo-{backend}"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    for argv in (
        ["init", "-q"],
        ["config", "user.email", "bench@acme.com"],
        ["config", "user.name", "Bench"],
        ["remote", "add", "origin", "https://github.com/acme/bench.git"],
    ):
        subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True)
    (repo / "lineage.yaml").write_text(HOOK_YAML)
    subprocess.run(["git", "add", "."], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-q", "-m", "bench"], cwd=repo, check=True, capture_output=True)
    out: dict[str, Any] = {"backend": backend}
    extra_store = {"LINEAGE_NEO4J_USER": args.neo4j_user}
    for target, argv, env in (
        ("store", ["--store", url], extra_store),
        ("server", ["--server", base], {"LINEAGE_TOKEN": token}),
    ):
        new, retry = [], []
        for i in range(args.hook_runs):
            ci = {
                "GITHUB_ACTIONS": "true",
                "GITHUB_RUN_ID": f"{time.time_ns()}{i}",
                "GITHUB_ACTOR": "bench",
                "GITHUB_REPOSITORY": "acme/bench",
                "MODEL_VERSION": str(i),
                **env,
            }
            for bucket in (new, retry):
                t0 = time.perf_counter()
                done = cli(args, "register", *argv, cwd=repo, **ci)
                bucket.append(time.perf_counter() - t0)
                if done.returncode != 0:
                    raise SystemExit(f"lineage register failed: {done.stderr}")
        out[target] = {
            "new_p50_ms": pct(new, 0.5) * 1e3,
            "new_p95_ms": pct(new, 0.95) * 1e3,
            "retry_p50_ms": pct(retry, 0.5) * 1e3,
            "retry_p95_ms": pct(retry, 0.95) * 1e3,
        }
    # the same work without process start: read lineage.yaml, run git, build and register the batch
    from lineage.ingest.manifest import Overrides, prepare
    from lineage.storage import open_store

    options: dict[str, Any] = {}
    if not url.startswith("sqlite"):
        options = {"user": args.neo4j_user, "password": args.neo4j_password, "database": args.neo4j_database}
    inproc = []
    with open_store(url, **options) as store:
        for i in range(args.hook_runs):
            ci = {
                "GITHUB_ACTIONS": "true",
                "GITHUB_RUN_ID": f"inproc-{time.time_ns()}{i}",
                "GITHUB_ACTOR": "bench",
                "GITHUB_REPOSITORY": "acme/bench",
                "MODEL_VERSION": f"inproc-{i}",
            }
            t0 = time.perf_counter()
            registration = prepare(repo, ci, Overrides())
            store.register(registration.batch, principal="bench", source="bench")
            inproc.append(time.perf_counter() - t0)
    out["in_process_p50_ms"] = statistics.median(inproc) * 1e3
    startup = []
    for _ in range(max(3, args.hook_runs // 2)):
        t0 = time.perf_counter()
        cli(args, "--help")
        startup.append(time.perf_counter() - t0)
    out["cli_startup_p50_ms"] = statistics.median(startup) * 1e3
    return out


def in_process(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """The same workload mapped without HTTP: one event per transaction, and groups of 200."""
    from lineage.ingest.openlineage import OpenLineageIngester
    from lineage.storage import open_store

    events = [e for run in workload(args.jobs, args.days, args.seed) for e in run]
    out: dict[str, Any] = {"backend": backend, "events": len(events)}
    for mode, group in (("one by one", 1), ("groups of 200", 200)):
        url = (
            prepare_store(backend, args) if backend != "sqlite" else f"sqlite:///{args.workdir / f'inproc-{group}.db'}"
        )
        if backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{args.workdir / f'inproc-{group}.db'}{suffix}").unlink(missing_ok=True)
        options: dict[str, Any] = {}
        if backend != "sqlite":
            options = {"user": args.neo4j_user, "password": args.neo4j_password, "database": args.neo4j_database}
        with open_store(url, **options) as store:
            ingester = OpenLineageIngester(store, principal="bench")
            t0 = time.perf_counter()
            if group == 1:
                for event in events:
                    ingester.ingest(event)
            else:
                for i in range(0, len(events), group):
                    ingester.ingest_many(events[i : i + group])
            out[mode] = len(events) / (time.perf_counter() - t0)
    return out


MAPPER = """
import json, os, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import openlineage_bench as bench
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.ingest.openlineage_events import parse_event
from lineage.storage import open_store
args = bench.parse_args(["--rate-days", sys.argv[3], "--jobs", sys.argv[4]])
group = int(sys.argv[5])
if sys.argv[6] == "arrival":
    bodies = bench.arrival_order(bench.rate_workload(args), args.light_clients, args.connections, args.seed)
else:
    shares = bench.spread(bench.rate_workload(args), group)
    bodies = [share[i] for i in range(max(map(len, shares))) for share in shares if i < len(share)]
with open_store("sqlite:///" + sys.argv[2]) as store:
    ingester = OpenLineageIngester(store, principal="bench")
    wall, cpu = time.perf_counter(), time.process_time()
    for at in range(0, len(bodies), group):
        payloads = [json.loads(b) for b in bodies[at : at + group]]
        events = [parse_event(p) for p in payloads]
        ingester.apply_many(events, principals=["bench"] * len(events), payloads=payloads)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
n = len(bodies)
out = {"events": n, "events_per_s": n / wall, "cpu_ms_per_event": cpu * 1e3 / n, "events_per_cpu_s": n / cpu}
print(json.dumps(out))
"""


def arrival_order(runs: list[list[bytes]], clients: int, connections: int, seed: int) -> list[bytes]:
    """The rate phase's events in an order the server may receive them: each light client's
    connections send their shares in order, the streams interleave at random, and the clients
    run at different speeds (each 10% slower than the one before), so some drift days behind:
    late events whose output versions re-link readers that arrived first."""
    import random

    rng = random.Random(seed)
    streams = [share[i::connections] for share in spread(runs, clients) for i in range(connections)]
    speed = [1.0 - 0.1 * (k // connections) for k in range(len(streams))]
    at = [0] * len(streams)
    live = [k for k, stream in enumerate(streams) if stream]
    out = []
    while live:
        k = rng.choices(live, weights=[speed[k] for k in live])[0]
        out.append(streams[k][at[k]])
        at[k] += 1
        if at[k] == len(streams[k]):
            live.remove(k)
    return out


def mapper(label: str, tree: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    """The mapper alone, in a process of its own (one core): the rate workload parsed, landed and
    mapped in groups of --mapper-group events, as the endpoint's group commit does under load;
    with --mapper-order arrival, in the order the rate phase's clients may deliver them."""
    db = args.workdir / f"mapper-{label.replace(' ', '-')}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", MAPPER, str(Path(__file__).resolve()), str(db), str(args.mapper_days), str(args.jobs),
         str(args.mapper_group), args.mapper_order],
        capture_output=True, text=True, env=env_for(args, tree), check=False, timeout=1800, cwd=args.workdir,
    )
    if done.returncode != 0:
        raise SystemExit(f"mapper run ({label}) failed: {done.stderr}")
    return {"code": label, "group": args.mapper_group, "order": args.mapper_order, "load_average": os.getloadavg()[0],
            **json.loads(done.stdout.strip().splitlines()[-1])}


# -- report ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    try:
        git = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except OSError:
        git = "?"
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git": git,
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "command": " ".join(["python", *sys.argv]),
    }


def report(
    ingests: list[dict[str, Any]],
    hooks: list[dict[str, Any]],
    inproc: list[dict[str, Any]],
    args: argparse.Namespace,
    rates: list[dict[str, Any]] | None = None,
    ceiling: dict[str, Any] | None = None,
    mappers: list[dict[str, Any]] | None = None,
) -> None:
    info = machine()
    print()
    print(f"command : {info['command']}")
    print(f"machine : {info['cores']} cores, {info['platform']}, Python {info['python']}, git {info['git']}")
    print(f"load    : 1/5/15-minute load average at the end {info['load_average']}")
    print(
        f"workload: {args.jobs} jobs x {args.days} days, START + COMPLETE per run; server with "
        f"{args.workers} worker(s); openlineage-python HttpTransport (no compression)"
    )
    print()
    head = f"{'backend':<8} {'mode':<11} {'clients':>7} {'events':>7} {'events/s':>9} {'p50 ms':>7} {'p95 ms':>7}"
    print(head)
    print("-" * len(head))
    for r in ingests:
        for mode in ("sequential", "concurrent"):
            m = r[mode]
            print(
                f"{r['backend']:<8} {mode:<11} {m.get('clients', 1):>7} {m['events']:>7} {m['events_per_s']:>9.0f} "
                f"{m['p50_ms']:>7.1f} {m['p95_ms']:>7.1f}"
            )
        print(
            f"  stored: {r['stored'].get('raw_events')} raw events, {r['stored'].get('nodes')} nodes, "
            f"{r['stored'].get('edges')} edges; errors: {r['errors'] or 'none'}"
        )
    for r in inproc:
        print(
            f"  {r['backend']:<8} in process, no HTTP: {r['one by one']:.0f} events/s one by one, "
            f"{r['groups of 200']:.0f} events/s in groups of 200 ({r['events']} events)"
        )
    if rates:
        print()
        print("Server rate with light clients (pre-serialised events, one per POST, keep-alive, http.client)")
        head = (f"{'backend':<8} {'code':<12} {'workers':>7} {'procs x conns':>13} {'events':>7} {'seconds':>7} "
                f"{'events/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'server CPU ms/ev':>16} "
                f"{'client CPU ms/ev':>16} {'load':>9}")
        print(head)
        print("-" * len(head))
        for r in rates:
            print(
                f"{r['backend']:<8} {r['code'][:12]:<12} {r['workers']:>7} "
                f"{str(r['clients']) + ' x ' + str(r['connections']):>13} {r['acknowledged']:>7} "
                f"{r['seconds']:>7.1f} {r['events_per_s']:>9.0f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
                f"{r['p99_ms']:>7.1f} {r['server_cpu_ms_per_event']:>16.2f} {r['client_cpu_ms_per_event']:>16.2f} "
                f"{r['load_average_before']:>4.1f}>{r['load_average']:<4.1f}"
            )
            if r.get("mapped_per_s"):
                print(f"  answered once landed: all {r['acknowledged']} events mapped into the graph at "
                      f"{r['mapped_per_s']:.0f} events/s from the start (server CPU counted until then)")
            if r["errors"]:
                print(f"  errors: {r['errors']}")
        if len(rates) > len({(r["backend"], r["code"]) for r in rates}):
            print("medians over the repetitions:")
            for backend, code in dict.fromkeys((r["backend"], r["code"]) for r in rates):
                mine = [r for r in rates if (r["backend"], r["code"]) == (backend, code)]
                rate = statistics.median(r["events_per_s"] for r in mine)
                p95 = statistics.median(r["p95_ms"] for r in mine)
                cpu = statistics.median(r["server_cpu_ms_per_event"] for r in mine)
                print(
                    f"  {backend:<8} {code[:12]:<12} {rate:>6.0f} events/s, p95 {p95:.0f} ms, "
                    f"server CPU {cpu:.2f} ms/event ({len(mine)} runs)"
                )
    if mappers:
        print()
        print(
            f"Mapper alone (sqlite, one process, groups of {mappers[0]['group']} events, {mappers[0]['order']} "
            "order, parse + land + map)"
        )
        for m in sorted(mappers, key=lambda m: m["code"] != "compare"):
            print(
                f"  {m['code'][:12]:<12} {m['events']} events: {m['events_per_s']:.0f} events/s wall, "
                f"{m['cpu_ms_per_event']:.2f} ms CPU per event ({m['events_per_cpu_s']:.0f} events per CPU second), "
                f"load {m['load_average']:.1f}"
            )
    if ceiling:
        real = [r for r in ingests if r.get("backend") == "sqlite"]
        beside = f"; against lineage serve (sqlite): {real[0]['concurrent']['events_per_s']:.0f}" if real else ""
        print(
            f"Real openlineage-python client, {ceiling['clients']} processes: ceiling against a do-nothing server "
            f"{ceiling['events_per_s']:.0f} events/s (p95 {ceiling['p95_ms']:.1f} ms){beside}"
        )
    print()
    print("CI hook: `lineage register` wall time per call, process start included (p50 / p95 ms)")
    for h in hooks:
        for target in ("store", "server"):
            t = h[target]
            print(
                f"  {h['backend']:<8} via {target:<6}  new run {t['new_p50_ms']:.0f} / {t['new_p95_ms']:.0f}   "
                f"retry (nothing new) {t['retry_p50_ms']:.0f} / {t['retry_p95_ms']:.0f}"
            )
        print(
            f"  {h['backend']:<8} of which `lineage --help` alone: {h['cli_startup_p50_ms']:.0f} ms; the same "
            f"registration in process (git, lineage.yaml, register): {h['in_process_p50_ms']:.0f} ms"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=40)
    p.add_argument("--days", type=int, default=25)
    p.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    p.add_argument("--sequential", type=int, default=400, help="events sent by the single client first")
    p.add_argument("--workers", type=int, default=1, help="lineage serve --workers")
    p.add_argument(
        "--ack",
        choices=("mapped", "landed"),
        default="mapped",
        help="lineage serve --openlineage-ack: answer once mapped (201) or once landed in the intake (202)",
    )
    p.add_argument("--hook-runs", type=int, default=10)
    p.add_argument("--light-clients", type=int, default=4, help="light client processes for the rate phase")
    p.add_argument("--connections", type=int, default=4, help="keep-alive connections per light client")
    p.add_argument("--rate-days", type=int, default=300, help="days of the rate workload (2 x jobs events a day)")
    p.add_argument("--rate-seconds", type=float, default=20.0, help="light clients stop sending after this long")
    p.add_argument("--mapper-days", type=int, default=20, help="days of the rate workload for the mapper phase")
    p.add_argument("--mapper-group", type=int, default=16, help="events per group commit in the mapper phase")
    p.add_argument(
        "--mapper-order",
        choices=("sequence", "arrival"),
        default="sequence",
        help="mapper phase: runs in sequence, or the rate phase's clients' arrival order (see arrival_order)",
    )
    p.add_argument(
        "--compare",
        type=Path,
        help="another source tree of the project (e.g. `git archive` of main); the rate and mapper phases "
        "run it too, side by side, labelled 'compare'",
    )
    p.add_argument("--repeat", type=int, default=1, help="rate and mapper runs per tree (taking turns)")
    p.add_argument(
        "--phases", default="real,rate,ceiling,hook,inproc,mapper", help="comma-separated phases to run"
    )
    p.add_argument("--backends", default="sqlite", help="comma-separated: sqlite, neo4j")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lineage-ol-bench")
    p.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    p.add_argument("--neo4j-user", default=os.environ.get("NEO4J_USER", "neo4j"))
    p.add_argument("--neo4j-password", default=os.environ.get("NEO4J_PASSWORD"))
    p.add_argument("--neo4j-database", default=os.environ.get("NEO4J_DATABASE"))
    p.add_argument("--neo4j-wipe", action="store_true", help="empty the Neo4j database first")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.workdir = args.workdir.resolve()  # child processes run in it, paths under it stay valid
    args.workdir.mkdir(parents=True, exist_ok=True)
    phases = {p.strip() for p in args.phases.split(",")}
    ingests, hooks, inproc, rates, mappers = [], [], [], [], []
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.compare is not None:
        trees.insert(0, ("compare", args.compare.resolve()))
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if phases & {"real", "hook"}:
            url = prepare_store(backend, args)
            token = make_token(url, args)
            with server(url, args) as base:
                if "real" in phases:
                    ingests.append(ingest(backend, url, base, token, args))
                if "hook" in phases:
                    print(f"[{backend}] CI hook: {args.hook_runs} runs and retries", flush=True)
                    hooks.append(hook(backend, url, base, token, args))
        if "rate" in phases:
            for _ in range(args.repeat):  # the trees take turns, so load changes hit both alike
                for label, tree in trees:
                    url = prepare_store(backend, args)
                    token = make_token(url, args)
                    with server(url, args, tree) as base:
                        rates.append(light(backend, base, token, args, label))
        if "inproc" in phases:
            print(f"[{backend}] in process, without HTTP", flush=True)
            inproc.append(in_process(backend, args))
    if "mapper" in phases:
        for _ in range(args.repeat):
            for label, tree in trees:
                print(f"[sqlite {label}] mapper alone, groups of {args.mapper_group}", flush=True)
                mappers.append(mapper(label, tree, args))
    ceiling = None
    if "ceiling" in phases:
        print(f"real client against a do-nothing server: {args.clients} processes", flush=True)
        ceiling = real_client_ceiling(args)
    report(ingests, hooks, inproc, args, rates, ceiling, mappers)
    if args.json:
        payload = {"machine": machine(), "ingest": ingests, "hook": hooks, "in_process": inproc, "rate": rates,
                   "real_client_ceiling": ceiling, "mapper": mappers}
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
