"""Memory of a running server holding a store: ``lineage serve`` started on it, its traversal index
built, impact and provenance questions answered over GraphQL, then the resident set read from /proc.

    python bench/server_memory.py --store sqlite:///bench-1000000.db [--store bolt://... ] [--queries 20]

Start nodes are found through the server's own search; every query asks the full impact page
(``graphql/queries/impact.graphql``). Prints the server process's resident set (VmRSS) and peak
(VmHWM) after the index is built and after the queries, the time the first query waited for the
index, query latencies, and the load average. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from lineage.cli import main; main()"]
IMPACT = (ROOT / "graphql" / "queries" / "impact.graphql").read_text()
SEARCH = "query($t: String!) { search(text: $t, first: 50) { id } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def ask(client: httpx.Client, base: str, query: str, variables: dict[str, Any], *, patient: bool = False) -> Any:
    """The data of one GraphQL request. ``patient``: while the server is still building its index a
    request may use up its time budget waiting; ask again (up to ten minutes)."""
    deadline = time.monotonic() + 600
    while True:
        got = client.post(f"{base}/graphql", json={"query": query, "variables": variables}, timeout=600)
        got.raise_for_status()
        body: dict[str, Any] = got.json()
        errors = body.get("errors")
        if not errors:
            return body["data"]
        waiting = all(e.get("extensions", {}).get("code") == "LIMIT_EXCEEDED" for e in errors)
        if not (patient and waiting and time.monotonic() < deadline):
            raise SystemExit(f"GraphQL errors: {errors}")


def measure(store: str, queries: int, search: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    cmd = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--store", store, "--workers", "1",
           "--mode", "production", "--anonymous-read", "--log-level", "warning"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client() as client:
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"lineage serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
                try:
                    if client.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            ready = time.perf_counter() - t0
            ids = [n["id"] for n in ask(client, base, SEARCH, {"t": search})["search"]]
            if not ids:
                raise SystemExit(f"no node matches {search!r}")
            first = time.perf_counter()
            ask(client, base, IMPACT, {"id": ids[0], "first": 100}, patient=True)
            first_s = time.perf_counter() - first  # waits for the index built at start
            after_index = memory(proc.pid)
            ms: list[float] = []
            sizes: list[int] = []
            for i in range(queries):
                t = time.perf_counter()
                data = ask(client, base, IMPACT, {"id": ids[i % len(ids)], "first": 100})
                ms.append((time.perf_counter() - t) * 1000)
                sizes.append(data["impact"]["total"])
            after = memory(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    load = os.getloadavg()
    print(f"server on {store}: ready after {ready:.1f} s; first impact query answered {first_s:.1f} s later "
          "(the index is built at start)")
    print(f"  RSS after the index is built: {after_index['VmRSS']:,.0f} MiB (peak {after_index['VmHWM']:,.0f} MiB)")
    print(f"  RSS after {queries} impact queries (closures {min(sizes):,}..{max(sizes):,} nodes): "
          f"{after['VmRSS']:,.0f} MiB (peak {after['VmHWM']:,.0f} MiB)")
    print(f"  impact query p50 {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", action="append", required=True, help="store URL (repeatable)")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--search", default="customer", help="text whose matches are the start nodes")
    args = ap.parse_args(argv)
    for store in args.store:
        measure(store, args.queries, args.search)


if __name__ == "__main__":
    main()
