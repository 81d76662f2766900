"""Authorisation: every mutation with no token, a reader, a writer of another namespace, a writer
of the right namespace and an admin; anonymous reads; bad credentials. Refusals write nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lineage.storage import AuditFilter
from tests.api.conftest import ELSEWHERE, SANDBOX, SANDBOX_TAGGED, Api, Seeded, app_settings, open_api

pytestmark = pytest.mark.anyio

#: name -> (document, allowed for a namespace-limited writer of "sandbox")
MUTATIONS: dict[str, tuple[str, bool]] = {
    "register": (
        'mutation { register(batch: {nodes: [{kind: DATASET, namespace: "sandbox", name: "new", version: "1"}]}) '
        "{ changed } }",
        True,
    ),
    "retract": (f'mutation {{ retract(id: "{SANDBOX}", reason: "wrong") {{ auditSeq }} }}', True),
    "setOwners": (f'mutation {{ setOwners(id: "{SANDBOX}", owners: ["team-z"]) {{ changed }} }}', True),
    "tag": (f'mutation {{ tag(id: "{SANDBOX}", tags: ["confidential"]) {{ changed }} }}', True),
    "untag": (f'mutation {{ untag(id: "{SANDBOX_TAGGED}", tags: ["pii"]) {{ changed }} }}', True),
    "createToken": ('mutation { createToken(name: "fresh", role: READER) { secret } }', False),
    "revokeToken": ('mutation { revokeToken(name: "dashboards") { name } }', False),
}
#: caller -> expected code when refused (None: allowed)
CALLERS = ["anonymous", "reader", "other", "writer", "admin"]


def expected(mutation: str, caller: str) -> str | None:
    writer_may = MUTATIONS[mutation][1]
    if caller == "anonymous":
        return "UNAUTHENTICATED"
    if caller == "admin":
        return None
    if caller == "reader":
        return "FORBIDDEN"
    return None if (writer_may and caller == "writer") else "FORBIDDEN"


def audit_len(api: Api) -> int:
    return len(api.store.audit_entries(AuditFilter(limit=100_000)))


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
async def test_authorisation_matrix(api: Api, mutation: str, caller: str) -> None:
    before = audit_len(api)
    reply = await api.gql(MUTATIONS[mutation][0], who=None if caller == "anonymous" else caller)
    want = expected(mutation, caller)
    if want is None:
        assert reply.status == 200 and not reply.errors, reply.body
        entry = api.store.audit_entries(AuditFilter(after_seq=before, limit=1))[0]
        name = {"writer": "ci-sandbox", "admin": "ops-admin"}[caller]
        assert entry.principal == f"token:{name}"
    else:
        assert reply.codes == [want], reply.body
        assert audit_len(api) == before


async def test_writer_limited_to_namespaces_names_the_element(api: Api) -> None:
    doc = (
        "mutation($b: BatchInput!) { register(batch: $b) { changed } }"
    )
    mixed = {
        "nodes": [
            {"kind": "DATASET", "namespace": "sandbox", "name": "ok", "version": "1"},
            {"kind": "DATASET", "namespace": "elsewhere", "name": "nope", "version": "1"},
        ]
    }
    reply = await api.gql(doc, {"b": mixed}, who="writer")
    assert reply.codes == ["FORBIDDEN"]
    assert "nodes[1]" in reply.errors[0]["message"] and "'elsewhere'" in reply.errors[0]["message"]
    # an edge may link to another namespace's node as long as it touches one of the writer's
    linking = {
        "nodes": [{"kind": "RUN", "namespace": "sandbox", "name": "job", "version": "r1"}],
        "edges": [{"from": ELSEWHERE, "type": "INPUT_TO", "to": "run:sandbox/job@r1"}],
    }
    (await api.gql(doc, {"b": linking}, who="writer")).ok()
    foreign = {"edges": [{"from": ELSEWHERE, "type": "FEEDS", "to": "dataset:warehouse/customer_360@2026-11-01"}]}
    assert (await api.gql(doc, {"b": foreign}, who="writer")).codes == ["FORBIDDEN"]
    retract = await api.gql(f'mutation {{ retract(id: "{ELSEWHERE}", reason: "x") {{ id }} }}', who="writer")
    assert retract.codes == ["FORBIDDEN"]
    (await api.gql(f'mutation {{ retract(id: "{ELSEWHERE}", reason: "x") {{ id }} }}', who="writer_all")).ok()


@pytest.fixture
async def closed_api(seeded: Seeded) -> AsyncIterator[Api]:
    async for a in open_api(app_settings(seeded.url, anonymous_read=False, mode="production"), seeded.secrets):
        yield a


async def test_anonymous_read_off(closed_api: Api) -> None:
    reply = await closed_api.gql("{ schemaInfo { annotationKeys } }")
    assert reply.codes == ["UNAUTHENTICATED"]
    assert "lineage token create" in reply.errors[0]["message"]
    for who in ("reader", "other", "writer", "admin"):
        (await closed_api.gql("{ schemaInfo { annotationKeys } }", who=who)).ok()


async def test_anonymous_read_defaults_to_loopback_only(seeded: Seeded) -> None:
    for host, allowed in (("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False)):
        settings = app_settings(seeded.url, anonymous_read=None, host=host)
        async for api in open_api(settings, seeded.secrets):
            reply = await api.gql("{ viewer { anonymous } }")
            assert (not reply.errors) is allowed, (host, reply.body)


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("Bearer lin_not-a-real-token", "unknown token"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
        ("Bearer", "must be 'Bearer <token>'"),
    ],
)
async def test_wrong_credentials_are_unauthenticated_even_for_reads(api: Api, header: str, fragment: str) -> None:
    response = await api.client.post(
        "/graphql", json={"query": "{ viewer { name } }"}, headers={"Authorization": header}
    )
    body = response.json()
    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert fragment in body["errors"][0]["message"]


async def test_secrets_are_stored_hashed(api: Api) -> None:
    stored = {t.secret_hash for t in api.store.tokens()}
    assert not stored & set(api.secrets.values())
    assert all(len(h) == 64 for h in stored)
