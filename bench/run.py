"""Benchmark the lineage engine: ingest throughput, impact/provenance latency, memory, store size.

    python bench/run.py --sizes 10000,100000,1000000 --backends sqlite[,neo4j] --neo4j-uri bolt://...

Each (backend, size) runs in its own process, so peak memory is that scenario's own. Figures are
printed, never asserted. See bench/README.md for what every figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import platform
import random
import resource
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import LineageGraph, closure_size, diamond_lattice, pick_starts  # noqa: E402

from lineage.analysis import impact, provenance  # noqa: E402
from lineage.model import Batch, NodeKind, NodeSpec  # noqa: E402
from lineage.report.data import build_report  # noqa: E402
from lineage.storage import Direction, GraphStore, open_store  # noqa: E402

PRINCIPAL = "bench"
CLOSURES = (10, 100, 1_000, 10_000)
DEFAULT_LATTICE = (8, 12, 16, 18, 20, 22, 24, 64, 256)


# -- small helpers --------------------------------------------------------------------------------

PAGE = 100  # rows a report shows (the API's default page)


def full_report(store: GraphStore, start: str, direction: Direction) -> int:
    """The full report as the CLI and the API show it: every reached node with owners and production
    flag, counts, owners to notify, production deployments, and the first page of rows with their
    records and explaining paths (the same definition as bench/peers)."""
    rep = (impact if direction is Direction.DOWNSTREAM else provenance)(store, start)
    rep.counts()
    rep.owners()
    rep.production_deployments()
    for n in rep.shown(0, PAGE):
        n.node.properties  # noqa: B018  (the record is read for the rows shown)
        n.to_dict()
    return len(rep.nodes)


def pct(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(samples: list[float]) -> dict[str, float]:
    """Milliseconds: p50 (the median), p95, mean, min, max."""
    ms = [s * 1000 for s in samples]
    return {
        "n": len(ms),
        "p50_ms": pct(ms, 50),
        "p95_ms": pct(ms, 95),
        "mean_ms": statistics.fmean(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
    }


def timed(fn: Callable[[], Any], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def table(title: str, head: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths, strict=True)))
    out = [title, line, "-" * len(line)]
    for r in cells:
        out.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    return "\n".join(out)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, IndexError, ValueError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    commit = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
        if subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "lineage"], cwd=HERE).returncode:
            commit += " (lineage/ modified)"
    import pydantic

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pydantic": pydantic.VERSION,
        "platform": platform.platform(),
        "git": commit,
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
    }


# -- stores -----------------------------------------------------------------------------------------


def neo4j_available() -> str | None:
    """None when the Neo4j backend can be used, else why not."""
    if importlib.util.find_spec("lineage.storage.neo4j") is None:
        return "lineage.storage.neo4j does not exist yet"
    return None


@contextlib.contextmanager
def fresh_store(backend: str, args: argparse.Namespace, workdir: Path, label: str) -> Iterator[GraphStore]:
    if backend == "sqlite":
        path = workdir / f"{label}.db"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        store = open_store(f"sqlite:///{path}")
    else:
        options = {"user": args.neo4j_user, "password": args.neo4j_password}
        if args.neo4j_database:
            options["database"] = args.neo4j_database
        store = open_store(args.neo4j_uri, **options)
        if store.counts().get("nodes", 0) and not args.reuse:
            if not args.neo4j_wipe:
                store.close()
                raise SystemExit(
                    f"the Neo4j database at {args.neo4j_uri} is not empty; pass --neo4j-wipe to delete "
                    "everything in it before each scenario"
                )
            wipe = getattr(store, "wipe", None)
            if callable(wipe):
                wipe()
            else:
                wipe_neo4j(args)
    try:
        yield store
    finally:
        store.close()


def neo4j_driver(args: argparse.Namespace) -> Any:
    import neo4j

    return neo4j.GraphDatabase.driver(args.neo4j_uri, auth=(args.neo4j_user, args.neo4j_password))


def wipe_neo4j(args: argparse.Namespace) -> None:
    with neo4j_driver(args) as driver, driver.session(database=args.neo4j_database) as session:
        session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def store_size(store: GraphStore) -> int | None:
    size = getattr(store, "file_size", None)
    return int(size()) if callable(size) else None


# -- one scenario: a graph of one size on one backend ------------------------------------------------


def scenario(backend: str, size: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend, "size": size}
    graph = LineageGraph(size, seed=args.seed, chunk=args.chunk)
    with fresh_store(backend, args, workdir, f"bench-{size}") as store:
        # ingest through the public registration path
        t_build = t_reg = cpu_reg = 0.0
        n_batches = elements = 0
        largest = 0.0
        batches = graph.batches()
        result["load_before"] = os.getloadavg()
        reused = bool(args.reuse and store.counts().get("nodes", 0))
        earlier = earlier_starts(args.starts_from, size) if reused and args.starts_from else None
        if earlier is not None:  # the start nodes are known: the generator need not run at all
            batches = iter(())
        while True:
            t0 = time.perf_counter()
            gc.disable()  # building specs is the caller's cost; keep the collector out of it
            batch = next(batches, None)
            gc.enable()
            t1 = time.perf_counter()
            t_build += t1 - t0
            if batch is None:
                break
            if reused:  # the generator still runs: the start nodes are picked from its edge list
                elements += len(batch)
                n_batches += 1
                continue
            c1 = time.process_time()
            store.register(batch, principal=PRINCIPAL, source="bench")
            t2 = time.perf_counter()
            cpu_reg += time.process_time() - c1
            t_reg += t2 - t1
            largest = max(largest, t2 - t1)
            n_batches += 1
            elements += len(batch)
            del batch
        counts = store.counts()
        nan = float("nan")
        if reused:  # ingest figures belong to the run that filled the store
            t_reg = cpu_reg = nan
        result["reused_store"] = reused
        result["ingest"] = {
            "nodes": counts["nodes"],
            "edges": counts["edges"],
            "batches": n_batches,
            "chunk": args.chunk,
            "register_s": t_reg,
            "register_cpu_s": cpu_reg,
            "register_per_cpu_s": elements / cpu_reg,
            "build_s": t_build,
            "slowest_batch_s": largest,
            "register_per_s": elements / t_reg,
            "end_to_end_per_s": elements / (t_reg + t_build),
        }
        result["rss_after_ingest_mib"] = max_rss_mib()

        # repeat one chunk: idempotent, changes nothing
        again = LineageGraph(size, seed=args.seed, chunk=args.chunk)
        first = next(again.batches())
        t0 = time.perf_counter()
        res = store.register(first, principal=PRINCIPAL, source="bench")
        dt = time.perf_counter() - t0
        result["repeat_batch"] = {
            "elements": len(first),
            "seconds": dt,
            "per_s": len(first) / dt,
            "changed": res.changed,
        }
        del again, first
        if args.ingest_only:
            result["store_bytes"] = store_size(store)
            result["max_rss_mib"] = max_rss_mib()
            result["load_after"] = os.getloadavg()
            return result

        # the isolated node
        lone = NodeSpec(kind=NodeKind.DATASET, namespace="bench", name="isolated", version="1")
        store.register(Batch(nodes=[lone]), principal=PRINCIPAL, source="bench")
        reps = args.reps * 10
        result["isolated"] = {
            "get_node": summary(timed(lambda: store.get_node(lone.id), reps)),
            "reach": summary(timed(lambda: store.reach(lone.id, Direction.DOWNSTREAM), reps)),
            "impact": summary(timed(lambda: impact(store, lone.id), reps)),
        }

        # closures of several sizes, both directions
        wanted = [c for c in CLOSURES if c <= size // 2]
        t0 = time.perf_counter()
        if earlier is not None:
            picks, leaves = earlier
        else:
            picks = {
                Direction.DOWNSTREAM: pick_starts(graph, downstream=True, sizes=wanted, per_size=args.starts),
                Direction.UPSTREAM: pick_starts(graph, downstream=False, sizes=wanted, per_size=args.starts),
            }
            leaves = pick_leaves(graph, args.starts)
        result["pick_starts_s"] = time.perf_counter() - t0
        del graph
        rows = []
        for direction, by_size in picks.items():
            for wanted_size, starts in by_size.items():
                reps = args.reps if wanted_size <= 1_000 else max(5, args.reps // 4)
                reach_s: list[float] = []
                report_s: list[float] = []
                actual = []
                for start, expect in starts:
                    got = store.reach(start, direction)  # warm-up, and a check of the generator
                    if len(got.nodes) != expect:
                        raise SystemExit(f"{start}: store reached {len(got.nodes)} nodes, the edge list {expect}")
                    full_report(store, start, direction)
                    actual.append(expect)
                    reach_s += timed(lambda s=start, d=direction: store.reach(s, d), reps)
                    report_s += timed(lambda s=start, d=direction: full_report(store, s, d), reps)
                rows.append(
                    {
                        "direction": direction.value,
                        "wanted": wanted_size,
                        "closures": actual,
                        "starts": [start for start, _ in starts],
                        "reach": summary(reach_s),
                        "report": summary(report_s),
                    }
                )
        result["closures"] = rows

        # leaves: nothing downstream, a large upstream (the start's classifications walk it)
        leaf_rows = []
        for leaf, upstream in leaves:
            full_report(store, leaf, Direction.DOWNSTREAM)
            build_report(store, leaf, Direction.DOWNSTREAM)
            leaf_rows.append(
                {
                    "leaf": leaf,
                    "upstream": upstream,
                    "impact": summary(timed(lambda s=leaf: full_report(store, s, Direction.DOWNSTREAM), args.reps)),
                    "report": summary(timed(lambda s=leaf: build_report(store, s, Direction.DOWNSTREAM), args.reps)),
                }
            )
        result["leaves"] = leaf_rows

        # what one big report allocates in Python (traced separately: tracing slows everything)
        big = picks[Direction.DOWNSTREAM].get(wanted[-1]) if wanted else None
        if big:
            tracemalloc.start()
            impact(store, big[0][0])
            result["traced_peak_impact_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
            result["traced_impact_closure"] = big[0][1]
            tracemalloc.stop()
        result["store_bytes"] = store_size(store)
        result["max_rss_mib"] = max_rss_mib()
        result["load_after"] = os.getloadavg()
    return result


def earlier_starts(
    path: str, size: int
) -> tuple[dict[Direction, dict[int, list[tuple[str, int]]]], list[tuple[str, int]]] | None:
    """The start nodes (with their closure sizes) and leaves an earlier run of this size used."""
    for res in json.loads(Path(path).read_text())["scenarios"]:
        if res["size"] != size:
            continue
        picks: dict[Direction, dict[int, list[tuple[str, int]]]] = {Direction.DOWNSTREAM: {}, Direction.UPSTREAM: {}}
        for row in res["closures"]:
            picks[Direction(row["direction"])][row["wanted"]] = list(zip(row["starts"], row["closures"], strict=True))
        return picks, [(leaf["leaf"], leaf["upstream"]) for leaf in res.get("leaves", [])]
    return None


def pick_leaves(graph: LineageGraph, count: int, sample: int = 400, seed: int = 3) -> list[tuple[str, int]]:
    """Nodes with upstream edges and no downstream ones, the largest upstream closures of a sample."""
    down, _ = graph.adjacency(True)
    up, up_targets = graph.adjacency(False)
    leaves = [i for i in range(len(graph.ids)) if down[i + 1] == down[i] and up[i + 1] > up[i]]
    picked = random.Random(seed).sample(leaves, min(sample, len(leaves)))
    sized = sorted(((closure_size(up, up_targets, i, 50_000), i) for i in picked), reverse=True)
    return [(graph.ids[i], size) for size, i in sized[:count]]


# -- the diamond lattice: ours against path enumeration ----------------------------------------------

NAIVE_SQL = """
WITH RECURSIVE walk(node, path) AS (
    SELECT n, id FROM nodes WHERE id = :start
    UNION ALL
    SELECT e.dst_n, walk.path || ' > ' || e.dst_n FROM walk JOIN edges e ON e.src_n = walk.node
    WHERE e.retracted_at IS NULL
)
SELECT count(*), count(DISTINCT node) FROM walk
"""

DISTINCT_SQL = """
WITH RECURSIVE walk(node) AS (
    SELECT n FROM nodes WHERE id = :start
    UNION
    SELECT e.dst_n FROM walk JOIN edges e ON e.src_n = walk.node WHERE e.retracted_at IS NULL
)
SELECT count(*), count(DISTINCT node) FROM walk
"""

NAIVE_CYPHER = "MATCH p = (s:Node {id: $id})-[*]->(x) RETURN count(p) AS paths"


def sqlite_query(path: Path, sql: str, start: str, timeout: float) -> tuple[float | None, Any]:
    """(seconds, result row), or (None, None) when interrupted after ``timeout`` seconds."""
    conn = sqlite3.connect(path)
    deadline = time.perf_counter() + timeout
    conn.set_progress_handler(lambda: int(time.perf_counter() > deadline), 10_000)
    try:
        t0 = time.perf_counter()
        row = conn.execute(sql, {"start": start}).fetchone()
        return time.perf_counter() - t0, row
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc):
            return None, None
        raise
    finally:
        conn.close()


def cypher_query(args: argparse.Namespace, start: str, timeout: float) -> tuple[float | None, Any]:
    import neo4j

    with neo4j_driver(args) as driver, driver.session(database=args.neo4j_database) as session:
        try:
            t0 = time.perf_counter()
            rec = session.run(neo4j.Query(NAIVE_CYPHER, timeout=timeout), id=start).single()
            return time.perf_counter() - t0, rec["paths"] if rec else None
        except neo4j.exceptions.Neo4jError as exc:
            if "timeout" in str(exc).lower() or "terminated" in str(exc).lower():
                return None, None
            return None, f"failed: {exc}"


def lattice(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rows = []
    naive_dead = distinct_dead = False
    with fresh_store(backend, args, workdir, "bench-lattice") as store:
        for n in args.lattice:
            batch, first, _last = diamond_lattice(n)
            store.register(batch, principal=PRINCIPAL, source="bench")
            reach = store.reach(first, Direction.DOWNSTREAM)
            assert len(reach.nodes) == 3 * n
            ours = summary(timed(lambda f=first: store.reach(f, Direction.DOWNSTREAM), args.reps))
            row: dict[str, Any] = {"diamonds": n, "paths_to_end": 2**n, "nodes": 3 * n + 1, "ours": ours}
            if backend == "sqlite":
                path = Path(store.url.removeprefix("sqlite:///"))
                if not naive_dead:
                    secs, res = sqlite_query(path, NAIVE_SQL, first, args.naive_timeout)
                    row["naive_s"], row["naive_rows"] = secs, (res[0] if res else None)
                    naive_dead = secs is None
                if not distinct_dead:
                    secs, res = sqlite_query(path, DISTINCT_SQL, first, args.naive_timeout)
                    row["distinct_s"] = secs
                    distinct_dead = secs is None
            else:
                if not naive_dead:
                    secs, res = cypher_query(args, first, args.naive_timeout)
                    row["naive_s"], row["naive_rows"] = secs, res
                    naive_dead = secs is None
            rows.append(row)
    return {"backend": backend, "timeout_s": args.naive_timeout, "rows": rows}


# -- printing ----------------------------------------------------------------------------------------


def fmt_ms(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def print_scenarios(results: list[dict[str, Any]]) -> None:
    rows = []
    for r in results:
        i = r["ingest"]
        rows.append(
            [
                r["backend"],
                f"{i['nodes']:,}",
                f"{i['edges']:,}",
                i["batches"],
                f"{i['register_s']:.1f}",
                f"{i['register_per_s']:,.0f}",
                f"{i['register_cpu_s']:.1f}",
                f"{i['register_per_cpu_s']:,.0f}",
                f"{i['build_s']:.1f}",
                f"{i['end_to_end_per_s']:,.0f}",
                f"{r['repeat_batch']['per_s']:,.0f}",
                f"{r['max_rss_mib']:,.0f}",
                human_bytes(r["store_bytes"]) if r["store_bytes"] else "-",
                "{:.1f} / {:.1f}".format(r["load_before"][0], r["load_after"][0]),
            ]
        )
    print(
        table(
            "Ingest (store.register, batches of ~{:,} nodes+edges)".format(results[0]["ingest"]["chunk"]),
            [
                "backend",
                "nodes",
                "edges",
                "batches",
                "register s",
                "register el/s",
                "CPU s",
                "el/CPU-s",
                "build s",
                "end-to-end el/s",
                "repeat el/s",
                "max RSS MiB",
                "store size",
                "load before/after",
            ],
            rows,
        )
    )
    if any("isolated" not in r for r in results):
        return  # --ingest-only
    print()
    rows = []
    for r in results:
        iso = r["isolated"]
        rows.append(
            [
                f"{r['backend']} {r['ingest']['nodes']:,}",
                fmt_ms(iso["get_node"]["p50_ms"]),
                fmt_ms(iso["reach"]["p50_ms"]),
                fmt_ms(iso["reach"]["p95_ms"]),
                fmt_ms(iso["impact"]["p50_ms"]),
                fmt_ms(iso["impact"]["p95_ms"]),
            ]
        )
    print(
        table(
            "A node with no edges (ms)",
            ["graph", "get_node p50", "reach p50", "reach p95", "impact p50", "impact p95"],
            rows,
        )
    )
    print()
    rows = []
    for r in results:
        for c in r["closures"]:
            sizes = sorted(c["closures"])
            rows.append(
                [
                    f"{r['backend']} {r['ingest']['nodes']:,}",
                    "impact" if c["direction"] == "downstream" else "provenance",
                    f"~{c['wanted']:,}",
                    f"{sizes[0]:,}-{sizes[-1]:,}" if sizes[0] != sizes[-1] else f"{sizes[0]:,}",
                    c["reach"]["n"],
                    fmt_ms(c["reach"]["p50_ms"]),
                    fmt_ms(c["reach"]["p95_ms"]),
                    fmt_ms(c["reach"]["mean_ms"]),
                    fmt_ms(c["report"]["p50_ms"]),
                    fmt_ms(c["report"]["p95_ms"]),
                    fmt_ms(c["report"]["mean_ms"]),
                ]
            )
    print(
        table(
            "Closures (ms): store.reach and the full report (lineage.analysis.impact / provenance with counts, "
            "owners, production deployments and the first 100 rows with records and paths)",
            [
                "graph",
                "query",
                "wanted",
                "closure sizes",
                "samples",
                "reach p50",
                "reach p95",
                "reach mean",
                "report p50",
                "report p95",
                "report mean",
            ],
            rows,
        )
    )
    rows = []
    for r in results:
        for leaf in r.get("leaves", []):
            rows.append(
                [
                    f"{r['backend']} {r['ingest']['nodes']:,}",
                    leaf["leaf"],
                    f"{leaf['upstream']:,}",
                    fmt_ms(leaf["impact"]["p50_ms"]),
                    fmt_ms(leaf["impact"]["p95_ms"]),
                    fmt_ms(leaf["report"]["p50_ms"]),
                    fmt_ms(leaf["report"]["p95_ms"]),
                ]
            )
    if rows:
        print()
        print(
            table(
                "Leaves (ms): nothing downstream, a large upstream; the full impact report, and the report "
                "document (lineage.report.data.build_report: pinned state, subgraph, the start's classifications)",
                ["graph", "leaf", "upstream", "impact p50", "impact p95", "document p50", "document p95"],
                rows,
            )
        )
    for r in results:
        if r.get("reused_store"):
            print(f"  {r['backend']} {r['ingest']['nodes']:,}: store reused from an earlier run (--reuse): "
                  "no ingest figures")
    for r in results:
        if "traced_peak_impact_mib" in r:
            print(
                f"  {r['backend']} {r['ingest']['nodes']:,}: one impact report of {r['traced_impact_closure']:,} nodes "
                f"allocates at most {r['traced_peak_impact_mib']:.1f} MiB of Python objects (tracemalloc)"
            )


def print_lattice(res: dict[str, Any]) -> None:
    t = res["timeout_s"]

    def cell(row: dict[str, Any], key: str) -> str:
        if key not in row:
            return "-" if key == "distinct_s" and res["backend"] != "sqlite" else f"(>{t:g} s)"
        return f"{row[key] * 1000:.1f}" if row[key] is not None else f"timeout {t:g} s"

    naive_name = "naive CTE (paths) ms" if res["backend"] == "sqlite" else "naive Cypher [*] paths ms"
    head = ["diamonds", "paths", "nodes", "reach p50 ms", naive_name, "rows"]
    if res["backend"] == "sqlite":
        head.append("CTE UNION (distinct) ms")
    rows = []
    for row in res["rows"]:
        line = [
            row["diamonds"],
            f"2^{row['diamonds']}",
            row["nodes"],
            fmt_ms(row["ours"]["p50_ms"]),
            cell(row, "naive_s"),
            f"{row['naive_rows']:,}" if isinstance(row.get("naive_rows"), int) else (row.get("naive_rows") or "-"),
        ]
        if res["backend"] == "sqlite":
            line.append(cell(row, "distinct_s"))
        rows.append(line)
    print(
        table(f"Diamond lattice on {res['backend']}: chain of n diamonds, downstream of the first dataset", head, rows)
    )


# -- main --------------------------------------------------------------------------------------------


def print_ratios(results: list[dict[str, Any]]) -> None:
    """This tree against the other tree (--other-tree), scenario by scenario, run one after the other."""
    print()
    for other, this in zip(results[::2], results[1::2], strict=False):
        a, b = other["ingest"], this["ingest"]
        print(
            f"{this['backend']} {this['size']:,}: register el/s {b['register_per_s'] / a['register_per_s']:.2f}x, "
            f"el/CPU-s {b['register_per_cpu_s'] / a['register_per_cpu_s']:.2f}x the other tree "
            f"(load {other['load_before'][0]:.1f} -> {this['load_after'][0]:.1f})"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000", help="target node counts, comma separated")
    p.add_argument("--backends", default="sqlite", help="sqlite and/or neo4j, comma separated")
    p.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    p.add_argument("--neo4j-user", default=os.environ.get("NEO4J_USER", "neo4j"))
    p.add_argument("--neo4j-password", default=os.environ.get("NEO4J_PASSWORD", "neo4j-password"))
    p.add_argument("--neo4j-database", default=os.environ.get("NEO4J_DATABASE"))
    p.add_argument("--neo4j-wipe", action="store_true", help="delete everything in the Neo4j database first")
    p.add_argument("--reps", type=int, default=20, help="timed repetitions per start node (a quarter for ~10k)")
    p.add_argument("--starts", type=int, default=3, help="start nodes per closure size")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--chunk", type=int, default=50_000, help="nodes+edges per registration batch")
    p.add_argument("--lattice", default=",".join(map(str, DEFAULT_LATTICE)), help="diamond counts ('' to skip)")
    p.add_argument("--naive-timeout", type=float, default=10.0, help="seconds before a naive query is cut")
    p.add_argument("--workdir", help="where store files go (default: a temporary directory, removed)")
    p.add_argument("--json", default="auto", help="results file; 'auto': bench/results/<time>.json; '' for none")
    p.add_argument("--in-process", action="store_true", help="run every scenario in this process")
    p.add_argument("--ingest-only", action="store_true", help="measure registration only (no read figures)")
    p.add_argument("--reuse", action="store_true",
                   help="keep a store already filled with the same graph (SQLite: under --workdir; Neo4j: the "
                        "database) instead of emptying and loading it again; no ingest figures then")
    p.add_argument("--starts-from", help="with --reuse: the start nodes and leaves of an earlier run's results "
                                         "file (the same graph on another backend), so the generator need not run")
    p.add_argument("--other-tree", help="also run each scenario with the lineage package of this source tree "
                                        "(PYTHONPATH), just before this tree's run, and print the ratios")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.lattice = [int(s) for s in args.lattice.split(",") if s.strip()]
    for b in args.backend_list:
        if b not in ("sqlite", "neo4j"):
            p.error(f"unknown backend {b!r}")
    return args


def run_worker(job: str, args: argparse.Namespace, workdir: Path, tree: str | None = None) -> dict[str, Any]:
    """Run one job ('sqlite:100000' or 'sqlite:lattice') in a child process; return its result.

    ``tree``: the child imports the lineage package of that source tree instead of this one."""
    with tempfile.NamedTemporaryFile(suffix=".json", dir=workdir, delete=False) as fh:
        out = Path(fh.name)
    argv = [a for a in sys.argv[1:] if not a.startswith("--worker")]
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--worker", f"{job}:{out}", "--workdir", str(workdir)]
    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve())) if tree else None
    proc = subprocess.run(cmd, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"scenario {job} failed (exit {proc.returncode})")
    data: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return data


def do_job(job: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    backend, what = job.split(":", 1)
    if what == "lattice":
        return lattice(backend, args, workdir)
    return scenario(backend, int(what), args, workdir)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        backend, what, out = args.worker.split(":", 2)
        res = do_job(f"{backend}:{what}", args, Path(args.workdir))
        Path(out).write_text(json.dumps(res))
        return
    info = machine()
    print("How produced")
    print(f"  command : {info['command']}")
    print(f"  machine : {info['cores']} cores, {info['cpu']}, {info['memory']} RAM, {info['platform']}")
    print(
        f"  software: Python {info['python']}, SQLite {info['sqlite']}, pydantic {info['pydantic']}, git {info['git']}"
    )
    print(
        f"  settings: seed {args.seed}, batches of {args.chunk:,} nodes+edges, {args.reps} timed repetitions per "
        f"start node ({max(5, args.reps // 4)} for ~10k closures), {args.starts} start nodes per closure size, "
        f"isolated node x{args.reps * 10}; each scenario in its own process; warm caches"
    )
    print(f"  date    : {info['date']}, load average {os.getloadavg()[0]:.1f} (1 min) at start")
    print()
    backends = []
    for b in args.backend_list:
        if b == "neo4j" and (why := neo4j_available()):
            print(f"neo4j: skipped, {why}")
            continue
        backends.append(b)
    tmp = None
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="lineage-bench-")
        workdir = Path(tmp.name)
    results: dict[str, Any] = {"machine": info, "args": {k: v for k, v in vars(args).items() if k != "neo4j_password"}}
    results["scenarios"] = []
    results["lattice"] = []
    try:
        for backend in backends:
            for size in args.size_list:
                job = f"{backend}:{size}"
                if args.other_tree and not args.in_process:
                    t0 = time.perf_counter()
                    other = run_worker(job, args, workdir, args.other_tree)
                    other["wall_s"] = time.perf_counter() - t0
                    other["backend"] = f"{backend} (other tree)"
                    results["scenarios"].append(other)
                    print(f"[{backend} {size:,} with {args.other_tree}: done in {other['wall_s']:.0f} s]", flush=True)
                t0 = time.perf_counter()
                res = do_job(job, args, workdir) if args.in_process else run_worker(job, args, workdir)
                res["wall_s"] = time.perf_counter() - t0
                results["scenarios"].append(res)
                print(f"[{backend} {size:,}: done in {res['wall_s']:.0f} s]", flush=True)
        if results["scenarios"]:
            print()
            print_scenarios(results["scenarios"])
            if args.other_tree:
                print_ratios(results["scenarios"])
        for backend in backends:
            if args.lattice:
                job = f"{backend}:lattice"
                res = do_job(job, args, workdir) if args.in_process else run_worker(job, args, workdir)
                results["lattice"].append(res)
                print()
                print_lattice(res)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        path = Path(args.json) if args.json != "auto" else HERE / "results" / f"run-{datetime.now():%Y%m%d-%H%M%S}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
