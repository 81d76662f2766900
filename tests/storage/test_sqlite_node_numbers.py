"""The embedded store numbers its nodes and keys edges by those numbers (store version 4).

Numbers are given 1, 2, 3... in the order nodes are written, never twice; every edge row names its
two nodes by number, and every read gives the ids back. A file edited so that an edge's number
names no node (the record's verification reports it) does not break the traversal index: such an
edge is left out, as the store's own walk leaves it out.
"""

from __future__ import annotations

import sqlite3
from itertools import pairwise
from pathlib import Path

import pytest
from contract_support import PRINCIPAL, mk

from lineage.storage import Direction, open_store


def ds(name: str) -> dict[str, str]:
    return {"kind": "Dataset", "namespace": "w", "name": name, "version": "1"}


def did(name: str) -> str:
    return f"dataset:w/{name}@1"


def feeds(a: str, b: str) -> dict[str, str]:
    return {"from": did(a), "type": "FEEDS", "to": did(b)}


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("rows_as_json", [False, True])
def test_nodes_are_numbered_in_order_and_edges_name_them_by_number(
    tmp_path: Path, rows_as_json: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.storage import sqlite as sqlite_backend

    monkeypatch.setattr(sqlite_backend, "JSON_ROWS_MIN", 1 if rows_as_json else 10**9)
    path = tmp_path / "s.db"
    with open_store(f"sqlite:///{path}") as s:
        s.register(mk([ds("b"), ds("a")], [feeds("a", "b")]), principal=PRINCIPAL, source="test")
        # new nodes, edges to nodes of the first batch, and a node written again (unchanged)
        s.register(mk([ds("a"), ds("d"), ds("c")], [feeds("b", "c"), feeds("c", "d"), feeds("a", "d")]),
                   principal=PRINCIPAL, source="test")  # fmt: skip
        s.retract(did("c"), reason="wrong", principal=PRINCIPAL)
        s.register(mk([ds("e")], [feeds("d", "e")]), principal=PRINCIPAL, source="test")
        edges = {(e.source, e.type.value, e.target, e.retracted_at is not None)
                 for n in "abcde" for e in s.node_edges(did(n), include_retracted=True)}  # fmt: skip
    numbers = _rows(path, "SELECT n, id FROM nodes ORDER BY n")
    # within a batch in id order, batches one after the other, never a number twice
    assert numbers == [(1, did("a")), (2, did("b")), (3, did("c")), (4, did("d")), (5, did("e"))]
    number = {i: n for n, i in numbers}
    stored = _rows(path, "SELECT src_n, type, dst_n, retracted_at IS NOT NULL FROM edges")
    assert {(number[s], t, number[d], r) for s, t, d, r in edges} == set(stored)
    assert len(stored) == 5 and sum(r for *_, r in stored) == 2  # c's two edges retracted with it


@pytest.mark.parametrize("new_number", [10**12, 1_000, "c", 2.5], ids=["far", "near", "text", "fraction"])
def test_an_edge_whose_number_names_no_node_is_left_out_of_every_walk(tmp_path: Path, new_number: object) -> None:
    path = tmp_path / "s.db"
    url = f"sqlite:///{path}"
    chain = "abcdef"
    with open_store(url) as s:
        s.register(mk([ds(n) for n in chain], [feeds(x, y) for x, y in pairwise(chain)]),
                   principal=PRINCIPAL, source="test")  # fmt: skip
    conn = sqlite3.connect(path, isolation_level=None)
    if isinstance(new_number, int):
        conn.execute("UPDATE nodes SET n = ? WHERE id = ?", (new_number, did("c")))  # b->c and c->d now dangle
    else:  # the edges' numbers edited instead (a node's number must be an integer)
        conn.execute("UPDATE edges SET src_n = ? WHERE src_n = (SELECT n FROM nodes WHERE id = ?)",
                     (new_number, did("c")))  # fmt: skip
        conn.execute("UPDATE edges SET dst_n = ? WHERE dst_n = (SELECT n FROM nodes WHERE id = ?)",
                     (new_number, did("c")))  # fmt: skip
    conn.close()
    with open_store(url) as s:
        for start in chain:
            for direction in Direction:
                by_index = s.reach(did(start), direction)
                by_store = s.reach_by_expand(did(start), direction)
                assert [r.id for r in by_index.nodes] == [r.id for r in by_store.nodes]
        assert [r.id for r in s.reach(did("a"), Direction.DOWNSTREAM).nodes] == [did("b")]
        assert [r.id for r in s.reach(did("d"), Direction.DOWNSTREAM).nodes] == [did("e"), did("f")]
        assert s.node_edges(did("c")) == []
        assert not s.verify_store().ok
