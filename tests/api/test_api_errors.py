"""Every failure is a coded GraphQL error with a helpful message; never a 500 with a traceback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from lineage.demo import CORRUPTED
from lineage.errors import BackendUnavailableError
from tests.api.conftest import Api, Seeded, app_settings, open_api

pytestmark = pytest.mark.anyio


def deep(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"downstream {{ {inner} }}"
    return f'{{ node(id: "{CORRUPTED}") {{ {inner} }} }}'


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ('{ node(id: "dataset:nowhere/x@1") { id } }', "NOT_FOUND", "no node"),
        ('{ node(id: "not an id") { id } }', "BAD_INPUT", "malformed node id"),
        ('{ impact(id: "dataset:nowhere/x@1") { total } }', "NOT_FOUND", "no node"),
        ("{ node(id: ", "BAD_INPUT", "malformed GraphQL"),
        ("{ nosuchfield }", "BAD_INPUT", "Cannot query field"),
        ('{ node(id: "x") { ... on Model { nosuch } } }', "BAD_INPUT", "nosuch"),
        (deep(20), "LIMIT_EXCEEDED", "exceeds maximum operation depth of 12"),
        ("{ " + " ".join(f"a{i}: schemaInfo {{ annotationKeys }}" for i in range(40)) + " }", "LIMIT_EXCEEDED",
         "aliases"),
        ("{ " + "viewer { name } " * 2000 + "}", "LIMIT_EXCEEDED", "tokens"),
        ("{ nodes(first: 100000) { edges { cursor } } }", "LIMIT_EXCEEDED", "page size limit of 500"),
        ("{ nodes(first: 0) { edges { cursor } } }", "BAD_INPUT", "at least 1"),
        ('{ nodes(after: "bogus") { edges { cursor } } }', "BAD_INPUT", "cursor"),
        (f'{{ impact(id: "{CORRUPTED}", depth: 1000) {{ total }} }}', "LIMIT_EXCEEDED", "traversal depth limit"),
        (f'{{ impact(id: "{CORRUPTED}", after: "cmVhY2hlZDpub3BlOng") {{ total }} }}', "BAD_INPUT", "cursor"),
        ('{ paths(from: "dataset:a/b@1", to: "dataset:a/b@1", max: 0) { more } }', "BAD_INPUT", "max must be"),
        ('{ search(text: "  ") { id } }', "BAD_INPUT", "must not be empty"),
        ('{ nodes(asOf: "yesterday") { edges { cursor } } }', "BAD_INPUT", "DateTime"),
        ('mutation { retract(id: "dataset:nowhere/x@1", reason: "r") { id } }', "UNAUTHENTICATED", "token"),
    ],
)
async def test_error_codes(api: Api, query: str, code: str, fragment: str) -> None:
    reply = await api.gql(query)
    assert reply.status == 200
    assert reply.codes == [code], reply.body
    assert fragment in reply.errors[0]["message"]
    assert "Traceback" not in str(reply.body)


async def test_variables_of_the_wrong_type(api: Api) -> None:
    reply = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": {"not": "a string"}})
    assert reply.codes == ["BAD_INPUT"]
    reply = await api.gql("query($id: ID!) { node(id: $id) { id } }", {})
    assert reply.codes == ["BAD_INPUT"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"query": "{ viewer { name } }"', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"just a string"', "must be a JSON object"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"{}", "no GraphQL query"),
        (b'{"query": 42}', "must be a string"),
        (b'{"query": "{ viewer { name } }", "variables": [1]}', "variables"),
    ],
)
async def test_malformed_requests(api: Api, body: bytes, fragment: str) -> None:
    response = await api.client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    payload = response.json()
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["BAD_INPUT"]
    assert fragment in payload["errors"][0]["message"]


async def test_unsupported_content_type(api: Api) -> None:
    response = await api.client.post("/graphql", content=b"query", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"


@pytest.fixture
async def small_api(seeded: Seeded) -> AsyncIterator[Api]:
    async for a in open_api(app_settings(seeded.url, max_body_bytes=2_000), seeded.secrets):
        yield a


async def test_oversized_body_declared(small_api: Api) -> None:
    big = {"query": "{ viewer { name } }", "variables": {"pad": "x" * 5_000}}
    response = await small_api.client.post("/graphql", json=big)
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED" and "2000 bytes" in error["message"]


async def test_oversized_body_streamed_without_length(small_api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ viewer { name } }", "variables": {"pad": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}}'

    response = await small_api.client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    ok = await small_api.client.post("/graphql", json={"query": "{ viewer { name } }"})
    assert ok.status_code == 200


async def test_bad_content_length(small_api: Api) -> None:
    response = await small_api.client.post(
        "/graphql", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "abc"}
    )
    assert response.status_code == 400


async def test_result_budget(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage.api import limits

    monkeypatch.setattr(limits, "MAX_RESULT_NODES", 10)
    async for api in open_api(app_settings(seeded.url), seeded.secrets):
        reply = await api.gql('{ search(text: "a", first: 50) { id } }')
        assert reply.codes == ["LIMIT_EXCEEDED"]
        assert "more than 10 nodes" in reply.errors[0]["message"]
        nested = await api.gql(deep(4))
        assert nested.codes and set(nested.codes) == {"LIMIT_EXCEEDED"}


@pytest.fixture
def broken(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: /etc/passwd")

    monkeypatch.setattr(api.store, "search", explode)
    yield api


async def test_unexpected_errors_are_internal_and_hidden(broken: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="lineage.api"):
        reply = await broken.gql('{ search(text: "x") { id } viewer { name } }')
    assert reply.status == 200
    assert reply.codes == ["INTERNAL"]
    message = reply.errors[0]["message"]
    assert "secret internals" not in str(reply.body) and "ref " in message
    assert reply.data["viewer"] == {"name": "anonymous"}
    ref = message.split("ref ")[1].split(")")[0]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)


async def test_backend_unavailable(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise BackendUnavailableError("store 'x' unavailable: connection refused")

    monkeypatch.setattr(api.store, "get_nodes", down)
    monkeypatch.setattr(api.store, "get_node", down)
    monkeypatch.setattr(api.store, "ping", down)
    reply = await api.gql(f'{{ node(id: "{CORRUPTED}") {{ id }} }}')
    assert reply.codes == ["BACKEND_UNAVAILABLE"]
    ready = await api.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["code"] == "BACKEND_UNAVAILABLE"
    assert (await api.client.get("/healthz")).status_code == 200
