"""Our Neo4j traversal next to the naive variable-length Cypher query, on lattices and a big graph.

    python bench/neo4j_naive.py --lattice 8,12,16,20,24,64 --size 100000 --timeout 30 --neo4j-wipe

"Naive" is what a first Neo4j implementation writes: ``MATCH p = (s)-[*]->(x) RETURN p``. It returns
one row per path, so on a chain of n diamonds it returns 2**(n+1) + ... rows where the store's
breadth-first expansion (one indexed ``UNWIND``/``MATCH`` per level, distinct nodes only) touches
3n + 1 nodes. Each naive query runs with a server-side transaction timeout; a query that hits it
is reported as ``> timeout`` and no larger lattice is tried. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import neo4j  # noqa: E402
from generate import LineageGraph, diamond_lattice, pick_starts  # noqa: E402

from lineage.storage import Direction, GraphStore, open_store  # noqa: E402

NAIVE = "MATCH p = (s:Node {id: $id})-[*]->(x) RETURN p"
NAIVE_UP = "MATCH p = (s:Node {id: $id})<-[*]-(x) RETURN p"


def naive(store: Any, query: str, start: str, timeout: float) -> tuple[float | None, int]:
    """(seconds, paths streamed to the client), or (None, paths so far) when the timeout cut it."""
    driver: neo4j.Driver = store._driver
    t0 = time.perf_counter()
    rows = 0
    try:
        with driver.session(database=store.database, fetch_size=10_000) as session:
            result = session.run(neo4j.Query(query, timeout=timeout), id=start)  # type: ignore[arg-type]
            for _ in result:
                rows += 1
                if time.perf_counter() - t0 > timeout:
                    result.consume()  # discards the rest; the server ends the query
                    return None, rows
        return time.perf_counter() - t0, rows
    except neo4j.exceptions.Neo4jError as exc:
        text = f"{exc.code} {exc.message}".lower()
        if "timeout" in text or "terminated" in text or "memory" in text:
            return None, rows
        raise


def ours(store: GraphStore, start: str, direction: Direction, reps: int) -> tuple[float, int]:
    """(median seconds, closure size) of ``store.reach``."""
    times, size = [], 0
    for _ in range(reps):
        t0 = time.perf_counter()
        size = len(store.reach(start, direction).nodes)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), size


def fmt(seconds: float | None, timeout: float) -> str:
    if seconds is None:
        return f"> {timeout:.0f} s"
    return f"{seconds * 1000:,.1f} ms"


def open_neo4j(args: argparse.Namespace) -> GraphStore:
    store = open_store(args.neo4j_uri, user=args.neo4j_user, password=args.neo4j_password, database=args.neo4j_database)
    if store.counts()["nodes"] and not args.reuse:
        if not args.neo4j_wipe:
            store.close()
            raise SystemExit(f"{args.neo4j_uri} is not empty: pass --neo4j-wipe (deletes everything) or --reuse")
        store.wipe()  # type: ignore[attr-defined]
    return store


def lattices(store: GraphStore, sizes: list[int], args: argparse.Namespace) -> None:
    print(f"\nDiamond lattices (naive: {NAIVE!r}, timeout {args.timeout:.0f} s)")
    print(f"{'diamonds':>8} {'nodes':>6} {'paths to end':>14} {'ours':>12} {'naive':>12} {'naive rows':>14}")
    dead = False
    for n in sizes:
        batch, first, _last = diamond_lattice(n, namespace="naive-lattice")
        store.register(batch, principal="bench", source="bench")
        took, size = ours(store, first, Direction.DOWNSTREAM, args.reps)
        assert size == 3 * n
        if dead:
            print(f"{n:>8} {3 * n + 1:>6} {'2^' + str(n):>14} {fmt(took, 0):>12} {'not run':>12} {'':>14}")
            continue
        secs, rows = naive(store, NAIVE, first, args.timeout)
        dead = secs is None
        print(f"{n:>8} {3 * n + 1:>6} {'2^' + str(n):>14} {fmt(took, 0):>12} {fmt(secs, args.timeout):>12} {rows:>14,}")


def big_graph(store: GraphStore, args: argparse.Namespace) -> None:
    graph = LineageGraph(args.size, seed=args.seed, chunk=args.chunk)
    t0 = time.perf_counter()
    elements = 0
    for batch in graph.batches():
        if not args.reuse:
            store.register(batch, principal="bench", source="bench")
        elements += len(batch)
    took = time.perf_counter() - t0
    verb = "generated (already stored)" if args.reuse else "registered"
    print(f"\nGraph of {args.size:,} nodes: {elements:,} nodes+edges {verb} in {took:.1f} s")
    wanted = [c for c in (10, 100, 1_000, 10_000) if c <= args.size // 2]
    print(f"{'direction':>10} {'closure':>8} {'ours':>12} {'naive':>12} {'naive rows':>14}")
    for direction in (Direction.DOWNSTREAM, Direction.UPSTREAM):
        picks = pick_starts(graph, downstream=direction is Direction.DOWNSTREAM, sizes=wanted, per_size=1)
        dead = False
        for size in wanted:
            start, expect = picks[size][0]
            took, got = ours(store, start, direction, args.reps)
            assert got == expect, (start, got, expect)
            if dead:
                print(f"{direction.value:>10} {got:>8,} {fmt(took, 0):>12} {'not run':>12} {'':>14}")
                continue
            query = NAIVE if direction is Direction.DOWNSTREAM else NAIVE_UP
            secs, rows = naive(store, query, start, args.timeout)
            dead = secs is None
            print(f"{direction.value:>10} {got:>8,} {fmt(took, 0):>12} {fmt(secs, args.timeout):>12} {rows:>14,}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    p.add_argument("--neo4j-user", default=os.environ.get("NEO4J_USER", "neo4j"))
    p.add_argument("--neo4j-password", default=os.environ.get("NEO4J_PASSWORD"))
    p.add_argument("--neo4j-database", default=os.environ.get("NEO4J_DATABASE"))
    p.add_argument("--neo4j-wipe", action="store_true", help="delete everything in the database first")
    p.add_argument("--reuse", action="store_true", help="the big graph (same --size/--seed) is already stored")
    p.add_argument("--lattice", default="8,12,16,20,24,32,64", help="diamond counts ('' to skip)")
    p.add_argument("--size", type=int, default=100_000, help="nodes in the big graph (0 to skip)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--chunk", type=int, default=50_000)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds before a naive query is cut")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)
    with open_neo4j(args) as store:
        if args.size:
            big_graph(store, args)
        if args.lattice:
            lattices(store, [int(x) for x in args.lattice.split(",") if x], args)


if __name__ == "__main__":
    main()
