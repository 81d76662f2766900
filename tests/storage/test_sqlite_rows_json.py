"""The embedded store writes a large batch's rows as one JSON array: the rows are those it writes
one by one, value for value and type for type."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from contract_support import PRINCIPAL, dep, ds, edge, run

from lineage.model import NodeSpec, parse_batch
from lineage.storage import open_store
from lineage.storage import sqlite as sqlite_backend

AWKWARD = ["plain", "é😀", 'quo"te', "back\\slash", "tab\there", "\u2028", "{\"json\": [1]}", "'; drop", "1", "null"]


def batch_data(n: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for i in range(n):
        text = AWKWARD[i % len(AWKWARD)]
        name = f"t{i}.{text if text.isprintable() else 'x'}"
        d = ds(name, f"v{i}", rows=i, note=text, nested={"k": [text, i, None, True]}, big=2**62 + i)
        d["event_time"] = f"2026-01-0{1 + i % 9}T10:00:00.{i:06d}Z" if i % 3 else None
        r = run(f"job {i}", f"r{i}", status="COMPLETE")
        nodes += [d, r]
        edges.append(edge(NodeSpec.model_validate(d).id, "INPUT_TO", NodeSpec.model_validate(r).id))
        edges[-1]["properties"] = {"why": text} if i % 2 else {}
    nodes.append(dep("api"))
    return {"nodes": nodes, "edges": edges}


def table_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table, key in [
            ("nodes", "id"),
            ("node_revisions", "node_id"),
            ("edges", "src_n, type, dst_n"),
            ("audit_subjects", "subject, seq"),
        ]:
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
            # recorded_at differs between the two stores; every other value and its type must not
            out[table] = [tuple((type(v).__name__, v) for v in r) for r in rows]
        return out
    finally:
        conn.close()


def strip_times(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    columns = {"nodes": 8, "node_revisions": 1, "edges": 7}  # recorded_at
    return {
        t: [r[: columns[t]] + r[columns[t] + 1 :] for r in rs] if t in columns else rs for t, rs in rows.items()
    }


def test_rows_sent_as_json_are_the_rows_sent_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = batch_data(200)
    found = []
    for name, minimum in [("one-by-one", 10**9), ("json", 1)]:
        monkeypatch.setattr(sqlite_backend, "JSON_ROWS_MIN", minimum)
        path = tmp_path / f"{name}.db"
        with open_store(f"sqlite:///{path}") as store:
            store.register(parse_batch(data), principal=PRINCIPAL)
            verification = store.verify_store()
            assert verification.ok, verification.to_dict()
        found.append(strip_times(table_rows(path)))
    assert found[0] == found[1]
    assert len(found[1]["nodes"]) == len(data["nodes"]) and len(found[1]["edges"]) == len(data["edges"])
    # every node is a subject of the registration's entry, named as stored
    assert [r[0][1] for r in found[1]["audit_subjects"]] == sorted(r[1][1] for r in found[1]["nodes"])
