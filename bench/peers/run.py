"""Peer benchmark: the same layered graph in Google ML Metadata, networkx, igraph and this project.

One command prints one table: ingest rate, then reach and full-report p50/p95 for a ~2k and a ~14k
closure, each with its ratio to MLMD's lineage-subgraph query and to networkx ``descendants`` (the
in-memory lower bound), with the load average and the commit. Every system runs in its own process
and the queries are interleaved (one round over all systems per repetition), so a change in machine
load hits every system alike. Nothing is asserted.

    python bench/peers/run.py                      # sqlite, networkx, igraph, and mlmd if set up
    python bench/peers/run.py --setup-mlmd         # first: ml-metadata in its own venv (old pins)
    python bench/peers/run.py --neo4j-uri bolt://127.0.0.1:7687 --neo4j-wipe   # + the Neo4j backend

``ml-metadata`` pins old dependencies, so it lives in ``bench/peers/.mlmd-venv`` (``--mlmd-python``
points elsewhere); where it does not install, its rows say so and the ratios to it are left out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from layered import Layered  # noqa: E402

MLMD_VENV = HERE / ".mlmd-venv"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def setup_mlmd() -> str | None:
    """Create the MLMD venv; None when ml-metadata does not install here (the reason is printed)."""
    py = MLMD_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MLMD_VENV)], check=True)
    done = subprocess.run([str(py), "-m", "pip", "install", "-q", "ml-metadata"], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"ml-metadata does not install on Python {sys.version.split()[0]} here: "
              f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'pip failed'}")
        return None
    return str(py)


class Worker:
    def __init__(self, name: str, python: str, args: dict[str, Any]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [python, str(HERE / "worker.py"), name, json.dumps(args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker exited")
        out: dict[str, Any] = json.loads(line)
        return out

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, BrokenPipeError):
            self.ask(op="quit")
        self.proc.wait(timeout=60)


def pick_starts(g: Layered, targets: dict[str, int]) -> dict[str, str]:
    """For each label, the first-dataset-of-a-layer whose downstream closure is nearest the target."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_edges_from((s, d) for s, _, d in g.edges())
    sizes = {layer: len(nx.descendants(graph, g.dataset(layer, 0))) for layer in range(g.layers - 1)}
    return {
        label: g.dataset(min(sizes, key=lambda lay, t=target: abs(sizes[lay] - t)), 0)
        for label, target in targets.items()
    }


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--fan-in", type=int, default=3)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--systems", default="mlmd,networkx,igraph,sqlite,neo4j")
    ap.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI"))
    ap.add_argument("--neo4j-wipe", action="store_true", help="delete everything in that Neo4j database first")
    ap.add_argument("--mlmd-python", default=str(MLMD_VENV / "bin" / "python"))
    ap.add_argument("--setup-mlmd", action="store_true")
    args = ap.parse_args(argv)

    g = Layered(args.layers, args.width, args.fan_in)
    elements = sum(1 for _ in g.nodes()) + sum(1 for _ in g.edges())
    starts = pick_starts(g, {"~2k": 2_000, "~14k": 14_000})
    wargs = {"layers": args.layers, "width": args.width, "fan_in": args.fan_in,
             "neo4j_uri": args.neo4j_uri, "neo4j_wipe": args.neo4j_wipe}
    skipped: dict[str, str] = {}
    systems = [s for s in args.systems.split(",") if s]
    mlmd_python = args.mlmd_python
    if "mlmd" in systems:
        if args.setup_mlmd:
            mlmd_python = setup_mlmd() or ""
        if not mlmd_python or not Path(mlmd_python).exists():
            skipped["mlmd"] = "ml-metadata not set up (run with --setup-mlmd; it needs its own venv)"
    if "neo4j" in systems and not args.neo4j_uri:
        skipped["neo4j"] = "no --neo4j-uri / NEO4J_URI"
    if "neo4j" in systems and args.neo4j_uri and not args.neo4j_wipe:
        skipped["neo4j"] = "needs --neo4j-wipe (the graph is loaded into an emptied database)"
    workers: list[Worker] = []
    ingest: dict[str, float] = {}
    for name in systems:
        if name in skipped:
            continue
        python = mlmd_python if name == "mlmd" else sys.executable
        w = Worker(name, python, wargs)
        try:
            ingest[name] = w.ask(op="load")["seconds"]
        except RuntimeError as exc:
            skipped[name] = str(exc)
            continue
        workers.append(w)
        print(f"loaded {name}: {elements / ingest[name]:,.0f} elements/s", file=sys.stderr)

    samples: dict[tuple[str, str, str], list[float]] = {}
    sizes: dict[tuple[str, str], int] = {}
    for label, start in starts.items():
        for w in workers:  # warm-up, and the closure each system reports
            for op in ("reach", "report"):
                got = w.ask(op=op, start=start, downstream=True)
                if got["n"] is not None:
                    sizes[(w.name, label)] = got["n"]
    for _ in range(args.reps):
        for label, start in starts.items():
            for op in ("reach", "report"):
                for w in workers:
                    got = w.ask(op=op, start=start, downstream=True)
                    if got["n"] is not None:
                        samples.setdefault((w.name, label, op), []).append(got["ms"])
    rss = {w.name: w.ask(op="rss")["mib"] for w in workers}
    for w in workers:
        w.close()

    load = os.getloadavg()
    print(f"\nPeer benchmark: layered graph {args.layers} layers x {args.width} datasets, fan-in {args.fan_in} "
          f"({elements:,} nodes+edges); {args.reps} interleaved repetitions; commit {commit()}; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    closure = {label: sizes.get(("networkx", label)) or next((v for (s, lab), v in sizes.items() if lab == label), 0)
               for label in starts}
    print("closures: " + ", ".join(f"{label} = {closure[label]:,} nodes downstream of {s}"
                                   for label, s in starts.items()))
    base_mlmd = {label: statistics.median(samples[("mlmd", label, "reach")]) for label in starts
                 if ("mlmd", label, "reach") in samples}
    base_nx = {label: statistics.median(samples[("networkx", label, "reach")]) for label in starts
               if ("networkx", label, "reach") in samples}
    head = ["system", "query", "ingest el/s"]
    for label in starts:
        head += [f"{label} p50 ms", f"{label} p95 ms", f"{label} x MLMD", f"{label} x networkx"]
    head += ["max RSS MiB"]
    rows: list[list[str]] = []
    names = {"mlmd": "ML Metadata (SQLite)", "networkx": "networkx (memory)", "igraph": "igraph (memory)",
             "sqlite": "this project, SQLite", "neo4j": "this project, Neo4j"}
    query_names = {"mlmd": {"reach": "get_lineage_subgraph"}, "networkx": {"reach": "descendants"},
                   "igraph": {"reach": "subcomponent"}}
    for w in workers:
        for op in ("reach", "report"):
            if (w.name, next(iter(starts)), op) not in samples:
                continue
            query = query_names.get(w.name, {}).get(op, "store.reach" if op == "reach" else "impact report")
            row = [names[w.name], query, f"{elements / ingest[w.name]:,.0f}" if op == "reach" else ""]
            for label in starts:
                xs = samples[(w.name, label, op)]
                p50 = statistics.median(xs)
                row += [f"{p50:,.1f}", f"{pct(xs, 0.95):,.1f}",
                        f"{p50 / base_mlmd[label]:.3f}" if label in base_mlmd else "-",
                        f"{p50 / base_nx[label]:.2f}" if label in base_nx else "-"]
            row.append(f"{rss[w.name]:,.0f}")
            rows.append(row)
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")


if __name__ == "__main__":
    main()
