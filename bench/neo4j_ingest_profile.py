"""Where a bulk Neo4j ingest spends the server's CPU: per statement and per commit.

    python bench/neo4j_ingest_profile.py --neo4j-uri bolt://127.0.0.1:7743 --server-pid PID [--size 100000]

Registers the generated graph (``generate.LineageGraph``, batches of ``--chunk`` nodes+edges, one
transaction each) into an emptied database and reads the server process's CPU time (``/proc/PID/stat``,
so the server must run on this machine, e.g. ``tools/neo4j-local``; its pid is in the state directory's
``neo4j-local.pid``) before and after every statement and every commit. Each statement's results are
fetched before the next starts, so the figures are the server's own; background work (garbage
collection, checkpoints) lands in whichever statement it overlaps. On a shared machine the wall-clock
rate measures the other work too; the CPU seconds do not. To compare with another source tree, run
the same command with ``PYTHONPATH=<other tree>``, one after the other against the same server.
DELETES EVERYTHING in the database first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import LineageGraph


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--neo4j-uri", required=True)
    p.add_argument("--server-pid", type=int, required=True, help="pid of the Neo4j server process (local)")
    p.add_argument("--size", type=int, default=100_000, help="nodes of the generated graph")
    p.add_argument("--chunk", type=int, default=50_000, help="nodes+edges per registration batch")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()

    import neo4j
    from neo4j._sync.work.transaction import TransactionBase

    import lineage
    from lineage.storage.neo4j import Neo4jStore

    tick = os.sysconf("SC_CLK_TCK")

    def server_cpu() -> float:
        fields = Path(f"/proc/{args.server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0])
    run, commit = TransactionBase.run, TransactionBase._commit

    def timed_run(self: Any, query: Any, parameters: Any = None, **kw: Any) -> Any:
        before = server_cpu()
        result = run(self, query, parameters, **kw)
        result._buffer_all()
        params = dict(parameters or {}, **kw)
        s = stats[" ".join(str(query).split())[:100]]
        s[0] += 1
        s[1] += server_cpu() - before
        s[2] += max((len(v) for v in params.values() if isinstance(v, list)), default=1)
        return result

    def timed_commit(self: Any) -> Any:
        before = server_cpu()
        out = commit(self)
        s = stats["(commit)"]
        s[0] += 1
        s[1] += server_cpu() - before
        return out

    with neo4j.GraphDatabase.driver(args.neo4j_uri) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    store = Neo4jStore(args.neo4j_uri)
    store.wipe()
    TransactionBase.run = timed_run  # type: ignore[method-assign]
    TransactionBase._commit = timed_commit  # type: ignore[method-assign]
    graph = LineageGraph(args.size, seed=args.seed, chunk=args.chunk)
    elements, wall, client = 0, 0.0, 0.0
    server0 = server_cpu()
    for batch in graph.batches():
        t0, c0 = time.perf_counter(), time.process_time()
        store.register(batch, principal="user:bench", source="bench")
        wall += time.perf_counter() - t0
        client += time.process_time() - c0
        elements += len(batch)
    server = server_cpu() - server0
    store.close()
    print(f"lineage from {Path(lineage.__file__).parent}, load average {os.getloadavg()}")
    print(
        f"{elements:,} nodes+edges: {elements / wall:,.0f} el/s wall; server {server:.1f} CPU-s "
        f"({elements / server:,.0f} el/CPU-s), client {client:.1f} CPU-s inside register"
    )
    print(f"{'server CPU s':>12} {'runs':>5} {'rows':>8} {'rows/CPU-s':>11}  statement")
    for query, (count, cpu, rows) in sorted(stats.items(), key=lambda kv: -kv[1][1]):
        rate = f"{rows / cpu:,.0f}" if cpu and query != "(commit)" else "-"
        print(f"{cpu:12.2f} {int(count):5d} {int(rows):8d} {rate:>11}  {query}")


if __name__ == "__main__":
    main()
