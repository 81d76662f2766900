"""Documents that parse but are not acceptable: lone surrogates (valid JSON, not text), nesting a
thousand levels deep, YAML alias bombs. Each channel refuses them at validation with a coded 4xx
(or exit 2), quickly, and nothing changes."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest

from tests.api.conftest import SANDBOX, Api

pytestmark = pytest.mark.anyio

REGISTER = "mutation($b: BatchInput!) { register(batch: $b) { changed } }"
SURROGATE = "\ud800"


def _node(**over: Any) -> dict[str, Any]:
    node = {"kind": "Dataset", "namespace": "sandbox", "name": "n", "version": "1"}
    node.update(over)
    return node


def _deep(depth: int) -> str:
    """JSON text of objects nested ``depth`` deep (built as text: json.dumps itself gives up at ~1,000)."""
    return '{"x":' * depth + '"leaf"' + "}" * depth


def _with_deep(template: Any, depth: int) -> bytes:
    """``template`` as JSON with its "DEEP" string replaced by a deeply nested object."""
    return _dumps(template).replace(b'"DEEP"', _deep(depth).encode())


def ol_event(**over: Any) -> dict[str, Any]:
    event = {
        "eventType": "START",
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "00000000-0000-4000-8000-000000000001"},
        "job": {"namespace": "sandbox", "name": "etl"},
        "inputs": [],
        "outputs": [],
    }
    event.update(over)
    return event


def _dumps(value: Any) -> bytes:
    # ensure_ascii keeps the lone surrogate as the JSON escape \ud800, which is what clients send
    return json.dumps(value, ensure_ascii=True).encode()


POISONED_BATCHES = {
    "name": {"nodes": [_node(name=f"a{SURROGATE}")]},
    "namespace": {"nodes": [_node(namespace=f"sand{SURROGATE}box")]},
    "owner": {"nodes": [_node(owners=[f"team{SURROGATE}"])]},
    "property-value": {"nodes": [_node(properties={"k": f"v{SURROGATE}"})]},
    "property-key": {"nodes": [_node(properties={f"k{SURROGATE}": "v"})]},
    "nested-property": {"nodes": [_node(properties={"a": [{"b": SURROGATE}]})]},
    "edge-end": {"nodes": [_node()], "edges": [{"from": "dataset:sandbox/n@1", "type": "FEEDS",
                                                "to": f"dataset:sandbox/m{SURROGATE}@1"}]},
}


@pytest.mark.parametrize("where", sorted(POISONED_BATCHES))
async def test_register_refuses_lone_surrogates_in_every_field(api: Api, where: str) -> None:
    before = api.store.counts()
    body = _dumps({"query": REGISTER, "variables": {"b": POISONED_BATCHES[where]}})
    response = await api.client.post(
        "/graphql", content=body, headers={**api.headers("writer"), "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "not valid Unicode" in error["message"]
    assert api.store.counts() == before


async def test_surrogate_escape_in_a_graphql_literal_is_bad_input(api: Api) -> None:
    query = 'mutation { setOwners(id: "%s", owners: ["\\ud800"]) { changed } }' % SANDBOX  # noqa: UP031
    reply = await api.gql(query, who="writer")
    assert reply.codes == ["BAD_INPUT"]


async def test_surrogate_in_get_variables_is_bad_input(api: Api) -> None:
    variables = json.dumps({"t": SURROGATE}, ensure_ascii=True)
    response = await api.client.get(
        "/graphql", params={"query": "query($t: String!) { search(text: $t) { total } }", "variables": variables}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"


@pytest.mark.parametrize(
    "event",
    [
        ol_event(job={"namespace": "sandbox", "name": f"etl{SURROGATE}"}),
        ol_event(outputs=[{"namespace": "sandbox", "name": "o", "facets": {"x": {"_producer": "p",
                 "_schemaURL": "https://x", "v": SURROGATE}}}]),
        ol_event(producer=SURROGATE),
    ],
    ids=["job-name", "facet", "producer"],
)
async def test_openlineage_refuses_lone_surrogates(api: Api, event: dict[str, Any]) -> None:
    headers = {**api.headers("writer"), "content-type": "application/json"}
    before = api.store.counts()
    response = await api.client.post("/api/v1/lineage", content=_dumps(event), headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT" and "Unicode" in error["message"]
    assert api.store.counts() == before
    # in a batch the bad event fails alone (207): the valid one lands, the bad one is named
    response = await api.client.post("/api/v1/lineage/batch", content=_dumps([ol_event(), event]), headers=headers)
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert results[0]["status"] == "ok"
    assert results[1]["status"] == "error" and results[1]["code"] == "BAD_INPUT"
    assert "[1]" in results[1]["message"] and "Unicode" in results[1]["message"]


@pytest.mark.parametrize("depth", [150, 1_000, 100_000])
async def test_deep_graphql_variables_are_bad_input(api: Api, depth: int) -> None:
    before = api.store.counts()
    body = _with_deep({"query": REGISTER, "variables": {"b": {"nodes": [_node(properties={"p": "DEEP"})]}}}, depth)
    response = await api.client.post(
        "/graphql", content=body, headers={**api.headers("writer"), "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text[:300]
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT" and "nested deeper" in error["message"]
    assert api.store.counts() == before


@pytest.mark.parametrize("depth", [150, 1_000, 100_000])
async def test_deep_openlineage_bodies_are_bad_input(api: Api, depth: int) -> None:
    before = api.store.counts()
    event = ol_event(run={"runId": "00000000-0000-4000-8000-000000000002", "facets": {"deep": "DEEP"}})
    for path, body in (("/api/v1/lineage", event), ("/api/v1/lineage/batch", [event])):
        raw = _with_deep(body, depth)
        response = await api.client.post(
            path, content=raw, headers={**api.headers("writer"), "content-type": "application/json"}
        )
        assert response.status_code == 400, response.text[:300]
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert api.store.counts() == before


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [{','.join(['lol'] * width)}]"]
    for prev, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * width)}]")
    return "\n".join(lines) + "\nrules: []\n"


async def test_policy_alias_bomb_is_refused_at_once(api: Api) -> None:
    bomb = _alias_bomb()
    assert len(bomb) < 500
    started = time.monotonic()
    reply = await api.gql("query($p: String!) { policyReport(policy: $p) { ok } }", {"p": bomb})
    assert time.monotonic() - started < 2
    assert reply.codes == ["LIMIT_EXCEEDED"]
    assert "aliases" in reply.errors[0]["message"]


async def test_oversized_and_deep_policies_are_refused(api: Api) -> None:
    huge = "rules: []\n" + "# padding\n" * 40_000
    reply = await api.gql("query($p: String!) { policyReport(policy: $p) { ok } }", {"p": huge})
    assert reply.codes == ["LIMIT_EXCEEDED"]
    deep = "rules: " + "[" * 5_000 + "]" * 5_000
    reply = await api.gql("query($p: String!) { policyReport(policy: $p) { ok } }", {"p": deep})
    assert reply.codes == ["BAD_INPUT"]
