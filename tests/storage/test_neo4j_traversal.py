"""Neo4j traversal costs time linear in the reached subgraph, never in the number of paths.

A chain of diamonds has 2**n paths from its first node to its last; enumerating them could not
finish for n = 120. The plans are checked with PROFILE: each expansion is one index seek per
frontier node and one Expand, no variable-length operator, and database hits grow linearly with
the size of the lattice.
"""

from __future__ import annotations

import time
from typing import Any

import neo4j
import pytest

from lineage.model import parse_batch
from lineage.storage import Direction, GraphStore
from lineage.storage import neo4j_cypher as q

pytestmark = [pytest.mark.neo4j, pytest.mark.parametrize("backend", ["neo4j"])]


def lattice(n: int, ns: str = "lattice") -> tuple[dict[str, Any], str, str]:
    """n diamonds in a chain: d0 -> (a0 | b0) -> d1 -> ... -> dn, 2**n paths from d0 to dn."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for i in range(n + 1):
        nodes.append({"kind": "Dataset", "namespace": ns, "name": f"d{i}", "version": "1"})
    for i in range(n):
        for side in "ab":
            run = {"kind": "Run", "namespace": ns, "name": f"step{i}{side}", "version": "1"}
            nodes.append(run)
            run_id = f"run:{ns}/step{i}{side}@1"
            edges.append({"from": f"dataset:{ns}/d{i}@1", "type": "INPUT_TO", "to": run_id})
            edges.append({"from": run_id, "type": "PRODUCED", "to": f"dataset:{ns}/d{i + 1}@1"})
    return {"nodes": nodes, "edges": edges}, f"dataset:{ns}/d0@1", f"dataset:{ns}/d{n}@1"


def test_deep_diamond_lattice_is_linear(store: GraphStore) -> None:
    n = 120  # 2**120 paths from the first node to the last
    batch, first, last = lattice(n)
    store.register(parse_batch(batch), principal="test")
    t0 = time.perf_counter()
    down = store.reach(first, Direction.DOWNSTREAM)
    up = store.reach(last, Direction.UPSTREAM)
    elapsed = time.perf_counter() - t0
    assert len(down.nodes) == 3 * n
    assert len(up.nodes) == 3 * n
    assert {r.distance for r in down.nodes if r.id == last} == {2 * n}
    assert len(down.path_ids(last)) == 2 * n + 1
    assert elapsed < 60, f"two traversals of a {3 * n + 1}-node lattice took {elapsed:.1f}s"


def _plan_ops(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("children", []):
        out.extend(_plan_ops(child))
    return out


def _profile(store: Any, query: str, **params: Any) -> tuple[list[str], int]:
    driver: neo4j.Driver = store._driver
    with driver.session(database=store.database) as session:
        summary = session.run("PROFILE " + query, params).consume()
    assert summary.profile is not None
    ops = _plan_ops(summary.profile)
    return [op["operatorType"].split("@")[0] for op in ops], sum(int(op.get("dbHits", 0)) for op in ops)


def _reach_db_hits(store: GraphStore, start: str) -> tuple[set[str], int]:
    """Replay the breadth-first reach level by level under PROFILE; the operators and total db hits."""
    seen, frontier, ops, hits = {start}, [start], set(), 0
    while frontier:
        names, level_hits = _profile(store, q.EXPAND[("downstream", True)], ids=frontier, t=2**62)
        ops.update(names)
        hits += level_hits
        nxt = sorted({h.reached for h in store.expand(frontier, Direction.DOWNSTREAM)} - seen)
        seen.update(nxt)
        frontier = nxt
    return ops, hits


def test_expansion_plan_seeks_and_expands_without_paths(store: GraphStore) -> None:
    small, first_small, _ = lattice(20, ns="small")
    big, first_big, _ = lattice(40, ns="big")
    store.register(parse_batch(small), principal="test")
    store.register(parse_batch(big), principal="test")
    # Plans follow the index statistics; a server just wiped of a large graph may still hold stale ones.
    driver: neo4j.Driver = store._driver  # type: ignore[attr-defined]
    with driver.session(database=store.database) as session:  # type: ignore[attr-defined]
        session.run("CALL db.resampleOutdatedIndexes()").consume()
        session.run("CALL db.clearQueryCaches()").consume()
    ops_small, hits_small = _reach_db_hits(store, first_small)
    ops_big, hits_big = _reach_db_hits(store, first_big)
    assert "NodeUniqueIndexSeek" in ops_small
    assert any(op.startswith("Expand") for op in ops_small)
    for ops in (ops_small, ops_big):
        assert not {op for op in ops if "VarLength" in op or "ShortestPath" in op or "Repeat" in op}, ops
    # Twice the lattice, about twice the work (paths grew by 2**20).
    assert hits_big < 2.5 * hits_small, (hits_small, hits_big)


def test_naive_path_query_is_what_we_avoid(store: GraphStore) -> None:
    """The variable-length query explodes on the lattice where ours stays flat (timeout-bounded)."""
    batch, first, _ = lattice(16, ns="naive")
    store.register(parse_batch(batch), principal="test")
    driver: neo4j.Driver = store._driver  # type: ignore[attr-defined]
    query = neo4j.Query("MATCH p = (s:Node {id: $id})-[*]->(x) RETURN count(p) AS paths", timeout=60)
    with driver.session(database=store.database) as session:  # type: ignore[attr-defined]
        paths = session.run(query, id=first).single(strict=True)["paths"]
    assert paths > 2**16  # every path, where the store reaches 48 distinct nodes
    assert len(store.reach(first, Direction.DOWNSTREAM).nodes) == 48
