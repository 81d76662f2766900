"""Bolt round trips of Neo4j reads: an impact report costs two, and reading fewer never costs freshness.

The start node is read together with the audit head, and a walk from that record catches the
traversal index up to that head without asking again. Round trips are counted from the driver's
own debug log (a client message followed by a server answer is one wait on the network).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from lineage.analysis import impact
from lineage.model import parse_batch
from lineage.storage import Direction, GraphStore, open_store
from tests.conftest import neo4j_uri

pytestmark = [pytest.mark.neo4j, pytest.mark.parametrize("backend", ["neo4j"])]


class _RoundTrips(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self._sent = False

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "  C: " in text:
            self._sent = True
        elif "  S: " in text and self._sent:
            self.count += 1
            self._sent = False


@contextmanager
def round_trips() -> Iterator[_RoundTrips]:
    logger = logging.getLogger("neo4j")
    handler, level = _RoundTrips(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def other_client() -> GraphStore:
    """A second store on the same database: another process's view (its own driver and index)."""
    uri = neo4j_uri()
    assert uri is not None
    return open_store(uri, user=os.environ.get("NEO4J_USER", "neo4j"), password=os.environ.get("NEO4J_PASSWORD"),
                      database=os.environ.get("NEO4J_DATABASE"))  # fmt: skip


def chain(n: int, ns: str = "rt") -> dict[str, Any]:
    nodes = [{"kind": "Dataset", "namespace": ns, "name": f"d{i}", "version": "1"} for i in range(n)]
    edges = [
        {"from": f"dataset:{ns}/d{i}@1", "type": "FEEDS", "to": f"dataset:{ns}/d{i + 1}@1"} for i in range(n - 1)
    ]
    return {"nodes": nodes, "edges": edges}


def test_impact_report_costs_two_round_trips(store: GraphStore) -> None:
    store.register(parse_batch(chain(30)), principal="test")
    impact(store, "dataset:rt/d0@1")  # the index is built on first use
    with round_trips() as rt:
        report = impact(store, "dataset:rt/d0@1")
        rows = [(n.node.properties, n.to_dict()) for n in report.shown(0, 100)]
    assert len(rows) == 29
    assert rt.count == 2, "the start node with the audit head, then the page of records shown"
    with round_trips() as rt:
        assert len(store.reach("dataset:rt/d0@1", Direction.DOWNSTREAM).nodes) == 29
    assert rt.count == 1


def test_walk_from_a_fresh_read_sees_a_write_by_another_client(store: GraphStore) -> None:
    """Another process's write that returned before the start node was read is in the walk."""
    store.register(parse_batch(chain(3)), principal="test")
    assert len(store.reach("dataset:rt/d0@1", Direction.DOWNSTREAM).nodes) == 2
    with other_client() as other:
        other.register(parse_batch(chain(6)), principal="test")
    root = store.get_node("dataset:rt/d0@1")
    assert len(store.reach_from(root, Direction.DOWNSTREAM).nodes) == 5
    assert len(impact(store, "dataset:rt/d0@1").nodes) == 5


def test_own_write_after_reading_the_start_is_seen(store: GraphStore) -> None:
    """A record read before this store's own write does not pin a later walk to the older head."""
    store.register(parse_batch(chain(3)), principal="test")
    assert len(store.reach("dataset:rt/d0@1", Direction.DOWNSTREAM).nodes) == 2
    root = store.get_node("dataset:rt/d0@1")
    store.register(parse_batch(chain(5)), principal="test")
    assert len(store.reach_from(root, Direction.DOWNSTREAM).nodes) == 4


def test_index_ahead_of_the_start_read_is_not_reloaded(store: GraphStore) -> None:
    """A start record older than the index (another thread caught it up since) walks the newer index."""
    store.register(parse_batch(chain(3)), principal="test")
    root = store.get_node("dataset:rt/d0@1")
    with other_client() as other:
        other.register(parse_batch(chain(4)), principal="test")
    index = store.traversal_index()  # caught up past the head read with root
    assert index is not None
    before = index.head
    assert len(store.reach_from(root, Direction.DOWNSTREAM).nodes) == 3
    assert store.traversal_index() is index and index.head == before


def test_full_load_in_small_pages_equals_the_stores_walk(store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index loads the edges a page of source nodes at a time; page edges do not lose or repeat any."""
    from lineage.storage import neo4j_index

    batch = chain(40)
    batch["nodes"].append({"kind": "Dataset", "namespace": "rt", "name": "alone", "version": "1"})
    batch["edges"] += [
        {"from": f"dataset:rt/d{i}@1", "type": "FEEDS", "to": f"dataset:rt/d{i + 7}@1"} for i in range(0, 30, 3)
    ]
    store.register(parse_batch(batch), principal="test")
    store.retract("dataset:rt/d3@1 -FEEDS-> dataset:rt/d4@1", reason="wrong", principal="test")
    monkeypatch.setattr(neo4j_index, "LOAD_PAGE", 4)
    with other_client() as fresh:  # its index is loaded with the small pages
        for start in ("dataset:rt/d0@1", "dataset:rt/d5@1", "dataset:rt/alone@1"):
            for direction in Direction:
                walked = fresh.reach(start, direction)
                expanded = fresh.reach_by_expand(start, direction)
                assert [(r.id, r.distance) for r in walked.nodes] == [(r.id, r.distance) for r in expanded.nodes]
        index = fresh.traversal_index()
        assert index is not None and len(index._ids) == 40  # every node an edge touches
