"""Authorisation matrix of the REST routes that write (OpenLineage single and batch), for every role
and namespace scope: who may write where, what the others get, and that every accepted write is
attributed to its caller in the audit log. (GraphQL mutations have theirs in test_api_auth.)"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.api.conftest import TOKENS, Api

pytestmark = pytest.mark.anyio

CALLERS = ["anonymous", "bad-token", "reader", "writer", "other", "writer_all", "admin"]
#: namespace the event's job and output live in
TARGETS = ["sandbox", "elsewhere", "fresh"]
ROUTES = ["/api/v1/lineage", "/api/v1/lineage/batch"]


def expected(caller: str, namespace: str) -> int:
    if caller in ("anonymous", "bad-token"):
        return 401
    if caller == "reader":
        return 403
    allowed = {"writer": {"sandbox"}, "other": {"elsewhere"}}
    if caller in allowed and namespace not in allowed[caller]:
        return 403
    return 201


_counter = itertools.count(1)


def event(namespace: str) -> dict[str, Any]:
    n = next(_counter)
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://example.com/matrix",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"00000000-0000-4000-9000-{n:012d}"},
        "job": {"namespace": namespace, "name": "job"},
        "inputs": [],
        "outputs": [{"namespace": namespace, "name": f"out-{n}"}],
    }


@pytest.mark.parametrize("route", ROUTES)
async def test_openlineage_matrix(api: Api, route: str) -> None:
    for caller, namespace in itertools.product(CALLERS, TARGETS):
        headers = {} if caller == "anonymous" else (
            {"Authorization": "Bearer lin_nope"} if caller == "bad-token" else api.headers(caller)
        )
        body: Any = event(namespace)
        if route.endswith("batch"):
            body = [body]
        before = api.store.counts()
        response = await api.client.post(route, json=body, headers=headers)
        want = expected(caller, namespace)
        status = response.status_code
        if route.endswith("batch") and want == 403 and status == 207:
            # scope refusals are per event in a batch
            result = response.json()["results"][0]
            assert result["code"] == "FORBIDDEN", (caller, namespace, result)
            status = 403
        assert status == want, (caller, namespace, route, response.text)
        if want == 201:
            entry = api.store.audit_entries()[-1]
            assert entry.principal == f"token:{TOKENS[caller][0]}", (caller, entry.principal)
            assert entry.seq > 0
        else:
            code = (response.json().get("errors") or [{"extensions": {"code": "FORBIDDEN"}}])[0]["extensions"]["code"]
            assert code == {401: "UNAUTHENTICATED", 403: "FORBIDDEN"}[want]
            after = api.store.counts()
            assert {k: after[k] for k in ("nodes", "edges", "audit_entries", "raw_events")} == {
                k: before[k] for k in ("nodes", "edges", "audit_entries", "raw_events")
            }, (caller, namespace, route)
