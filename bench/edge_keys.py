"""The embedded store's two edge B-trees (``edges`` and its index ``edges_in``) filled with the
generated graph's edges, keyed by text ids (as stores up to version 3 kept them) against integer
ids (a node's number in order of first appearance, as version 4 keys them), in batches as
``register`` writes them.

    python bench/edge_keys.py [--nodes 1000000] [--keys text,int] [--repeat 2]

Only the two trees are written (same columns, same PRAGMAs, one synced commit per batch, a passive
checkpoint every fourth batch), so the figures show what the key alone costs, not a whole ingest.
Prints edges per second over the last 20 batches and over all of them, the file size and the load
average. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import LineageGraph

_INSERT = (
    "INSERT INTO edges (src, type, dst, src_kind, dst_kind, properties, event_time, recorded_at, recorded_by) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def fill(nodes: int, keys: str, folder: str) -> dict[str, Any]:
    db = sqlite3.connect(Path(folder) / f"edges-{keys}.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA cache_size=-65536")
    column = "TEXT" if keys == "text" else "INTEGER"
    db.execute(
        f"CREATE TABLE edges (src {column} NOT NULL, type TEXT NOT NULL, dst {column} NOT NULL, "
        "src_kind TEXT NOT NULL, dst_kind TEXT NOT NULL, properties TEXT NOT NULL, event_time INTEGER, "
        "recorded_at INTEGER NOT NULL, recorded_by TEXT NOT NULL, retracted_at INTEGER, retracted_by TEXT, "
        "retract_reason TEXT, PRIMARY KEY (src, type, dst)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX edges_in ON edges (dst, type, src, src_kind, recorded_at, retracted_at)")
    numbers: dict[str, int] = {}

    def key(node_id: str) -> str | int:
        return node_id if keys == "text" else numbers.setdefault(node_id, len(numbers) + 1)

    timed: list[tuple[float, int]] = []
    for i, batch in enumerate(LineageGraph(nodes, seed=42).batches()):
        for n in batch.nodes:
            key(n.id)
        kinds = {n.id: n.kind.value for n in batch.nodes}
        rows = sorted(
            (key(e.source), e.type.value, key(e.target), kinds.get(e.source, "Dataset"), kinds.get(e.target, "Run"),
             "{}", None, i, "bench")
            for e in batch.edges
        )
        start = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany(_INSERT, rows)
        db.execute("COMMIT")
        if i % 4 == 0:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        timed.append((time.perf_counter() - start, len(rows)))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    late = timed[-20:]
    return {
        "keys": keys,
        "late_edges_per_s": sum(n for _, n in late) / sum(t for t, _ in late),
        "all_edges_per_s": sum(n for _, n in timed) / sum(t for t, _ in timed),
        "edges": sum(n for _, n in timed),
        "mib": os.path.getsize(Path(folder) / f"edges-{keys}.db") / 2**20,
        "load": os.getloadavg()[0],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--keys", default="text,int")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    print(f"edge B-trees of the generated {args.nodes:,}-node graph; runs take turns", flush=True)
    for _ in range(args.repeat):
        for keys in args.keys.split(","):
            with tempfile.TemporaryDirectory() as folder:
                r = fill(args.nodes, keys, folder)
            print(
                f"{r['keys']:>5} keys: {r['edges']:,} edges, last 20 batches {r['late_edges_per_s']:,.0f} edges/s, "
                f"all {r['all_edges_per_s']:,.0f} edges/s, {r['mib']:,.0f} MiB, load {r['load']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
