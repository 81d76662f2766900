"""Benchmark the GraphQL API: impact and provenance queries from concurrent clients against a real
``lineage serve`` process, on a generated ML-platform graph (bench/generate.py).

    python bench/graphql_bench.py --nodes 100000 --clients 16 --seconds 20 [--backends sqlite,neo4j]

For each backend: register the graph (SQLite: reused from --workdir when already built), create a
reader token, start ``lineage serve`` on a free loopback port, then for each query keep --clients
clients busy for --seconds, each sending its next request as soon as the last one is answered.
Start nodes are picked so their closures hold about 10, 100 and 1,000 nodes, used in equal turns.
Latency is measured by the clients (request sent to response read, HTTP included). Figures are
printed, never asserted.

``--workers 1,2,3`` serves with each worker count, ``--baseline-src DIR`` also serves the
``lineage`` package of another source tree (``git archive <commit> lineage | tar -x -C DIR``), and
``--rounds N`` lets these variants take turns N times per query, so that changes of the machine's
load hit them all alike; the table has one row per variant. ``--response-cache on,off`` serves this
code with and without the response cache (off: every request is executed, as a question never asked
before is), and ``--write-rate W`` has another process write W audit entries a second while the
clients run (a tag added and removed in turn on a start node, so the answers stay the same but the
response cache starts over at each write, as under continuous ingestion).

The clients run in --client-procs separate processes (each with its own event loop), so their CPU
is their own. ``--client light`` (the default) sends pre-serialised requests over raw keep-alive
HTTP/1.1 connections and reads the status line, the headers and Content-Length bytes of body (the
body is parsed as JSON only when it may hold errors), so the clients take little of the CPU they
share with the server; ``--client httpx`` uses httpx's async client (JSON encoded and decoded per
request, as an application would). The table says which. It shows the server's CPU per request
(user+system time of the ``lineage serve`` process tree, read from /proc, over the load window),
the clients' CPU per request, the load average, and the CPU one request costs in process (the
same document through ``schema.execute``, no HTTP, one request at a time) for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import LineageGraph, pick_starts  # noqa: E402

from lineage.governance.access import create_token  # noqa: E402
from lineage.storage import GraphStore, open_store  # noqa: E402

SIZES = (10, 100, 1_000)
IMPACT = """
query Impact($id: ID!) {
  impact(id: $id, first: 50) {
    total
    counts { kind count }
    productionDeployments { distance node { id } }
    reached { edges { distance production path { length } node { id kind owners } } pageInfo { hasNextPage } }
  }
}
"""
PROVENANCE = """
query Provenance($id: ID!) {
  provenance(id: $id) {
    total
    counts { kind count }
    groups { kind count items { distance node { id kind } } }
  }
}
"""
QUERIES = {"impact": (IMPACT, True), "provenance": (PROVENANCE, False)}
CLIENT_KINDS = {
    "light": "pre-serialised requests over raw keep-alive connections",
    "httpx": "httpx.AsyncClient, JSON encoded and decoded per request",
}
CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# -- the graph ------------------------------------------------------------------------------------


def build(store: GraphStore, nodes: int, seed: int) -> dict[str, dict[str, list[list[Any]]]]:
    """Register the generated graph; return start nodes per query and closure size."""
    graph = LineageGraph(nodes, seed=seed)
    t0 = time.perf_counter()
    for batch in graph.batches():
        store.register(batch, principal="bench", source="bench")
    print(f"  registered {store.counts()['nodes']:,} nodes in {time.perf_counter() - t0:.0f} s", flush=True)
    starts = {}
    for name, (_, downstream) in QUERIES.items():
        picks = pick_starts(graph, downstream=downstream, sizes=SIZES, per_size=3)
        starts[name] = {str(size): [[i, n] for i, n in picks[size]] for size in SIZES}
    return starts


def open_bench_store(url: str, args: argparse.Namespace) -> GraphStore:
    if url.startswith("sqlite"):
        return open_store(url)
    return open_store(url, user=args.neo4j_user, password=args.neo4j_password, database=args.neo4j_database)


def prepare(backend: str, args: argparse.Namespace, workdir: Path) -> tuple[str, dict[str, Any], str]:
    """(store URL, start nodes, reader token secret) with the graph registered."""
    if backend == "sqlite":
        db = workdir / f"graphql-bench-{args.nodes}-{args.seed}.db"
        url = f"sqlite:///{db}"
        starts_file = db.with_suffix(".starts.json")
        if not (db.exists() and starts_file.exists()):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            store = open_bench_store(url, args)
            try:
                starts_file.write_text(json.dumps(build(store, args.nodes, args.seed)))
            finally:
                store.close()
        else:
            print(f"  reusing {db}", flush=True)
        starts = json.loads(starts_file.read_text())
    else:
        url = args.neo4j_uri
        # The start nodes of a graph this script registered before, with the node count it left
        # (reused when the database still holds exactly that many nodes: loading takes minutes).
        kept = workdir / f"graphql-bench-neo4j-{args.nodes}-{args.seed}.starts.json"
        store = open_bench_store(url, args)
        try:
            present = store.counts().get("nodes", 0)
            previous = json.loads(kept.read_text()) if kept.exists() else None
            if previous is not None and previous["nodes"] == present and not args.neo4j_wipe:
                print(f"  reusing the {present:,}-node graph in {url}", flush=True)
                starts = previous["starts"]
            else:
                if present:
                    wipe = getattr(store, "wipe", None)
                    if not args.neo4j_wipe or wipe is None:
                        raise SystemExit(f"the Neo4j database at {url} is not empty; pass --neo4j-wipe")
                    wipe()
                starts = build(store, args.nodes, args.seed)
                kept.write_text(json.dumps({"nodes": store.counts()["nodes"], "starts": starts}))
        finally:
            store.close()
    store = open_bench_store(url, args)
    try:
        secret, _ = create_token(store, f"bench-{time.time_ns()}", "reader", principal="bench")
    finally:
        store.close()
    return url, starts, secret


# -- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(
    url: str, args: argparse.Namespace, workdir: Path, workers: int, source: Path | None = None, cache: bool = True
) -> Iterator[tuple[str, int]]:
    """A ``lineage serve`` subprocess: (base URL, pid). With ``source``, the ``lineage`` package is
    imported from that source tree (another version of this project, for a side-by-side run); without
    ``cache``, the response cache is off (``LINEAGE_RESPONSE_CACHE_MIB=0``)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    if not cache:
        env["LINEAGE_RESPONSE_CACHE_MIB"] = "0"
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    if args.neo4j_password:
        env["LINEAGE_NEO4J_PASSWORD"] = args.neo4j_password
    env["LINEAGE_NEO4J_USER"] = args.neo4j_user
    where = subprocess.run(
        [sys.executable, "-c", "import lineage; print(lineage.__file__)"],
        env=env, cwd=source, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    print(f"  serving lineage from {Path(where).parent} with {workers} worker(s)", flush=True)
    log_path = workdir / f"serve-{port}.log"
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
                str(workers),
                "--no-anonymous-read",
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # ``python -c`` puts the working directory first on sys.path: serve from the chosen tree
            cwd=source if source is not None else None,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"lineage serve exited with {proc.returncode}:\n{log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("lineage serve did not become ready in 120 s")
                time.sleep(0.2)
            settle(proc.pid)
            yield base, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- the load -------------------------------------------------------------------------------------


def tree_cpu_seconds(root: int) -> float:
    """User+system CPU seconds of a process and all its live descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / ticks
    wanted = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                grew = True
    return sum(times.get(pid, 0.0) for pid in wanted)


def settle(pid: int, timeout: float = 180.0) -> None:
    """Wait until a just-started server is idle: its workers build their traversal index after
    saying ready, which must not count as the first requests' CPU."""
    deadline = time.monotonic() + timeout
    before = tree_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = tree_cpu_seconds(pid)
        if now - before < 0.05:
            return
        before = now


def client_process(
    base: str,
    secret: str,
    query: str,
    plan: list[tuple[str, str]],
    clients: int,
    begin: float,
    seconds: float,
    seed: int,
    kind: str = "light",
) -> dict[str, Any]:
    """One client process: warm up, wait for the common start time, keep ``clients`` requests in flight."""
    loop = _light_loop if kind == "light" else _client_loop
    return asyncio.run(loop(base, secret, query, plan, clients, begin, seconds, seed))


def _request_bytes(host: str, secret: str, query: str, start: str) -> bytes:
    body = json.dumps({"query": query, "variables": {"id": start}}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _body_error(status: int, body: bytes) -> str | None:
    """The errors of a response, or None for a 200 without errors. The body is only decoded when it
    may hold an ``errors`` member (a key is the only place ``"errors":`` can appear unescaped)."""
    if status == 200 and b'"errors":' not in body:
        return None
    try:
        decoded = json.loads(body)
    except ValueError:
        return f"HTTP {status}: {body[:150]!r}"
    errors = decoded.get("errors") if isinstance(decoded, dict) else None
    if status == 200 and not errors:
        return None
    return json.dumps(errors or status)[:200]


class _Connection:
    """One keep-alive HTTP/1.1 connection sending pre-serialised requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def ask(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked responses are not expected from this server")
        if length is None:
            raise RuntimeError("a response without Content-Length")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def _light_loop(
    base: str,
    secret: str,
    query: str,
    plan: list[tuple[str, str]],
    clients: int,
    begin: float,
    seconds: float,
    seed: int,
) -> dict[str, Any]:
    host, _, port = base.removeprefix("http://").partition(":")
    requests = {start: _request_bytes(f"{host}:{port}", secret, query, start) for _, start in plan}
    samples: dict[str, list[float]] = {}
    errors: list[str] = []

    async def connect() -> _Connection:
        return _Connection(*await asyncio.open_connection(host, int(port)))

    # warm-up: every start once; then fresh connections (the server closes idle ones after seconds)
    connections = [await connect() for _ in range(min(clients, len(plan)))]
    try:
        for i, (_, start) in enumerate(plan):
            status, body = await connections[i % len(connections)].ask(requests[start])
            error = _body_error(status, body)
            if error:
                raise SystemExit(f"warm-up request failed: {error}")
    finally:
        for connection in connections:
            connection.close()
    await asyncio.sleep(max(0.0, begin - time.time() - 0.5))
    connections = [await connect() for _ in range(clients)]
    try:
        await asyncio.sleep(max(0.0, begin - time.time()))
        stop = time.perf_counter() + seconds
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)

        async def one_client(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            order = plan[:]
            connection = connections[index]
            while time.perf_counter() < stop:
                rng.shuffle(order)
                for size, start in order:
                    if time.perf_counter() >= stop:
                        return
                    t0 = time.perf_counter()
                    status, body = await connection.ask(requests[start])
                    samples.setdefault(size, []).append(time.perf_counter() - t0)
                    error = _body_error(status, body)
                    if error:
                        errors.append(error)

        t0 = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        for connection in connections:
            connection.close()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {"samples": samples, "errors": errors, "wall": wall, "cpu": cpu}


async def _client_loop(
    base: str,
    secret: str,
    query: str,
    plan: list[tuple[str, str]],
    clients: int,
    begin: float,
    seconds: float,
    seed: int,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {secret}"}
    samples: dict[str, list[float]] = {}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:

        async def ask(start: str) -> tuple[float, str | None]:
            t0 = time.perf_counter()
            response = await client.post("/graphql", json={"query": query, "variables": {"id": start}})
            body = response.json()
            elapsed = time.perf_counter() - t0
            if response.status_code != 200 or body.get("errors"):
                return elapsed, json.dumps(body.get("errors") or response.status_code)[:200]
            return elapsed, None

        await asyncio.gather(*(ask(start) for _, start in plan))  # warm-up: every start, one connection each
        await asyncio.sleep(max(0.0, begin - time.time()))
        stop = time.perf_counter() + seconds
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)

        async def one_client(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            order = plan[:]
            while time.perf_counter() < stop:
                rng.shuffle(order)
                for size, start in order:
                    if time.perf_counter() >= stop:
                        return
                    elapsed, error = await ask(start)
                    samples.setdefault(size, []).append(elapsed)
                    if error:
                        errors.append(error)

        t0 = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {"samples": samples, "errors": errors, "wall": wall, "cpu": cpu}


def writer_process(url: str, args: argparse.Namespace, node: str, begin: float) -> dict[str, Any]:
    """Writes at --write-rate per second while the clients run, as a busy platform's ingestion
    does: a tag on ``node`` added and removed in turn, each change one audit entry (the graph's
    nodes, edges and every answer the clients get stay the same; the audit head moves)."""
    store = open_bench_store(url, args)
    written = 0
    try:
        time.sleep(max(0.0, begin - time.time()))
        start = time.perf_counter()
        while (now := time.perf_counter() - start) < args.seconds:
            if written < now * args.write_rate:
                tag = ["bench-write"]
                store.annotate(node, "tag", **{"add" if written % 2 == 0 else "remove": tag}, principal="bench")
                written += 1
            else:
                time.sleep(min(0.01, 1 / args.write_rate))
        if written % 2:
            store.annotate(node, "tag", remove=["bench-write"], principal="bench")
    finally:
        store.close()
    return {"writes": written, "write_rate": written / args.seconds}


def load(
    base: str,
    secret: str,
    query: str,
    starts: dict[str, list[list[Any]]],
    args: argparse.Namespace,
    server_pid: int,
    url: str,
) -> dict[str, Any]:
    plan = [(size, start) for size, picks in starts.items() for start, _ in picks]
    procs = max(1, min(args.client_procs, args.clients))
    shares = [args.clients // procs + (1 if i < args.clients % procs else 0) for i in range(procs)]
    begin = time.time() + 3.0 + 0.5 * len(plan)  # after every process has warmed up
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(procs + (1 if args.write_rate > 0 else 0)) as pool:
        pending = [
            pool.apply_async(client_process, (base, secret, query, plan, n, begin, args.seconds, i, args.client))
            for i, n in enumerate(shares)
        ]
        writes = pool.apply_async(writer_process, (url, args, plan[0][1], begin)) if args.write_rate > 0 else None
        while time.time() < begin:
            time.sleep(0.01)
        server0, load0 = tree_cpu_seconds(server_pid), os.getloadavg()[0]
        parts = [p.get() for p in pending]
        server1 = tree_cpu_seconds(server_pid)
        written = writes.get() if writes is not None else {"writes": 0, "write_rate": 0.0}
    samples: dict[str, list[float]] = {size: [] for size in starts}
    for part in parts:
        for size, values in part["samples"].items():
            samples[size].extend(values)
    errors = [e for part in parts for e in part["errors"]]
    wall = max(part["wall"] for part in parts)
    summary = summarise(
        samples, errors, wall, server1 - server0, sum(part["cpu"] for part in parts), [load0, os.getloadavg()[0]], procs
    )
    return {**summary, **written}


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary over several rounds of the same variant."""
    samples: dict[str, list[float]] = {}
    for part in parts:
        for size, values in part["samples"].items():
            samples.setdefault(size, []).extend(values)
    loads = [x for part in parts for x in part["load_average"]]
    summary = summarise(
        samples,
        [e for part in parts for e in part["error_list"]],
        sum(part["seconds"] for part in parts),
        sum(part["server_cpu_s"] for part in parts),
        sum(part["client_cpu_s"] for part in parts),
        [min(loads), max(loads)],
        parts[0]["client_procs"],
    )
    writes = sum(part.get("writes", 0) for part in parts)
    return {**summary, "writes": writes, "write_rate": writes / summary["seconds"]}


def summarise(
    samples: dict[str, list[float]],
    errors: list[str],
    wall: float,
    server_cpu: float,
    client_cpu: float,
    load_average: list[float],
    procs: int,
) -> dict[str, Any]:
    every = [s for per in samples.values() for s in per]
    return {
        "samples": samples,
        "error_list": errors,
        "server_cpu_s": server_cpu,
        "client_cpu_s": client_cpu,
        "requests": len(every),
        "seconds": wall,
        "throughput": len(every) / wall,
        "p50_ms": 1000 * pct(every, 0.5),
        "p95_ms": 1000 * pct(every, 0.95),
        "p99_ms": 1000 * pct(every, 0.99),
        "mean_ms": 1000 * statistics.fmean(every),
        "server_cpu_ms": 1000 * server_cpu / max(1, len(every)),
        "client_cpu_ms": 1000 * client_cpu / max(1, len(every)),
        "load_average": load_average,
        "client_procs": procs,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "by_closure": {
            size: {"requests": len(s), "p50_ms": 1000 * pct(s, 0.5), "p95_ms": 1000 * pct(s, 0.95)}
            for size, s in samples.items()
            if s
        },
    }


def in_process(
    url: str, secret: str, query: str, starts: dict[str, list[list[Any]]], args: argparse.Namespace, reps: int
) -> float:
    """CPU ms of one request's GraphQL execution in this process (no HTTP, no concurrency)."""
    from lineage.api.context import Context, Services
    from lineage.api.limits import Limits
    from lineage.api.metrics import Metrics
    from lineage.api.schema import build_schema
    from lineage.governance.access import authenticate
    from lineage.settings import load_settings

    settings = load_settings(store=url)
    store = open_bench_store(url, args)
    try:
        store.traversal_index()
        services = Services(
            settings=settings,
            store=store,
            metrics=Metrics(),
            limits=Limits.from_settings(settings),
            anonymous_read=False,
        )
        principal = authenticate(store, secret)
        schema = build_schema(settings.max_query_depth)
        ids = [start for picks in starts.values() for start, _ in picks]

        async def run(rounds: int) -> None:
            for _ in range(rounds):
                for start in ids:
                    ctx = Context(services, principal)
                    result = await schema.execute(query, variable_values={"id": start}, context_value=ctx)
                    if result.errors:
                        raise SystemExit(f"in-process query failed: {result.errors[0]}")

        asyncio.run(run(1))
        t0 = time.process_time()
        asyncio.run(run(reps))
        return 1000 * (time.process_time() - t0) / (reps * len(ids))
    finally:
        store.close()


# -- report ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
        git = rev.stdout.strip() or None
    except OSError:
        git = None
    return {
        "cores": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git": git,
        "command": " ".join(["python", *sys.argv]),
    }


def print_results(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    info = machine()
    print()
    print(f"command : {info['command']}")
    print(f"machine : {info['cores']} cores, {info['platform']}, Python {info['python']}, git {info['git']}")
    print(f"load    : 1/5/15-minute load average at the end {info['load_average']} (other work on the machine)")
    print(
        f"clients : {args.clients} concurrent clients, {args.seconds:g} s x {args.rounds} round(s) per query and "
        f"variant, reader token, closures of ~{', ~'.join(str(s) for s in SIZES)} nodes; "
        f"clients in {rows[0]['client_procs'] if rows else args.client_procs} process(es) on the same machine, "
        f"client: {args.client} ({CLIENT_KINDS[args.client]})"
    )
    print(
        "cpu/req : server = CPU of the lineage serve process tree per request; clients = the client processes' "
        "CPU per request; in-proc = the same document through schema.execute in one process, no HTTP; "
        "writes/s = audit entries written by another process meanwhile (--write-rate)"
    )
    print()
    head = f"{'backend':<8} {'query':<11} {'code':<15} {'workers':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>7} "
    head += f"{'p95 ms':>7} "
    head += f"{'p99 ms':>7} {'server':>7} {'clients':>7} {'in-proc':>7} {'writes/s':>8} {'load':>9} {'errors':>6}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['backend']:<8} {r['query']:<11} {r['version']:<15} {r['workers']:>7} {r['requests']:>8,} "
            f"{r['throughput']:>7.1f} "
            f"{r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['server_cpu_ms']:>7.2f} "
            f"{r['client_cpu_ms']:>7.2f} {r.get('in_process_cpu_ms') or float('nan'):>7.2f} "
            f"{r.get('write_rate', 0.0):>8.1f} {r['load_average'][0]:>4.1f}-{r['load_average'][1]:<4.1f} "
            f"{r['errors']:>6}"
        )
    print()
    print("by closure size (p50 / p95 ms)")
    for r in rows:
        parts = [f"~{size}: {v['p50_ms']:.1f} / {v['p95_ms']:.1f}" for size, v in r["by_closure"].items()]
        print(f"  {r['backend']:<8} {r['query']:<11} {r['version']:<15} {r['workers']:>2} " + "   ".join(parts))
    for r in rows:
        if r["first_error"]:
            print(f"  first error ({r['backend']} {r['query']} {r['version']}): {r['first_error']}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument(
        "--workers", default=str(os.cpu_count() or 1), help="lineage serve --workers; a list (1,2,3) compares them"
    )
    p.add_argument("--rounds", type=int, default=1, help="turns each variant takes per query (variants alternate)")
    p.add_argument(
        "--baseline-src",
        type=Path,
        help="also serve the lineage package from this source tree (e.g. `git archive` of an earlier commit), "
        "side by side with this one",
    )
    p.add_argument("--client-procs", type=int, default=2, help="processes the clients are spread over")
    p.add_argument(
        "--client",
        choices=sorted(CLIENT_KINDS),
        default="light",
        help="light: pre-serialised requests over raw keep-alive connections (little client CPU); "
        "httpx: httpx's async client",
    )
    p.add_argument("--queries", default="impact,provenance", help="comma-separated: impact, provenance")
    p.add_argument("--in-process-reps", type=int, default=10, help="rounds of the in-process comparison (0: skip)")
    p.add_argument("--backends", default="sqlite", help="comma-separated: sqlite, neo4j")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lineage-bench")
    p.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    p.add_argument("--neo4j-user", default=os.environ.get("NEO4J_USER", "neo4j"))
    p.add_argument("--neo4j-password", default=os.environ.get("NEO4J_PASSWORD"))
    p.add_argument("--neo4j-database", default=os.environ.get("NEO4J_DATABASE"))
    p.add_argument(
        "--neo4j-wipe",
        action="store_true",
        help="empty the Neo4j database first (else a graph this script left is reused)",
    )
    p.add_argument(
        "--response-cache",
        default="on",
        help="comma-separated: on, off; each serves this code as a variant (off: LINEAGE_RESPONSE_CACHE_MIB=0, "
        "so every request is executed, as for questions never asked before)",
    )
    p.add_argument(
        "--write-rate",
        type=float,
        default=0.0,
        help="writes per second made by another process while the clients run (a tag added and removed in "
        "turn: every answer stays the same, the audit head moves, so the response cache starts over each time)",
    )
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    worker_counts = [int(w) for w in str(args.workers).split(",") if w.strip()]
    caches = [c.strip() == "on" for c in args.response_cache.split(",") if c.strip()]
    versions: list[tuple[str, Path | None, bool]] = [
        ("this" if cache else "this, cache off", None, cache) for cache in caches
    ]
    if args.baseline_src is not None:
        versions.append(("baseline", args.baseline_src.resolve(), False))
    rows = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"[{backend}] preparing a {args.nodes:,}-node graph", flush=True)
        url, starts, secret = prepare(backend, args, args.workdir)
        names = [q.strip() for q in args.queries.split(",") if q.strip()]
        first = len(rows)
        with ExitStack() as stack:
            servers = [
                (version, workers, *stack.enter_context(server(url, args, args.workdir, workers, source, cache)))
                for version, source, cache in versions
                for workers in worker_counts
            ]
            results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
            for name in names:
                for round_ in range(args.rounds):  # the variants take turns, so load changes hit them all
                    for version, workers, base, pid in servers:
                        print(
                            f"[{backend}] {name}: {version} code, {workers} worker(s), {args.clients} clients for "
                            f"{args.seconds:g} s, round {round_ + 1}/{args.rounds} "
                            f"(load average {os.getloadavg()[0]:.1f})",
                            flush=True,
                        )
                        part = load(base, secret, QUERIES[name][0], starts[name], args, pid, url)
                        results.setdefault((name, version, workers), []).append(part)
        for (name, version, workers), parts in results.items():
            rows.append(
                {
                    "backend": backend,
                    "query": name,
                    "nodes": args.nodes,
                    "version": version,
                    "workers": workers,
                    **merge(parts),
                }
            )
        if args.in_process_reps > 0:
            for name in names:
                print(f"[{backend}] {name}: the same requests in process", flush=True)
                cost = in_process(url, secret, QUERIES[name][0], starts[name], args, args.in_process_reps)
                for row in rows[first:]:
                    if row["query"] == name and row["version"].startswith("this"):
                        row["in_process_cpu_ms"] = cost
    print_results(rows, args)
    if args.json:
        public = [{k: v for k, v in r.items() if k not in ("samples", "error_list")} for r in rows]
        args.json.write_text(json.dumps({"machine": machine(), "results": public}, indent=2))


if __name__ == "__main__":
    main()
