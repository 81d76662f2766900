"""One small batch per run, as a CI job or a training script registers it (ML Metadata's
``put_execution`` pattern): each run's batch holds the run, its code commit, the dataset version it
writes and its edges (inputs read, output produced, commit executed in).

    python bench/per_run.py --runs 2000 [--backends sqlite,sqlite-normal,neo4j,mlmd] \
        [--mlmd-python bench/peers/.mlmd-venv/bin/python] [--neo4j-uri bolt://...]

Prints nodes+edges per second of wall time, batches per second, per-batch latency (p50/p95), CPU
per batch and the ratio to Google ML Metadata registering the same runs (one ``put_execution`` per
run, in its own process under the ml-metadata venv: bench/peers/per_run_mlmd.py), with the load
average. ``sqlite``: every batch is on disk when ``register`` returns (synchronous=FULL, the
default); ``sqlite-normal``: ``LINEAGE_SQLITE_SYNCHRONOUS=normal`` (safe from a killed process, the
last commits may be lost on power loss). MLMD sets no PRAGMA: SQLite's defaults, a rollback
journal and synchronous=FULL. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec
from lineage.storage import open_store

HERE = Path(__file__).resolve().parent


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


def mlmd_spec(batches: list[Batch]) -> dict[str, Any]:
    """The same runs for ML Metadata: names instead of batches (the worker needs nothing of ours)."""
    runs = []
    for batch in batches[1:]:
        run, commit, out = batch.nodes
        runs.append({
            "run": run.id, "run_properties": dict(run.properties), "commit": commit.id, "output": out.id,
            "output_properties": dict(out.properties),
            "inputs": [e.source for e in batch.edges if e.type is EdgeType.INPUT_TO],
        })
    return {"seeds": [n.id for n in batches[0].nodes], "runs": runs}


def measure_mlmd(python: str, batches: list[Batch]) -> dict[str, Any]:
    proc = subprocess.run(
        [python, str(HERE / "peers" / "per_run_mlmd.py")], input=json.dumps(mlmd_spec(batches)),
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"mlmd worker failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    lat = sorted(out["latencies"])
    els = sum(len(b.nodes) + len(b.edges) for b in batches[1:])
    return {
        "batches": len(lat), "elements": els, "seconds": out["seconds"], "el_per_s": els / out["seconds"],
        "batches_per_s": len(lat) / out["seconds"], "p50_ms": statistics.median(lat) * 1e3,
        "p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1e3, "cpu_ms_per_batch": out["cpu_s"] * 1e3 / len(lat),
        "journal": out["journal"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--backends", default="sqlite,sqlite-normal,mlmd", help="sqlite, sqlite-normal, neo4j, mlmd")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--mlmd-python", default=str(HERE / "peers" / ".mlmd-venv" / "bin" / "python"),
                   help="a Python with ml-metadata installed (bench/peers/run.py --setup-mlmd makes one)")
    p.add_argument("--other-tree", help="also run SQLite (full) from this source tree, in its own process")
    p.add_argument("--emit-json", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    p.add_argument("--neo4j-user", default=os.environ.get("NEO4J_USER", "neo4j"))
    p.add_argument("--neo4j-password", default=os.environ.get("NEO4J_PASSWORD"))
    args = p.parse_args()
    batches = run_batches(args.runs, args.seed)
    if args.emit_json:  # one SQLite measurement for --other-tree
        folder = Path(tempfile.mkdtemp(prefix="per-run-"))
        print(json.dumps(measure(f"sqlite:///{folder / 'per-run.db'}", batches, {})))
        return
    print(f"command : python {' '.join(sys.argv)}")
    print(f"load    : {os.getloadavg()[0]:.1f} at start; {args.runs} runs, one batch each "
          f"(3 nodes + 3-5 edges), after one batch of 20 source datasets")
    head = (f"{'system':<14} {'batches':>7} {'el/s':>7} {'batches/s':>9} {'p50 ms':>7} {'p95 ms':>7} "
            f"{'CPU ms/batch':>12} {'vs MLMD':>8}  durability")
    rows: list[tuple[str, dict[str, Any], str]] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "mlmd":
            if not Path(args.mlmd_python).exists():
                print(f"mlmd    : skipped, no ml-metadata Python at {args.mlmd_python} (--mlmd-python)")
                continue
            r = measure_mlmd(args.mlmd_python, batches)
            rows.append(("mlmd", r, f"MLMD's SQLite defaults: {r['journal']}, synchronous=FULL"))
            continue
        if backend == "sqlite" and args.other_tree:
            proc = subprocess.run(
                [sys.executable, __file__, "--runs", str(args.runs), "--seed", str(args.seed), "--emit-json"],
                env=dict(os.environ, PYTHONPATH=args.other_tree), capture_output=True, text=True, check=True,
            )
            other = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(("sqlite (other)", other, f"WAL, synchronous=FULL; tree {args.other_tree}"))
        if backend in ("sqlite", "sqlite-normal"):
            folder = Path(tempfile.mkdtemp(prefix="per-run-"))
            sync = "normal" if backend == "sqlite-normal" else "full"
            # the default (full) is not passed, so that an older source tree (PYTHONPATH) runs too
            url = f"sqlite:///{folder / 'per-run.db'}"
            options = {"synchronous": sync} if sync != "full" else {}
            durability = f"WAL, synchronous={sync.upper()}"
        elif backend == "neo4j":
            url, options = args.neo4j_uri, {"user": args.neo4j_user, "password": args.neo4j_password}
            with open_store(url, **options) as store:
                wipe = getattr(store, "wipe", None)
                if store.counts().get("nodes", 0) and wipe is not None:
                    wipe()
            durability = "Neo4j transaction log (its default)"
        else:
            raise SystemExit(f"unknown backend {backend!r}")
        rows.append((backend, measure(url, batches, options), durability))
    mlmd = next((r for name, r, _ in rows if name == "mlmd"), None)
    print(head)
    print("-" * len(head))
    for name, r, durability in rows:
        ratio = f"{r['el_per_s'] / mlmd['el_per_s']:.1f}x" if mlmd else "-"
        print(f"{name:<14} {r['batches']:>7} {r['el_per_s']:>7.0f} {r['batches_per_s']:>9.0f} {r['p50_ms']:>7.2f} "
              f"{r['p95_ms']:>7.2f} {r['cpu_ms_per_batch']:>12.2f} {ratio:>8}  {durability}")
    print(f"load    : {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
