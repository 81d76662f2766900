"""Operational endpoints, modes, metrics, N+1 freedom and concurrency."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from lineage.demo import CORRUPTED
from tests.api.conftest import Api, Seeded, app_settings, open_api

pytestmark = pytest.mark.anyio


async def test_health_and_readiness(api: Api) -> None:
    health = await api.client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    api.app.state.services.index_ready.wait(10)  # the index of a small store is built at once
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_reads_wait_for_the_index_built_at_start_outside_their_work_budget(seeded: Seeded) -> None:
    """While the index built at start is not ready, /readyz says "warming" and traversals wait; the
    wait is not charged to the request's time budget (here far shorter than the wait)."""
    async for api in open_api(app_settings(seeded.url, max_work_seconds=0.2), seeded.secrets):
        services = api.app.state.services
        services.index_ready.wait(10)
        services.index_ready.clear()  # as if the index were still being built
        query = asyncio.ensure_future(api.gql(f'{{ impact(id: "{CORRUPTED}") {{ total }} }}'))
        await asyncio.sleep(0.6)
        assert not query.done()
        warming = await api.client.get("/readyz")
        assert warming.status_code == 503 and warming.json()["status"] == "warming"
        services.index_ready.set()
        reply = await asyncio.wait_for(query, 30)
        assert not reply.errors, reply.errors
        assert reply.data["impact"]["total"] > 0
        assert (await api.client.get("/readyz")).json() == {"status": "ready"}


async def test_graphiql_in_development_only(api: Api, seeded: Seeded) -> None:
    page = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    async for prod in open_api(app_settings(seeded.url, mode="production"), seeded.secrets):
        page = await prod.client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (await prod.client.get("/docs")).status_code == 404
        (await prod.gql("{ viewer { name } }")).ok()


async def test_queries_over_get(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": "{ viewer { name } }"})
    assert response.json() == {"data": {"viewer": {"name": "anonymous"}}}
    refused = await api.client.get("/graphql", params={"query": 'mutation { tag(id: "x", tags: ["a"]) { changed } }'})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"


async def test_metrics_per_app(api: Api, seeded: Seeded) -> None:
    await api.gql("query Lookup { viewer { name } }")
    await api.gql('query Missing { node(id: "dataset:no/where@1") { id } }')
    await api.gql(f'query Hit {{ impact(id: "{CORRUPTED}") {{ total }} }}')
    text = (await api.client.get("/metrics")).text
    assert 'lineage_graphql_requests_total{operation="Lookup",type="query"} 1.0' in text
    assert 'lineage_errors_total{code="NOT_FOUND"} 1.0' in text
    assert 'lineage_graphql_request_duration_seconds_count{operation="Hit"} 1.0' in text
    assert 'lineage_store_call_duration_seconds_count{call="impact_page"}' in text
    async for other in open_api(app_settings(seeded.url), seeded.secrets):
        fresh = (await other.client.get("/metrics")).text
        assert 'operation="Lookup"' not in fresh


async def test_metrics_bound_operation_names(api: Api) -> None:
    for i in range(3):
        await api.gql(f"query Op{i} {{ viewer {{ name }} }}")
    metrics = api.app.state.metrics
    assert metrics.operation_label("x" * 100) == "invalid"
    assert metrics.operation_label(None) == "anonymous"


class CountingStore:
    """Counts store calls made through the app's store object."""

    def __init__(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: Counter[str] = Counter()
        for name in ("get_nodes", "expand", "get_node"):
            original = getattr(api.store, name)

            def wrapped(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                self.calls[_name] += 1
                return _original(*args, **kwargs)

            monkeypatch.setattr(api.store, name, wrapped)


async def test_nested_neighbours_cost_one_round_trip_per_level(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingStore(api, monkeypatch)
    reply = await api.gql(
        f"""{{ node(id: "{CORRUPTED}") {{
              downstream {{ id downstream {{ id name downstream {{ id owners downstream {{ id }} }} }} }}
            }} }}"""
    )
    data = reply.ok()
    level3 = [n for a in data["node"]["downstream"] for b in a["downstream"] for n in b["downstream"]]
    assert len(level3) > 5
    # one expansion and one node fetch per level, however many nodes each level holds
    assert counting.calls["expand"] == 4
    assert counting.calls["get_nodes"] <= 4 + 1


async def test_impact_paths_are_batched(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingStore(api, monkeypatch)
    query = (
        f'{{ impact(id: "{CORRUPTED}", first: 500) '
        "{ reached { edges { distance path { steps { node { id name } } } } } } }"
    )
    edges = (await api.gql(query)).ok()["impact"]["reached"]["edges"]
    deepest = max(e["distance"] for e in edges)
    # at most one per level (the last finding nothing new); none where the traversal index serves it
    assert counting.calls["expand"] <= deepest + 1
    assert counting.calls["get_nodes"] <= 3  # root and page together, then every path node at once


async def test_many_simultaneous_requests(api: Api) -> None:
    queries = [
        (f'{{ impact(id: "{CORRUPTED}") {{ total }} }}', None),
        ('{ provenance(id: "deployment:prod/churn-api") { total } }', None),
        ('{ search(text: "churn") { id } }', None),
        ("{ viewer { name } }", "reader"),
    ]
    replies = await asyncio.gather(*(api.gql(q, who=w) for _ in range(25) for q, w in queries))
    assert len(replies) == 100
    for reply in replies:
        reply.ok()
    totals = {r.data["impact"]["total"] for r in replies if "impact" in r.data}
    assert len(totals) == 1


@pytest.fixture
async def slow_api(api: Api, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    original = api.store.get_node

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return original(*args, **kwargs)

    monkeypatch.setattr(api.store, "get_node", slow)
    yield api


async def test_store_calls_do_not_block_the_event_loop(slow_api: Api) -> None:
    query = f'{{ node(id: "{CORRUPTED}") {{ id }} }}'
    start = time.perf_counter()
    pending = asyncio.gather(*(slow_api.gql(query) for _ in range(10)))
    await asyncio.sleep(0.05)
    health_start = time.perf_counter()
    health = await slow_api.client.get("/healthz")
    health_time = time.perf_counter() - health_start
    replies = await pending
    elapsed = time.perf_counter() - start
    assert health.status_code == 200 and health_time < 0.2
    assert all(not r.errors for r in replies)
    assert elapsed < 1.5  # ten 0.3 s calls, served side by side rather than one after another
