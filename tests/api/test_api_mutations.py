"""Mutations over HTTP, on every backend: what they write, who the audit log says wrote it, and
that a failing mutation writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from lineage.storage import AuditFilter
from tests.api.conftest import SANDBOX, Api

pytestmark = pytest.mark.anyio

REGISTER = """
mutation Register($batch: BatchInput!) {
  register(batch: $batch) {
    nodesCreated nodesUpdated edgesCreated unchanged changed auditSeq recordedAt nodeIds
    nodes { id kind owners }
  }
}
"""


def batch(version: str = "1", ns: str = "sandbox") -> dict[str, Any]:
    return {
        "nodes": [
            {"kind": "DATASET", "namespace": ns, "name": "events", "version": version, "owners": ["team-a"]},
            {"kind": "RUN", "namespace": ns, "name": "clean", "version": f"r{version}",
             "properties": {"status": "COMPLETE"}},
            {"kind": "DATASET", "namespace": ns, "name": "events_clean", "version": version,
             "eventTime": "2026-11-20T10:00:00Z", "properties": {"rows": 12}},
        ],
        "edges": [
            {"from": f"dataset:{ns}/events@{version}", "type": "INPUT_TO", "to": f"run:{ns}/clean@r{version}"},
            {"from": f"run:{ns}/clean@r{version}", "type": "PRODUCED", "to": f"dataset:{ns}/events_clean@{version}"},
        ],
    }


def snapshot(api: Api) -> tuple[dict[str, int], int]:
    counts = api.store.counts()
    return counts, len(api.store.audit_entries(AuditFilter(limit=100_000)))


async def test_register_is_audited_under_the_token_and_idempotent(api: Api) -> None:
    result = (await api.gql(REGISTER, {"batch": batch()}, who="writer")).ok()["register"]
    assert (result["nodesCreated"], result["edgesCreated"], result["changed"]) == (3, 2, True)
    assert [n["id"] for n in result["nodes"]] == result["nodeIds"]
    entry = api.store.audit_entries(AuditFilter(after_seq=result["auditSeq"] - 1, limit=1))[0]
    assert (entry.principal, entry.source, entry.action) == ("token:ci-sandbox", "api", "register")

    again = (await api.gql(REGISTER, {"batch": batch()}, who="writer")).ok()["register"]
    assert (again["changed"], again["auditSeq"], again["unchanged"]) == (False, None, 5)

    impact = (
        await api.gql('{ impact(id: "dataset:sandbox/events@1") { total reached { edges { node { id } } } } }')
    ).ok()
    assert impact["impact"]["total"] == 2


@pytest.mark.parametrize(
    ("bad", "code", "fragment"),
    [
        ({"nodes": [{"kind": "RUN", "namespace": "sandbox", "name": "x"}]}, "BAD_INPUT", "nodes[0]"),
        (
            {"nodes": [], "edges": [{"from": "dataset:sandbox/a@1", "type": "FEEDS", "to": "dataset:sandbox/b@1"}]},
            "BAD_INPUT",
            "neither in the store nor in this batch",
        ),
        (
            {
                "nodes": [{"kind": "DATASET", "namespace": "sandbox", "name": "a", "version": "1"},
                          {"kind": "MODEL", "namespace": "sandbox", "name": "m", "version": "1"}],
                "edges": [{"from": "dataset:sandbox/a@1", "type": "DEPLOYED_AS", "to": "model:sandbox/m@1"}],
            },
            "BAD_INPUT",
            "not allowed by the lineage schema",
        ),
        ({"nodes": [{"kind": "DATASET", "namespace": "sandbox", "name": "a", "version": "1",
                     "properties": {"k": "v"}}, {"kind": "DATASET", "namespace": "sandbox", "name": "a",
                     "version": "1", "properties": {"k": "w"}}]}, "BAD_INPUT", "repeats"),
    ],
)
async def test_refused_batches_write_nothing(api: Api, bad: dict[str, Any], code: str, fragment: str) -> None:
    before = snapshot(api)
    reply = await api.gql(REGISTER, {"batch": bad}, who="writer_all")
    assert reply.codes == [code], reply.body
    assert fragment in reply.errors[0]["message"]
    assert reply.data is None or reply.data.get("register") is None
    assert snapshot(api) == before


async def test_batch_size_limit(seeded: Any) -> None:
    from tests.api.conftest import app_settings, open_api

    async for api in open_api(app_settings(seeded.url, max_batch=4), seeded.secrets):
        before = snapshot(api)
        reply = await api.gql(REGISTER, {"batch": batch()}, who="writer")
        assert reply.codes == ["LIMIT_EXCEEDED"]
        assert "limit is 4" in reply.errors[0]["message"]
        assert snapshot(api) == before


async def test_retract_then_register_conflicts(api: Api) -> None:
    (await api.gql(REGISTER, {"batch": batch("2")}, who="writer")).ok()
    retract = "mutation R($id: ID!) { retract(id: $id, reason: \"bad data\") { id auditSeq recordedAt } }"
    done = (await api.gql(retract, {"id": "dataset:sandbox/events@2"}, who="writer")).ok()["retract"]
    assert done["auditSeq"] is not None
    again = await api.gql(retract, {"id": "dataset:sandbox/events@2"}, who="writer")
    assert again.codes == ["CONFLICT"]
    reregister = await api.gql(REGISTER, {"batch": batch("2")}, who="writer")
    assert reregister.codes == ["CONFLICT"]
    gone = await api.gql('{ node(id: "dataset:sandbox/events@2") { id } }')
    assert gone.codes == ["NOT_FOUND"]
    edge = "run:sandbox/clean@r1 -PRODUCED-> dataset:sandbox/events_clean@1"
    (await api.gql(REGISTER, {"batch": batch("1")}, who="writer")).ok()
    (await api.gql(retract, {"id": edge}, who="writer")).ok()


async def test_owners_and_tags(api: Api) -> None:
    owners = (
        await api.gql(
            f'mutation {{ setOwners(id: "{SANDBOX}", owners: ["team-b <#b-oncall>", "c@acme.com"]) '
            "{ changed auditSeq node { owners } } }",
            who="writer",
        )
    ).ok()["setOwners"]
    assert owners["changed"] is True
    assert sorted(owners["node"]["owners"]) == ["c@acme.com", "team-b <#b-oncall>"]

    tag = f'mutation {{ tag(id: "{SANDBOX}", tags: ["pii.email"], reason: "e-mails") {{ changed node {{ tags }} }} }}'
    assert (await api.gql(tag, who="writer")).ok()["tag"] == {
        "changed": True,
        "node": {"tags": ["pii.email"]},
    }
    assert (await api.gql(tag, who="writer")).ok()["tag"]["changed"] is False
    untag = f'mutation {{ untag(id: "{SANDBOX}", tags: ["pii.email"]) {{ changed node {{ tags }} }} }}'
    assert (await api.gql(untag, who="writer")).ok()["untag"] == {"changed": True, "node": {"tags": []}}

    bad = await api.gql(f'mutation {{ tag(id: "{SANDBOX}", tags: ["Not A Name"]) {{ changed }} }}', who="writer")
    assert bad.codes == ["BAD_INPUT"]
    empty = await api.gql(f'mutation {{ setOwners(id: "{SANDBOX}", owners: []) {{ changed }} }}', who="writer")
    assert empty.codes == ["BAD_INPUT"]
    entries = api.store.audit_entries(AuditFilter(subject=SANDBOX, limit=100))
    assert {(e.action, e.principal, e.source) for e in entries[1:]} == {
        ("annotate.owner", "token:ci-sandbox", "api"),
        ("annotate.tag", "token:ci-sandbox", "api"),
    }


async def test_token_management_over_graphql(api: Api) -> None:
    created = (
        await api.gql(
            'mutation { createToken(name: "nightly", role: WRITER, namespaces: ["sandbox"]) '
            "{ secret token { name role namespaces createdBy } } }",
            who="admin",
        )
    ).ok()["createToken"]
    assert created["secret"].startswith("lin_")
    assert created["token"] == {"name": "nightly", "role": "WRITER", "namespaces": ["sandbox"],
                                "createdBy": "token:ops-admin"}
    me = (await api.gql("{ viewer { name } }", who=created["secret"])).ok()
    assert me["viewer"]["name"] == "nightly"
    listed = (await api.gql("{ tokens { name role revokedAt } }", who="admin")).ok()["tokens"]
    assert "nightly" in {t["name"] for t in listed}
    assert all("secret" not in t for t in listed)
    (await api.gql('mutation { revokeToken(name: "nightly") { name revokedAt } }', who="admin")).ok()
    revoked = await api.gql("{ viewer { name } }", who=created["secret"])
    assert revoked.codes == ["UNAUTHENTICATED"]
    assert "revoked" in revoked.errors[0]["message"]
    dup = await api.gql('mutation { createToken(name: "dashboards", role: READER) { secret } }', who="admin")
    assert dup.codes == ["CONFLICT"]
    limited_reader = await api.gql(
        'mutation { createToken(name: "x", role: READER, namespaces: ["a"]) { secret } }', who="admin"
    )
    assert limited_reader.codes == ["BAD_INPUT"]
