"""Several processes writing to one SQLite store file at once lose nothing, duplicate nothing and leave
one unbroken audit chain.

Real processes, started together behind a barrier, each register a mix of batches several times:
one batch every writer sends (only the first to commit may change anything), one batch per round
shared by all writers, and batches of their own (alone, and mixed with shared nodes). The expected
outcome is computed from the batch contents alone.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from contract_support import all_audit

from lineage.storage import open_store

WRITERS = 4
ROUNDS = 5

# Batches are built by one function used by both the writers and the test, so the test knows what
# was sent; what should happen is derived from the contents, not from running anything.
BATCHES = textwrap.dedent(
    """
    def ds(name, version="1"):
        return {"kind": "Dataset", "namespace": "w", "name": name, "version": version}

    def rn(name):
        return {"kind": "Run", "namespace": "ci", "name": name, "version": "1"}

    def i(spec):
        base = f"{spec['kind'].lower()}:{spec['namespace']}/{spec['name']}"
        return f"{base}@{spec['version']}" if "version" in spec else base

    def e(a, t, b):
        return {"from": i(a), "type": t, "to": i(b)}

    SHARED = [ds(f"shared{k}") for k in range(6)]

    def batches(writer, rounds):
        everyone = {"nodes": SHARED, "edges": [e(SHARED[k], "FEEDS", SHARED[k + 1]) for k in range(5)]}
        out = [("everyone", everyone)]
        for r in range(rounds):
            hub, job = ds(f"round{r}"), rn(f"round{r}-job")
            out.append(("round", {"nodes": [hub, job], "edges": [e(SHARED[r % 6], "INPUT_TO", job),
                                                                 e(job, "PRODUCED", hub)]}))
            mine, my_job = ds(f"w{writer}-r{r}"), rn(f"w{writer}-r{r}-job")
            out.append(("own", {"nodes": [mine, my_job], "edges": [e(hub, "INPUT_TO", my_job),
                                                                   e(my_job, "PRODUCED", mine)]}))
            extra = ds(f"w{writer}-r{r}-extra")
            out.append(("mixed", {"nodes": [SHARED[0], hub, extra], "edges": [e(hub, "FEEDS", extra),
                                                                             e(SHARED[0], "FEEDS", hub)]}))
        return out
    """
)

WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from batches import batches
    from lineage.model import parse_batch
    from lineage.storage import open_store

    url, writer, rounds, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    work = [(label, parse_batch(raw)) for label, raw in batches(writer, rounds)]
    store = open_store(url)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    results = []
    for label, batch in work:
        r = store.register(batch, principal=f"writer-{writer}", source="concurrency-test")
        results.append({"label": label, "seq": r.audit_seq, "nodes": r.nodes_created, "edges": r.edges_created})
    store.close()
    print(json.dumps(results), flush=True)
    """
)


def load_batches(folder: Path) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile((folder / "batches.py").read_text(), "batches.py", "exec"), namespace)
    return namespace


def start_together(commands: list[list[str]], go: Path, env: dict[str, str]) -> list[str]:
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for c in commands]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line.strip() == "ready", (line, p.stderr.read() if p.stderr else "")
        go.touch()
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            outs.append(out)
        return outs
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_concurrent_writer_processes(tmp_path: Path) -> None:
    (tmp_path / "batches.py").write_text(BATCHES)
    (tmp_path / "writer.py").write_text(WRITER)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    open_store(url).close()  # create the file up front; creation racing is tested below
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    go = tmp_path / "go"
    outs = start_together(
        [[sys.executable, str(tmp_path / "writer.py"), url, str(w), str(ROUNDS), str(go)] for w in range(WRITERS)],
        go,
        env,
    )
    results = {w: json.loads(out.strip().splitlines()[-1]) for w, out in enumerate(outs)}

    # what was sent, and so what must be there
    mod = load_batches(tmp_path)
    nodes: set[str] = set()
    edges: set[tuple[str, str, str]] = set()
    for w in range(WRITERS):
        for _, raw in mod["batches"](w, ROUNDS):
            nodes |= {mod["i"](n) for n in raw["nodes"]}
            edges |= {(e["from"], e["type"], e["to"]) for e in raw["edges"]}
    # "everyone" and each "round" batch change the store once, whoever wins; "own" and "mixed" always do
    expected_changes = 1 + ROUNDS + 2 * ROUNDS * WRITERS

    with open_store(url) as st:
        counts = st.counts()
        assert counts["nodes"] == len(nodes) and counts["current_nodes"] == len(nodes)
        assert counts["edges"] == len(edges)
        assert set(st.get_nodes(sorted(nodes))) == nodes
        for src, _type, dst in edges:
            assert any(e.target == dst and e.type.value == _type for e in st.node_edges(src))

        entries = all_audit(st)
        verification = st.verify_audit()
        assert verification.ok, verification.problem
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert len(entries) == counts["audit_entries"] == expected_changes
        assert all(x.at < y.at for x, y in itertools.pairwise(entries))

    changed = [(w, r) for w, rs in results.items() for r in rs if r["seq"] is not None]
    assert len(changed) == expected_changes
    assert sorted(r["seq"] for _, r in changed) == list(range(1, expected_changes + 1))
    for label in ("everyone", "round"):
        winners = [r for _, r in changed if r["label"] == label]
        assert len(winners) == (1 if label == "everyone" else ROUNDS)
    assert all(r["seq"] is not None for rs in results.values() for r in rs if r["label"] in ("own", "mixed"))
    # nothing created twice: creations add up to the totals
    assert sum(r["nodes"] for _, r in changed) == len(nodes)
    assert sum(r["edges"] for _, r in changed) == len(edges)
    # each entry is recorded under the writer that made it
    by_seq = {e.seq: e for e in entries}
    for w, r in changed:
        assert by_seq[r["seq"]].principal == f"writer-{w}"
        assert by_seq[r["seq"]].source == "concurrency-test"


@pytest.mark.slow
def test_concurrent_cli_registrations_create_the_store_once(tmp_path: Path) -> None:
    """Four `lineage register` processes at once on a store file that does not exist yet."""
    db = tmp_path / "fresh.db"
    files = []
    for w in range(4):
        raw = {
            "nodes": [
                {"kind": "Dataset", "namespace": "w", "name": "common", "version": "1"},
                {"kind": "Dataset", "namespace": "w", "name": f"own{w}", "version": "1"},
            ],
            "edges": [{"from": "dataset:w/common@1", "type": "FEEDS", "to": f"dataset:w/own{w}@1"}],
        }
        path = tmp_path / f"b{w}.json"
        path.write_text(json.dumps(raw))
        files.append(path)
    cli = [sys.executable, "-c", "from lineage.cli import main; main()"]
    env = {**os.environ, "LINEAGE_STORE": f"sqlite:///{db}"}
    for _ in range(2):  # the second time, everything is a repeat
        procs = [
            subprocess.Popen([*cli, "register", "--file", str(f), "--actor", f"cli-{i}", "--format", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for i, f in enumerate(files)
        ]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            assert "audit_seq" in json.loads(out)
    with open_store(f"sqlite:///{db}") as st:
        counts = st.counts()
        assert counts["nodes"] == 5 and counts["edges"] == 4
        assert counts["audit_entries"] == 4  # one per file the first time; the repeats write nothing
        assert st.verify_audit().ok
        assert sorted(e.principal for e in all_audit(st)) == [f"cli-{i}" for i in range(4)]


@pytest.mark.parametrize("n", [2])
def test_two_stores_in_one_process_share_the_chain(tmp_path: Path, n: int) -> None:
    """Two open handles on one file (as two server workers would have) interleave writes safely."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    stores = [open_store(url) for _ in range(n)]
    try:
        from lineage.model import parse_batch

        for k in range(6):
            st = stores[k % n]
            st.register(parse_batch({"nodes": [{"kind": "Dataset", "namespace": "w", "name": f"x{k}",
                                                "version": "1"}]}), principal=f"h{k % n}")
        for st in stores:
            v = st.verify_audit()
            assert v.ok and v.entries == 6
            assert st.counts()["nodes"] == 6
    finally:
        for st in stores:
            st.close()


def test_readers_open_and_read_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    """WAL readers never wait for writers, and that includes opening the store."""
    import sqlite3

    from lineage.model import parse_batch
    from lineage.storage.sqlite import SQLiteStore

    url = f"sqlite:///{tmp_path / 'busy.db'}"
    with open_store(url) as st:
        st.register(parse_batch({"nodes": [{"kind": "Dataset", "namespace": "w", "name": "a", "version": "1"}]}),
                    principal="p")
    writer = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a long registration in another process, as far as readers can tell
        writer.execute("INSERT INTO meta (key, value) VALUES ('in-flight', 'x')")
        reader = SQLiteStore(url, busy_timeout_s=0.2)  # would time out if opening needed the write lock
        try:
            assert [n.id for n in reader.search("a")] == ["dataset:w/a@1"]
            assert reader.verify_audit().ok
        finally:
            reader.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
