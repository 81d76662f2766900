"""How long `lineage audit verify` takes on generated graphs, next to a plain read of the same rows.

For each size, a fresh store is filled with the synthetic ML platform of ``generate.py`` through the
public registration path (plus owners, tags, a retraction, tokens and raw events, so every table is
present), then timed, side by side in one run:

- ``verify``: ``store.verify_store()``: the chain and every row against its entry;
- ``log only``: ``store.verify_store(log_only=True)``: the chain alone;
- ``plain read``: every row of the same tables read in one transaction and dropped (SQLite:
  ``SELECT *`` per table through the ``sqlite3`` module; Neo4j: ``MATCH`` returning the same values),
  the floor any verification that reads everything must pay.

Prints median, p95, rows per second, the load average before and after, and the ratio of verify to
the plain read. Asserts nothing.

    python bench/verify_bench.py --sizes 100000,1000000 [--reps 3] [--neo4j bolt://127.0.0.1:7687]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import LineageGraph

from lineage.governance.access import create_token, revoke_token
from lineage.storage import GraphStore, open_store

PRINCIPAL = "bench"
_PLAIN = (
    "SELECT * FROM audit",
    "SELECT * FROM nodes",
    "SELECT * FROM node_revisions",
    "SELECT * FROM edges",
    "SELECT * FROM annotations",
    "SELECT * FROM tokens",
    "SELECT * FROM raw_events",
    "SELECT * FROM audit_subjects",
)


def fill(store: GraphStore, size: int, chunk: int) -> tuple[int, float]:
    """Register the generated graph and a little of everything else; (elements, seconds)."""
    graph = LineageGraph(size, seed=42, chunk=chunk)
    elements = 0
    t0 = time.perf_counter()
    for batch in graph.batches():
        store.register(batch, principal=PRINCIPAL, source="bench")
        elements += len(batch)
    took = time.perf_counter() - t0
    for i, node in enumerate(graph.ids[:200]):
        store.annotate(node, "owner", add=[f"team-{i % 7}"], principal="user:bench")
        store.annotate(node, "tag", add=["pii", "gdpr"], principal="user:bench")
    store.annotate(graph.ids[0], "tag", remove=["gdpr"], principal="user:bench")
    store.retract(graph.ids[-1], reason="bench", principal="user:bench")
    create_token(store, "ci", "writer", principal="admin")
    create_token(store, "old", "reader", principal="admin")
    revoke_token(store, "old", principal="admin")
    store.append_raw_events("openlineage", [{"eventType": "COMPLETE", "i": i} for i in range(1000)])
    return elements, took


def plain_read_sqlite(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.execute("BEGIN")
        rows = 0
        for query in _PLAIN:
            cur = conn.execute(query)
            while batch := cur.fetchmany(5_000):
                rows += len(batch)
        conn.execute("ROLLBACK")
        return rows
    finally:
        conn.close()


_CYPHER = (
    "MATCH (a:AuditEntry) RETURN a {.*}",
    "MATCH (n:Node) RETURN n {.*}, labels(n)",
    "MATCH (v:Revision) RETURN v {.*}",
    "MATCH (s)-[r:INPUT_TO|PRODUCED|EXECUTED_IN|FEEDS|DEPLOYED_AS]->(t) RETURN s.id, type(r), t.id, r {.*}",
    "MATCH (a:Annotation) RETURN a {.*}",
    "MATCH (t:Token) RETURN t {.*}",
    "MATCH (e:RawEvent) RETURN e {.*}",
    "MATCH (s:AuditSubject) RETURN s {.*}",
)


def plain_read_neo4j(store: Any) -> int:
    rows = 0
    with store._session() as session, session.begin_transaction() as tx:
        for query in _CYPHER:
            for _ in tx.run(query):
                rows += 1
        tx.rollback()
    return rows


def timed(fn: Callable[[], Any], reps: int) -> tuple[list[float], Any]:
    samples = []
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t0)
    return samples, out


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(backend: str, store: GraphStore, size: int, reps: int, chunk: int, plain: Callable[[], int]) -> dict[str, Any]:
    load_before = os.getloadavg()
    elements, ingest_s = fill(store, size, chunk)
    verify, result = timed(store.verify_store, reps)
    assert result.ok, result.problems
    log_only, _ = timed(lambda: store.verify_store(log_only=True), reps)
    read, rows = timed(plain, reps)
    return {
        "backend": backend,
        "size": size,
        "nodes": store.counts()["nodes"],
        "elements": elements,
        "ingest_s": ingest_s,
        "entries": result.entries,
        "rows": result.rows,
        "plain_rows": rows,
        "verify": verify,
        "log_only": log_only,
        "read": read,
        "load": (load_before, os.getloadavg()),
    }


def show(r: dict[str, Any]) -> None:
    med = statistics.median
    v, lo, rd = med(r["verify"]), med(r["log_only"]), med(r["read"])
    print(
        f"\n{r['backend']} {r['size']:,} (nodes {r['nodes']:,}; {r['elements']:,} nodes+edges registered in "
        f"{r['ingest_s']:.0f} s, {r['elements'] / r['ingest_s']:,.0f}/s; {r['entries']:,} audit entries; "
        f"{r['rows']:,} rows verified, {r['plain_rows']:,} rows read plainly)"
    )
    print(f"  {'':12} {'median s':>9} {'p95 s':>9} {'rows/s':>12} {'x plain read':>13}")
    for name, samples in (("verify", r["verify"]), ("log only", r["log_only"]), ("plain read", r["read"])):
        m = med(samples)
        print(f"  {name:12} {m:9.2f} {p95(samples):9.2f} {r['plain_rows'] / m:12,.0f} {m / rd:13.2f}")
    print(f"  verify / plain read: {v / rd:.2f}x; log only / plain read: {lo / rd:.2f}x")
    (b1, b5, b15), (a1, a5, a15) = r["load"]
    print(f"  load average before {b1:.2f} {b5:.2f} {b15:.2f}, after {a1:.2f} {a5:.2f} {a15:.2f} "
          f"({os.cpu_count()} CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated node counts")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--neo4j", default=None, help="also measure a Neo4j server at this bolt URL (wiped!)")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="verify-bench-"))
    for size in (int(s) for s in args.sizes.split(",")):
        path = workdir / f"verify-{size}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        with open_store(f"sqlite:///{path}") as store:
            show(run("sqlite", store, size, args.reps, args.chunk, lambda p=path: plain_read_sqlite(p)))
        if args.neo4j:
            with open_store(args.neo4j, user=os.environ.get("NEO4J_USER", "neo4j"),
                            password=os.environ.get("NEO4J_PASSWORD")) as n4j:
                n4j.wipe()  # type: ignore[attr-defined]
                show(run("neo4j", n4j, size, args.reps, args.chunk, lambda s=n4j: plain_read_neo4j(s)))


if __name__ == "__main__":
    main()
