"""The floor under one durable registration: what a commit costs on this disk before any of our work.

    python bench/commit_floor.py [--commits 3000]

Times, in a fresh SQLite file in write-ahead-log mode, a transaction that inserts one 50-byte row
(``synchronous=FULL``: the log is synced on every commit, as the store does by default; and
``NORMAL``: no sync), then ``fsync`` after a 4 KiB write to a plain file. One batch per run cannot
be registered faster than the first figure while every batch is on disk when ``register`` returns.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path


def summary(xs: list[float]) -> str:
    xs = sorted(xs)
    p50, p95 = xs[len(xs) // 2], xs[int(0.95 * (len(xs) - 1))]
    return f"p50 {p50 * 1e3:.3f} ms, p95 {p95 * 1e3:.3f} ms, mean {statistics.mean(xs) * 1e3:.3f} ms"


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--commits", type=int, default=3000)
    args = p.parse_args()
    print(f"command : python bench/commit_floor.py --commits {args.commits}")
    print(f"load    : {os.getloadavg()[0]:.2f} at start; SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as tmp:
        for sync in ("FULL", "NORMAL"):
            conn = sqlite3.connect(Path(tmp) / f"{sync}.db", isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={sync}")
            conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
            times = []
            for _ in range(args.commits):
                t = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 50,))
                conn.execute("COMMIT")
                times.append(time.perf_counter() - t)
            conn.close()
            print(f"one-row commit, WAL, synchronous={sync:<6}: {summary(times)}")
        fd = os.open(Path(tmp) / "raw", os.O_WRONLY | os.O_CREAT)
        times = []
        for _ in range(args.commits):
            os.write(fd, b"x" * 4096)
            t = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - t)
        os.close(fd)
        print(f"fsync after a 4 KiB write               : {summary(times)}")
    print(f"load    : {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
