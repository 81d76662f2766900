"""Work budgets and document limits: a reader cannot make one request work without bound.

- traversals charge a per-request budget while they work (paths built, nodes expanded, wall time),
  shared by every field of the request;
- a document selecting too many fields is refused before validation;
- when reads need a token, nothing is validated for a caller without one;
- long search text is bad input, and no error leaks the store's location.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from lineage.analysis.budget import WorkBudget
from lineage.api.errors import public_message
from lineage.api.guard import MAX_FIELDS
from lineage.errors import BackendUnavailableError, LimitExceededError
from lineage.model import parse_batch
from lineage.storage import GraphStore
from tests.api.conftest import Api, Seeded, app_settings, open_api

pytestmark = pytest.mark.anyio
DIAMONDS = 20
START, END = "dataset:ladder/d0@1", f"dataset:ladder/d{DIAMONDS}@1"
PATHS = """query($max: Int!) { paths(from: "%s", to: "%s", max: $max) { more paths { length } } }""" % (START, END)  # noqa: UP031


def ladder(store: GraphStore, diamonds: int = DIAMONDS) -> None:
    """d0 -> (a0 | b0) -> d1 -> ... -> d<diamonds>: 2**diamonds paths from d0 to the last d."""
    nodes = [{"kind": "Dataset", "namespace": "ladder", "name": f"d{i}", "version": "1"} for i in range(diamonds + 1)]
    edges = []
    for i in range(diamonds):
        for side in ("a", "b"):
            nodes.append({"kind": "Dataset", "namespace": "ladder", "name": f"{side}{i}", "version": "1"})
            edges.append({"from": f"dataset:ladder/d{i}@1", "type": "FEEDS", "to": f"dataset:ladder/{side}{i}@1"})
            edges.append({"from": f"dataset:ladder/{side}{i}@1", "type": "FEEDS", "to": f"dataset:ladder/d{i + 1}@1"})
    store.register(parse_batch({"nodes": nodes, "edges": edges}), principal="user:seed")


async def _api(seeded: Seeded, **settings: Any) -> AsyncIterator[Api]:
    async for api in open_api(app_settings(seeded.url, **settings), seeded.secrets):
        ladder(api.store)
        yield api


@pytest.fixture
async def tight(seeded: Seeded) -> AsyncIterator[Api]:
    """An app whose requests may build 50 paths and spend one second traversing."""
    async for api in _api(seeded, max_work_paths=50, max_work_seconds=1.0):
        yield api


async def test_paths_stop_at_the_path_budget_while_working(tight: Api) -> None:
    started = time.monotonic()
    reply = await tight.gql(PATHS, {"max": 500})
    assert time.monotonic() - started < 5
    assert reply.codes == ["LIMIT_EXCEEDED"]
    assert reply.errors[0]["extensions"]["details"]["budget"] == "paths built"
    ok = await tight.gql(PATHS, {"max": 10})
    assert len(ok.ok()["paths"]["paths"]) == 10 and ok.data["paths"]["more"]


async def test_aliases_share_one_budget(tight: Api) -> None:
    fields = " ".join(f'p{i}: paths(from: "{START}", to: "{END}", max: 20) {{ more }}' for i in range(10))
    reply = await tight.gql(f"{{ {fields} }}")
    # 10 fields of 20 paths each: the first two fit in the budget of 50, the rest are refused
    assert reply.status == 200
    refused = [e for e in reply.errors if e["extensions"]["code"] == "LIMIT_EXCEEDED"]
    answered = [k for k, v in (reply.data or {}).items() if v is not None]
    assert len(answered) <= 2 and len(refused) >= 8


async def test_time_budget_bounds_a_request(seeded: Seeded) -> None:
    async for api in _api(seeded, max_work_seconds=0.3):
        fields = " ".join(f'p{i}: paths(from: "{START}", to: "{END}", max: 500) {{ more }}' for i in range(30))
        started = time.monotonic()
        reply = await api.gql(f"{{ {fields} }}")
        elapsed = time.monotonic() - started
        assert set(reply.codes) == {"LIMIT_EXCEEDED"}
        assert elapsed < 10, elapsed


@pytest.mark.parametrize(
    "query",
    [
        '{ impact(id: "%s") { total } }' % START,  # noqa: UP031
        '{ provenance(id: "%s") { total } }' % END,  # noqa: UP031
        '{ diff(a: "%s", b: "%s") { identical } }' % (END, START),  # noqa: UP031
        '{ classificationReach(classification: "pii") { total } }',
    ],
    ids=["impact", "provenance", "diff", "classification-reach"],
)
async def test_every_traversal_field_charges_the_budget(seeded: Seeded, query: str) -> None:
    async for api in _api(seeded, max_work_seconds=1e-9):
        api.store.annotate(START, "tag", add=["pii"], principal="user:seed")
        reply = await api.gql(query)
        assert reply.codes == ["LIMIT_EXCEEDED"], reply.body


def test_budget_counts_nodes_paths_and_time() -> None:
    now = [0.0]
    budget = WorkBudget(max_expanded=10, max_paths=2, seconds=5, clock=lambda: now[0])
    budget.charge(expanded=10, paths=2)
    with pytest.raises(LimitExceededError, match="nodes expanded"):
        budget.charge(expanded=1)
    budget = WorkBudget(max_expanded=10, max_paths=2, seconds=5, clock=lambda: now[0])
    with pytest.raises(LimitExceededError, match="paths built"):
        budget.charge(paths=3)
    budget = WorkBudget(seconds=5, clock=lambda: now[0])
    now[0] = 100.0  # waiting for a worker does not count: the clock starts with the work
    budget.charge()
    now[0] = 106.0
    with pytest.raises(LimitExceededError, match="seconds"):
        budget.charge()
    WorkBudget.unlimited().charge(expanded=10**12, paths=10**12)


async def test_field_flood_is_refused_before_validation(api: Api) -> None:
    query = "{ " + " ".join(["viewer { name }"] * 1_200) + " }"
    started = time.monotonic()
    reply = await api.gql(query)
    assert time.monotonic() - started < 1.5
    assert reply.codes == ["LIMIT_EXCEEDED"] and str(MAX_FIELDS) in reply.errors[0]["message"]
    spread = "fragment F on Query { " + " ".join(["viewer { name }"] * 40) + " } { " + "...F " * 30 + "}"
    assert (await api.gql(spread)).codes == ["LIMIT_EXCEEDED"]


async def test_without_a_token_nothing_is_validated_when_reads_need_one(seeded: Seeded) -> None:
    settings = app_settings(seeded.url, anonymous_read=False, mode="production")
    async for api in open_api(settings, seeded.secrets):
        flood = "{ " + " ".join(["viewer { name }"] * 1_200) + " }"
        started = time.monotonic()
        reply = await api.gql(flood)
        assert time.monotonic() - started < 1.5
        assert reply.codes == ["UNAUTHENTICATED"]
        assert (await api.gql("{ nosuchfield }")).codes == ["UNAUTHENTICATED"]
        assert (await api.gql("{ viewer { name } }", who="Bearer-less-garbage")).codes == ["UNAUTHENTICATED"]
        # tools may still load the schema
        (await api.gql("{ __schema { queryType { name } } }")).ok()
        (await api.gql("{ viewer { name } }", who="reader")).ok()


async def test_long_search_text_is_bad_input_and_names_no_path(api: Api) -> None:
    reply = await api.gql("query($t: String!) { search(text: $t) { id } }", {"t": "a" * 60_000})
    assert reply.codes == ["BAD_INPUT"]
    assert "/" not in reply.errors[0]["message"]
    (await api.gql("query($t: String!) { search(text: $t) { id } }", {"t": "a" * 1_000})).ok()


def test_store_failures_leave_out_locations() -> None:
    exc = BackendUnavailableError("cannot open store 'neo4j://admin:hunter2@db:7687': refused")
    message = public_message(exc)
    assert "hunter2" not in message and "db:7687" not in message and "ref " in message
