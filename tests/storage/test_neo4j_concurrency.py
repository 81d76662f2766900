"""Several writer processes on one Neo4j keep one unbroken audit chain.

Each process opens its own store (its own driver and connection pool, as API replicas do) and
registers, annotates and retracts concurrently, partly on the same nodes. Afterwards the chain has
exactly one entry per change, sequence numbers 1..n without gaps or duplicates, every entry links
to the one before, recording times strictly increase, and verification passes.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
from typing import Any

import pytest

from lineage.model import parse_batch
from lineage.storage import AuditFilter, GraphStore, open_store

pytestmark = [pytest.mark.neo4j, pytest.mark.parametrize("backend", ["neo4j"])]

WRITERS = 4
ROUNDS = 12


def _writer(uri: str, worker: int, queue: Any) -> None:
    changes = 0
    try:
        store = open_store(
            uri,
            user=os.environ.get("NEO4J_USER", "neo4j"),
            password=os.environ.get("NEO4J_PASSWORD"),
            database=os.environ.get("NEO4J_DATABASE"),
        )
        with store:
            for i in range(ROUNDS):
                shared = {"kind": "Dataset", "namespace": "shared", "name": f"hub{i % 3}", "version": "1"}
                own = {"kind": "Run", "namespace": "ci", "name": f"job{worker}", "version": str(i)}
                out = {"kind": "Dataset", "namespace": f"w{worker}", "name": f"out{i}", "version": "1"}
                batch = parse_batch(
                    {
                        "nodes": [shared, own, out],
                        "edges": [
                            {
                                "from": f"dataset:shared/hub{i % 3}@1",
                                "type": "INPUT_TO",
                                "to": f"run:ci/job{worker}@{i}",
                            },
                            {
                                "from": f"run:ci/job{worker}@{i}",
                                "type": "PRODUCED",
                                "to": f"dataset:w{worker}/out{i}@1",
                            },
                        ],
                    }
                )
                if store.register(batch, principal=f"writer-{worker}").changed:
                    changes += 1
                if store.annotate(
                    f"dataset:shared/hub{i % 3}@1", "tag", add=[f"t{worker}-{i % 2}"], principal=f"writer-{worker}"
                ).changed:
                    changes += 1
                if i % 4 == 3:
                    store.retract(f"dataset:w{worker}/out{i}@1", reason="test", principal=f"writer-{worker}")
                    changes += 1
        queue.put((worker, changes, None))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put((worker, changes, repr(exc)))


def test_concurrent_writer_processes_keep_one_chain(store: GraphStore, store_url: str) -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(store_url, w, queue)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [r for r in results if r[2]]
    assert not errors, errors
    changes = sum(r[1] for r in results)

    entries = store.audit_entries(AuditFilter(limit=1_000_000))
    assert [e.seq for e in entries] == list(range(1, changes + 1))
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
        assert after.at > before.at
    check = store.verify_audit()
    assert check.ok, check.problem
    assert check.entries == changes
    principals = {e.principal for e in entries}
    assert principals == {f"writer-{w}" for w in range(WRITERS)}
    # every process's work is there: each run and its output, and the retractions
    counts = store.counts()
    assert counts["nodes"] == 3 + WRITERS * ROUNDS * 2
    assert counts["current_nodes"] == counts["nodes"] - WRITERS * (ROUNDS // 4)
