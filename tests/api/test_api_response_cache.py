"""The response cache over HTTP, on every backend: a repeated read is answered with the same bytes
without being executed again; any write, by this server or by another writer, is seen by the next
read; tokens are checked on every request; callers never share answers; what depends on more than
the recorded graph (tamper checks, the clock, the caller's own tokens) is executed every time.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lineage_server import serve
from strawberry.extensions.validation_cache import _get_validate_cache

from lineage.api.errors import _parse
from lineage.api.limits import MAX_CACHED_DOCUMENT
from lineage.api.response_cache import ResponseCache
from lineage.api.schema import DOCUMENT_CACHE
from lineage.errors import BackendUnavailableError, LineageError
from lineage.governance.access import create_token
from lineage.model import parse_batch
from lineage.storage import open_store
from tests.api.conftest import SANDBOX, Api, Seeded, app_settings, neo4j_options, open_api

pytestmark = pytest.mark.anyio

DEMO_SOURCE = "dataset:raw/crm.customers@2026-11-03"
IMPACT = "query I($id: ID!) { impact(id: $id) { total reached { edges { distance node { id kind owners } } } } }"


def batch_from(start: str, name: str) -> Any:
    """A run reading ``start`` and writing a new dataset ``name`` in the sandbox namespace."""
    return parse_batch(
        {
            "nodes": [
                {"kind": "Run", "namespace": "sandbox", "name": f"make-{name}", "version": "1"},
                {"kind": "Dataset", "namespace": "sandbox", "name": name, "version": "1"},
            ],
            "edges": [
                {"from": start, "type": "INPUT_TO", "to": f"run:sandbox/make-{name}@1"},
                {"from": f"run:sandbox/make-{name}@1", "type": "PRODUCED", "to": f"dataset:sandbox/{name}@1"},
            ],
        }
    )


async def ready(api: Api) -> None:
    """Wait for the traversal index built at start (answers are kept only once it is ready)."""
    for _ in range(600):
        if (await api.client.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server did not become ready")


async def post(api: Api, query: str, variables: dict[str, Any] | None = None, who: str | None = "reader") -> bytes:
    response = await api.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=api.headers(who)
    )
    assert response.status_code == 200, response.text
    return response.content


async def outcomes(api: Api) -> dict[str, float]:
    text = (await api.client.get("/metrics")).text
    found = re.findall(r'^lineage_graphql_response_cache_total\{result="(\w+)"\} ([0-9.e+]+)$', text, re.M)
    return {result: float(value) for result, value in found}


def reached(body: bytes) -> set[str]:
    data = json.loads(body)
    assert not data.get("errors"), data
    return {edge["node"]["id"] for edge in data["data"]["impact"]["reached"]["edges"]}


def other_writer(seeded: Seeded) -> Any:
    """The store opened a second time, as the CLI or another server worker opens it."""
    if seeded.url.startswith("sqlite"):
        return open_store(seeded.url)
    options = neo4j_options()
    return open_store(
        seeded.url, user=options["neo4j_user"], password=options["neo4j_password"], database=options["neo4j_database"]
    )


async def test_a_repeated_read_gets_the_same_bytes_from_the_cache(api: Api) -> None:
    await ready(api)
    first = await post(api, IMPACT, {"id": DEMO_SOURCE})
    assert len(reached(first)) > 3
    before = await outcomes(api)
    for _ in range(3):
        assert await post(api, IMPACT, {"id": DEMO_SOURCE}) == first
    after = await outcomes(api)
    assert after.get("hit", 0) - before.get("hit", 0) == 3
    # other variables: another answer
    assert await post(api, IMPACT, {"id": SANDBOX}) != first
    assert (await outcomes(api)).get("hit", 0) == after.get("hit", 0)


async def test_writes_through_this_server_and_by_another_writer_are_seen_at_once(api: Api, seeded: Seeded) -> None:
    assert reached(await post(api, IMPACT, {"id": SANDBOX})) == set()
    await post(api, IMPACT, {"id": SANDBOX})  # now kept

    writer = other_writer(seeded)
    try:
        writer.register(batch_from(SANDBOX, "copy"), principal="user:other", source="test")
        assert reached(await post(api, IMPACT, {"id": SANDBOX})) == {
            "run:sandbox/make-copy@1",
            "dataset:sandbox/copy@1",
        }
        writer.retract("dataset:sandbox/copy@1", principal="user:other", source="test", reason="wrong")
        assert reached(await post(api, IMPACT, {"id": SANDBOX})) == {"run:sandbox/make-copy@1"}
    finally:
        writer.close()

    retract = 'mutation { retract(id: "run:sandbox/make-copy@1", reason: "wrong") { id } }'
    assert b'"errors"' not in await post(api, retract, who="writer")
    assert reached(await post(api, IMPACT, {"id": SANDBOX})) == set()


async def test_tokens_are_checked_on_every_request(seeded: Seeded) -> None:
    settings = app_settings(seeded.url, mode="production", anonymous_read=False)
    async for api in open_api(settings, seeded.secrets):
        await ready(api)
        secret, _ = create_token(api.store, "short-lived", "reader", principal="admin")
        answer = await post(api, IMPACT, {"id": SANDBOX}, who=secret)
        assert await post(api, IMPACT, {"id": SANDBOX}, who=secret) == answer
        for who in (None, "lin_not-a-token"):
            refused = await api.gql(IMPACT, {"id": SANDBOX}, who=who)
            assert refused.codes == ["UNAUTHENTICATED"], refused.body
        (await api.gql('mutation { revokeToken(name: "short-lived") { name } }', who="admin")).ok()
        assert (await api.gql(IMPACT, {"id": SANDBOX}, who=secret)).codes == ["UNAUTHENTICATED"]


async def test_callers_do_not_share_answers(api: Api) -> None:
    await ready(api)
    viewer = "{ viewer { name role } }"
    assert b"dashboards" in await post(api, viewer, who="reader")
    assert b"ops-admin" in await post(api, viewer, who="admin")
    await post(api, IMPACT, {"id": SANDBOX}, who="reader")
    before = await outcomes(api)
    await post(api, IMPACT, {"id": SANDBOX}, who="admin")  # the same question, another caller
    after = await outcomes(api)
    assert after.get("miss", 0) - before.get("miss", 0) == 1 and after.get("hit", 0) == before.get("hit", 0)


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { name } }",
        "{ tokens { name revokedAt } }",
        "{ auditVerification { ok } }",
        '{ policyReport(policy: "rules: []") { ok } }',
        '{ node(id: "dataset:nowhere/missing@1") { id } }',  # an error: never kept
        "{ __schema { queryType { name } } }",
        f'{{ impact(id: "{SANDBOX}") {{ total }} viewer {{ name }} }}',
    ],
)
async def test_answers_that_depend_on_more_than_the_graph_are_executed_every_time(api: Api, query: str) -> None:
    before = await outcomes(api)
    for _ in range(2):
        await api.gql(query, who="admin")
    assert (await outcomes(api)).get("hit", 0) == before.get("hit", 0)


async def test_tampering_is_reported_by_a_repeated_verification(api: Api, seeded: Seeded) -> None:
    verify = "{ auditVerification(graph: true) { ok } }"
    assert (await api.gql(verify, who="admin")).ok()["auditVerification"]["ok"] is True
    if seeded.url.startswith("sqlite"):
        with sqlite3.connect(seeded.url.removeprefix("sqlite:///")) as db:
            db.execute("UPDATE nodes SET properties = '{\"rows\": 1}' WHERE id = ?", (SANDBOX,))
    else:
        driver = api.store._driver  # type: ignore[attr-defined]
        with driver.session(database=api.store.database) as session:  # type: ignore[attr-defined]
            session.run("MATCH (n:Node {id: $id}) SET n.properties = '{\"rows\": 1}'", id=SANDBOX).consume()
    assert (await api.gql(verify, who="admin")).ok()["auditVerification"]["ok"] is False


async def test_the_cache_can_be_turned_off(seeded: Seeded) -> None:
    async for api in open_api(app_settings(seeded.url, response_cache_mib=0), seeded.secrets):
        for _ in range(3):
            await post(api, IMPACT, {"id": SANDBOX})
        assert (await outcomes(api)).get("hit", 0) == 0


# -- the cache itself ------------------------------------------------------------------------------


def key(cache: ResponseCache, query: str, variables: dict[str, Any] | None = None) -> Any:
    found = cache.key(json.dumps({"query": query, "variables": variables}).encode(), None)
    assert found is not None, query
    return found


def test_least_recently_used_answers_leave_first_within_the_byte_budget() -> None:
    cache = ResponseCache(max_bytes=16 * 1024)
    keys = [key(cache, 'query($i: Int) { node(id: "x") { id } }', {"i": i}) for i in range(40)]
    assert cache.get(keys[0], head=1) is None
    for k in keys:
        cache.put(k, 1, b"x" * 500)
        assert cache.get(keys[0], head=1) is not None  # used again: stays
    assert cache.size <= 16 * 1024 and 1 < len(cache) < 40
    assert cache.get(keys[1], head=1) is None  # the oldest unused answers left
    cache.put(keys[1], 1, b"x" * 1025)  # larger than a sixteenth of the budget: not kept
    assert cache.get(keys[1], head=1) is None


def test_a_new_head_drops_everything_and_late_answers_are_not_kept() -> None:
    cache = ResponseCache(max_bytes=1 << 20)
    k = key(cache, '{ node(id: "x") { id } }')
    assert cache.get(k, head=1) is None
    cache.put(k, 1, b"one")
    assert cache.get(k, head=1) == b"one"
    assert cache.get(k, head=2) is None and len(cache) == 0
    cache.put(k, 1, b"asked before the write")  # executed at head 1, finished after head 2 was seen
    assert cache.get(k, head=2) is None


@pytest.mark.parametrize(
    ("query", "operation", "kept"),
    [
        ('{ impact(id: "x") { total } }', None, True),
        ('query A { node(id: "x") { id } } query B { viewer { name } }', "A", True),
        ('query A { node(id: "x") { id } } query B { viewer { name } }', "B", False),
        ('query A { node(id: "x") { id } } query B { node(id: "y") { id } }', None, False),
        ('mutation { retract(id: "x", reason: "r") { id } }', None, False),
        ("subscription { x }", None, False),
        ("{ ...F } fragment F on Query { viewer { name } }", None, False),
        ('{ ... on Query { node(id: "x") { id } } }', None, False),
        ('{ impact(id: "x") { reached { edges @stream { distance } } } }', None, False),
        ('{ node(id: "x") { ... @defer { id } } }', None, False),
        ("{ node(id: ", None, False),
    ],
)
def test_which_documents_are_kept(query: str, operation: str | None, kept: bool) -> None:
    assert ResponseCache(max_bytes=1 << 20).cacheable(query, operation) is kept


def test_requests_that_are_not_plain_json_queries_are_not_kept() -> None:
    cache = ResponseCache(max_bytes=1 << 20)
    for body in (b"not json", b"[1]", b'{"query": 1}', b'{"query": "{ __typename }", "extensions": {}}',
                 b'{"query": "{ __typename }", "variables": [1]}', b'{"query": "{ __typename }", "x": 1}',
                 b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 200 + b"]" * 200 + b"}}"):  # fmt: skip
        assert cache.key(body, None) is None, body
    assert cache.key(b'{"query": "{ __typename }", "variables": null, "operationName": null}', None) is not None
    # values that some encoders spell alike never share a key
    spelled = [b'{"v": NaN}', b'{"v": null}', b'{"v": 1}', b'{"v": 1.0}', b'{"v": 18446744073709551617}']
    keys = [cache.key(b'{"query": "{ __typename }", "variables": ' + v + b"}", None) for v in spelled]
    assert keys[0] is None and len({k for k in keys[1:]}) == 4


# -- cached answers are executed answers -----------------------------------------------------------

POOL = 6
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("link"), st.integers(0, POOL - 1), st.integers(0, POOL - 1)),
        st.tuples(st.just("retract"), st.integers(0, POOL - 1), st.just(0)),
        st.tuples(st.sampled_from(["impact", "provenance"]), st.integers(0, POOL - 1), st.just(0)),
    ),
    min_size=1,
    max_size=20,
)
READS = {
    "impact": "query I($id: ID!) { impact(id: $id) { total reached { edges { distance node { id } } } } }",
    "provenance": "query P($id: ID!) { provenance(id: $id) { total groups { kind items { distance node { id } } } } }",
}


def dataset(i: int) -> str:
    return f"dataset:p/d{i}@1"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_cached_answers_equal_executed_answers_whatever_is_written(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int]]
) -> None:
    """Two servers over one store, one keeping answers and one not, asked the same questions
    between writes made by a third writer: always the same bytes."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cached') / 'lineage.db'}"
    writer = open_store(url)
    nodes = [{"kind": "Dataset", "namespace": "p", "name": f"d{i}", "version": "1"} for i in range(POOL)]
    writer.register(parse_batch({"nodes": nodes}), principal="user:seed", source="test")

    def write(step: tuple[str, int, int]) -> None:
        action, i, j = step
        try:
            if action == "link" and i < j:
                run = f"run:p/r{i}-{j}@1"
                batch = {
                    "nodes": [{"kind": "Run", "namespace": "p", "name": f"r{i}-{j}", "version": "1"}],
                    "edges": [
                        {"from": dataset(i), "type": "INPUT_TO", "to": run},
                        {"from": run, "type": "PRODUCED", "to": dataset(j)},
                    ],
                }
                writer.register(parse_batch(batch), principal="user:w", source="test")
            elif action == "retract":
                writer.retract(dataset(i), reason="test", principal="user:w", source="test")
        except LineageError:
            pass  # linking a retracted node, retracting twice: refused, nothing written

    async def scenario() -> None:
        cached_apps = open_api(app_settings(url), {})
        plain_apps = open_api(app_settings(url, response_cache_mib=0), {})
        cached, plain = await anext(cached_apps), await anext(plain_apps)
        await ready(cached)
        try:
            for step in steps:
                if step[0] in READS:
                    asked = (READS[step[0]], {"id": dataset(step[1])})
                    expected = await plain.client.post("/graphql", json={"query": asked[0], "variables": asked[1]})
                    for _ in range(2):
                        got = await cached.client.post("/graphql", json={"query": asked[0], "variables": asked[1]})
                        assert (got.status_code, got.content) == (expected.status_code, expected.content), step
                else:
                    write(step)
        finally:
            for apps in (cached_apps, plain_apps):
                await apps.aclose()

    try:
        asyncio.run(scenario())
    finally:
        writer.close()


async def test_long_documents_are_parsed_validated_and_executed_every_time(api: Api) -> None:
    """A document within the token limit may still be megabytes long (a comment, a long string):
    none of the per-process caches keeps such a text, so distinct ones cannot fill memory."""
    await ready(api)
    validations = _get_validate_cache(DOCUMENT_CACHE)
    parse_misses, validation_misses = _parse.cache_info().misses, validations.cache_info().misses
    hits = (await outcomes(api)).get("hit", 0)
    for i in range(3):
        long = "{ __typename }\n# " + str(i) * MAX_CACHED_DOCUMENT
        for _ in range(2):
            assert await post(api, long) == b'{"data":{"__typename":"Query"}}'
    assert (_parse.cache_info().misses, validations.cache_info().misses) == (parse_misses, validation_misses)
    assert (await outcomes(api)).get("hit", 0) == hits
    short = f"{{ __typename }}\n# short enough to keep ({uuid.uuid4().hex})"  # never parsed before in this process
    for _ in range(2):
        await post(api, short)
    assert _parse.cache_info().misses == parse_misses + 1
    assert (await outcomes(api)).get("hit", 0) == hits + 1


async def test_identical_requests_arriving_together_are_executed_once(api: Api, seeded: Seeded) -> None:
    await ready(api)
    writer = other_writer(seeded)
    try:  # a write empties the cache, as under continuous ingestion
        writer.annotate(SANDBOX, "tag", add=["pii"], principal="user:other", source="test")
    finally:
        writer.close()
    executed = await operations(api, "I")
    bodies = await asyncio.gather(*(post(api, IMPACT, {"id": DEMO_SOURCE}) for _ in range(8)))
    assert len(set(bodies)) == 1 and len(reached(bodies[0])) > 3
    assert await operations(api, "I") == executed + 1


async def operations(api: Api, name: str) -> float:
    """How many operations of this name the server executed (answers from the cache are not)."""
    text = (await api.client.get("/metrics")).text
    series = rf'^lineage_graphql_requests_total\{{operation="{name}",type="query"\}} ([0-9.e+]+)$'
    found = re.findall(series, text, re.M)
    return float(found[0]) if found else 0.0


async def test_a_store_that_cannot_answer_the_head_is_reported_as_by_any_query(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(api)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise BackendUnavailableError("store 'x' unavailable: connection refused")

    monkeypatch.setattr(api.store, "traversal_index", down)
    reply = await api.gql(IMPACT, {"id": DEMO_SOURCE}, who="reader")
    assert (reply.status, reply.codes) == (200, ["BACKEND_UNAVAILABLE"]), reply.body


@pytest.mark.parametrize(("flag", "kept"), [((), True), (("--response-cache-mib", "0"), False)])
def test_lineage_serve_keeps_answers_unless_told_not_to(tmp_path: Path, flag: tuple[str, ...], kept: bool) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    with open_store(url) as store:
        nodes = [{"kind": "Dataset", "namespace": "p", "name": "d", "version": "1"}]
        store.register(parse_batch({"nodes": nodes}), principal="user:seed", source="test")
    with serve(url, tmp_path, options=flag) as served:
        headers = {"Authorization": f"Bearer {served.token}"}
        query = {"query": IMPACT, "variables": {"id": "dataset:p/d@1"}}
        answers = {httpx.post(f"{served.url}/graphql", json=query, headers=headers).content for _ in range(3)}
        assert len(answers) == 1
        text = httpx.get(f"{served.url}/metrics").text
        hits = re.findall(r'^lineage_graphql_response_cache_total\{result="hit"\} ([0-9.e+]+)$', text, re.M)
        assert (float(hits[0]) if hits else 0.0) == (2.0 if kept else 0.0)
