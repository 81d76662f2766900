"""One small batch per run, as a CI job or a training script registers it (ML Metadata's
``put_execution`` pattern): each run's batch holds the run, its code commit, the dataset version it
writes and its edges (inputs read, output produced, commit executed in).

    python bench/per_run.py --runs 2000 [--backends sqlite,neo4j] [--neo4j-uri bolt://...]

Prints nodes+edges per second of wall time, batches per second, and per-batch latency (p50/p95),
with the load average. Every batch is durable when ``register`` returns (SQLite: synchronous=FULL).
Figures are printed, never asserted. MLMD figures, when a peer run exists, are in bench/peers.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec
from lineage.storage import open_store


def run_batches(runs: int, seed: int) -> list[Batch]:
    """Runs of 20 jobs over a shared pool of dataset versions: each reads 1-3 earlier outputs."""
    rng = random.Random(seed)
    seeds = [NodeSpec(kind=NodeKind.DATASET, namespace="raw", name=f"source_{i}", version="v1") for i in range(20)]
    produced: list[str] = [n.id for n in seeds]
    batches = [Batch(nodes=seeds)]
    for r in range(runs):
        job = f"job_{r % 20}"
        run = NodeSpec(kind=NodeKind.RUN, namespace="ml", name=job, version=f"run-{r}",
                       properties={"status": "COMPLETE", "attempt": 1})
        commit = NodeSpec(kind=NodeKind.CODE_COMMIT, namespace="git", name="github.com/acme/ml",
                          version=f"{rng.getrandbits(160):040x}")
        out = NodeSpec(kind=NodeKind.DATASET, namespace="warehouse", name=f"table_{r % 20}", version=f"r{r}",
                       properties={"rows": rng.randint(1, 10**6)})
        inputs = rng.sample(produced[-200:], k=min(len(produced), rng.randint(1, 3)))
        edges = [EdgeSpec(source=i, type=EdgeType.INPUT_TO, target=run.id) for i in inputs]
        edges += [EdgeSpec(source=run.id, type=EdgeType.PRODUCED, target=out.id),
                  EdgeSpec(source=commit.id, type=EdgeType.EXECUTED_IN, target=run.id)]
        batches.append(Batch(nodes=[run, commit, out], edges=edges))
        produced.append(out.id)
    return batches


def measure(url: str, batches: list[Batch], options: dict[str, Any]) -> dict[str, Any]:
    with open_store(url, **options) as store:
        store.register(batches[0], principal="bench", source="bench")
        lat = []
        els = 0
        c0 = time.process_time()
        t0 = time.perf_counter()
        for batch in batches[1:]:
            s = time.perf_counter()
            store.register(batch, principal="bench", source="bench")
            lat.append(time.perf_counter() - s)
            els += len(batch.nodes) + len(batch.edges)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        lat.sort()
        return {
            "batches": len(lat), "elements": els, "seconds": wall, "el_per_s": els / wall,
            "batches_per_s": len(lat) / wall, "p50_ms": statistics.median(lat) * 1e3,
            "p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1e3, "cpu_ms_per_batch": cpu * 1e3 / len(lat),
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--backends", default="sqlite")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    p.add_argument("--neo4j-user", default=os.environ.get("NEO4J_USER", "neo4j"))
    p.add_argument("--neo4j-password", default=os.environ.get("NEO4J_PASSWORD"))
    args = p.parse_args()
    batches = run_batches(args.runs, args.seed)
    print(f"command : python {' '.join(sys.argv)}")
    print(f"load    : {os.getloadavg()[0]:.1f} at start; {args.runs} runs, one batch each "
          f"(3 nodes + 3-5 edges), after one batch of 20 source datasets")
    head = (f"{'backend':<8} {'batches':>7} {'el/s':>7} {'batches/s':>9} {'p50 ms':>7} {'p95 ms':>7} "
            f"{'CPU ms/batch':>12}")
    print(head)
    print("-" * len(head))
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="per-run-"))
            url, options = f"sqlite:///{folder / 'per-run.db'}", {}
        else:
            url, options = args.neo4j_uri, {"user": args.neo4j_user, "password": args.neo4j_password}
            with open_store(url, **options) as store:
                wipe = getattr(store, "wipe", None)
                if store.counts().get("nodes", 0) and wipe is not None:
                    wipe()
        r = measure(url, batches, options)
        print(f"{backend:<8} {r['batches']:>7} {r['el_per_s']:>7.0f} {r['batches_per_s']:>9.0f} {r['p50_ms']:>7.2f} "
              f"{r['p95_ms']:>7.2f} {r['cpu_ms_per_batch']:>12.2f}")
    print(f"load    : {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
