"""Read queries over HTTP, on every backend: nodes, search, impact, provenance, audit, schema."""

from __future__ import annotations

from typing import Any

import pytest

from lineage.demo import CORRUPTED
from tests.api.conftest import SANDBOX_TAGGED, Api

pytestmark = pytest.mark.anyio

PROD_API = "deployment:prod/churn-api"
MODEL_3 = "model:ml/churn-classifier@3"


async def test_node_typed_fields_and_fragments(api: Api) -> None:
    data = (
        await api.gql(
            """
            query One($id: ID!) {
              node(id: $id) {
                __typename id kind namespace name version owners recordedBy
                ... on Model { framework artifactUri metrics params }
              }
            }
            """,
            {"id": MODEL_3},
        )
    ).ok()
    node = data["node"]
    assert node["__typename"] == "Model"
    assert node["kind"] == "MODEL"
    assert node["version"] == "3"
    assert node["framework"] == "lightgbm"
    assert set(node["metrics"]) == {"auc"}
    assert node["params"]["learning_rate"] == 0.05
    assert node["owners"] == ["team-churn-ml"]


async def test_every_kind_has_its_type(api: Api) -> None:
    data = (
        await api.gql(
            """
            query Kinds {
              nodes(first: 500) {
                edges { node {
                  __typename kind
                  ... on Run { status job runId startedAt }
                  ... on Deployment { environment endpoint production }
                  ... on CodeCommit { sha author message repository }
                  ... on Dataset { location rows }
                  ... on Feature { definitionVersion entity }
                } }
              }
            }
            """
        )
    ).ok()
    nodes = [e["node"] for e in data["nodes"]["edges"]]
    assert {n["__typename"] for n in nodes} == {"Dataset", "Feature", "CodeCommit", "Run", "Model", "Deployment"}
    runs = [n for n in nodes if n["__typename"] == "Run"]
    assert all(r["status"] == "COMPLETE" for r in runs)
    deployments = [n for n in nodes if n["__typename"] == "Deployment"]
    assert any(d["production"] and d["environment"] == "prod" for d in deployments)
    assert all(d["endpoint"].startswith("https://") for d in deployments)


async def test_nodes_filters_and_cursor_pagination(api: Api) -> None:
    query = """
        query Page($first: Int!, $after: String, $filter: NodeFilterInput) {
          nodes(first: $first, after: $after, filter: $filter) {
            edges { cursor node { id } }
            pageInfo { hasNextPage endCursor }
          }
        }
    """
    flt = {"kinds": ["FEATURE"], "namespace": "features", "namePrefix": "orders"}
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = (await api.gql(query, {"first": 1, "after": after, "filter": flt})).ok()["nodes"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen)
    assert len(seen) == 2 and all(s.startswith("feature:features/orders_30d@") for s in seen)

    tagged = (await api.gql(query, {"first": 10, "filter": {"tag": "pii"}})).ok()["nodes"]["edges"]
    assert [e["node"]["id"] for e in tagged] == [SANDBOX_TAGGED]
    owned = (await api.gql(query, {"first": 50, "filter": {"owner": "team-sre"}})).ok()["nodes"]["edges"]
    assert owned and all(e["node"]["id"].startswith("deployment:") for e in owned)


async def test_search(api: Api) -> None:
    data = (await api.gql('{ search(text: "churn-api", first: 5) { id kind } }')).ok()
    assert data["search"][0]["id"] in {PROD_API, "deployment:staging/churn-api"}
    kinds = (await api.gql('{ search(text: "churn", kinds: [MODEL]) { kind } }')).ok()["search"]
    assert kinds and {k["kind"] for k in kinds} == {"MODEL"}


IMPACT = """
query Impact($id: ID!, $first: Int, $after: String, $kinds: [NodeKind!]) {
  impact(id: $id, first: $first, after: $after, kinds: $kinds) {
    root { id }
    total truncated depth
    counts { kind count }
    reached {
      totalCount
      edges { cursor distance production path { length text nodeIds edgeTypes } node { id kind } }
      pageInfo { hasNextPage endCursor }
    }
    productionDeployments { distance node { id } path { text } }
    ownersToNotify { owner production nodeIds }
  }
}
"""


async def test_impact_report(api: Api) -> None:
    report = (await api.gql(IMPACT, {"id": CORRUPTED, "first": 500})).ok()["impact"]
    assert report["root"]["id"] == CORRUPTED
    assert report["total"] == report["reached"]["totalCount"] == len(report["reached"]["edges"])
    assert sum(c["count"] for c in report["counts"]) == report["total"]
    assert report["counts"][0]["kind"] == "DEPLOYMENT"
    edges = report["reached"]["edges"]
    # deployments come first; every path starts at the root and ends at the node
    assert edges[0]["node"]["kind"] == "DEPLOYMENT"
    for edge in edges:
        path = edge["path"]
        assert path["nodeIds"][0] == CORRUPTED and path["nodeIds"][-1] == edge["node"]["id"]
        assert path["length"] == edge["distance"] == len(path["edgeTypes"])
    prod = {d["node"]["id"] for d in report["productionDeployments"]}
    assert PROD_API in prod and all(i.startswith("deployment:prod/") for i in prod)
    owners = report["ownersToNotify"]
    assert owners[0]["production"] is True
    assert "team-sre" in {o["owner"] for o in owners}


@pytest.mark.parametrize(
    "selection",
    [
        "productionDeployments { distance production node { id } }",
        "prod: productionDeployments { distance production node { id } }",
        "... on ImpactReport { productionDeployments { distance production node { id } } }",
        "...Prod",
    ],
    ids=["direct", "aliased", "inline-fragment", "fragment"],
)
async def test_impact_production_deployments_however_selected(api: Api, selection: str) -> None:
    """Production deployments are read with the traversal when the selection shows them up front;
    the answer is the same whatever the selection looks like."""
    fragment = "fragment Prod on ImpactReport { productionDeployments { distance production node { id } } }"
    query = f"query($id: ID!) {{ impact(id: $id) {{ total {selection} }} }} {fragment if 'Prod' in selection else ''}"
    report = (await api.gql(query, {"id": CORRUPTED})).ok()["impact"]
    found = report.get("prod") or report["productionDeployments"]
    plain = (await api.gql(IMPACT, {"id": CORRUPTED, "first": 500})).ok()["impact"]
    assert [(d["node"]["id"], d["distance"]) for d in found] == [
        (d["node"]["id"], d["distance"]) for d in plain["productionDeployments"]
    ]
    assert found and all(d["production"] for d in found)
    shown = {e["node"]["id"]: e["production"] for e in plain["reached"]["edges"]}
    assert {d["node"]["id"] for d in found} == {i for i, production in shown.items() if production}


async def test_impact_pages_cover_the_report_once(api: Api) -> None:
    whole = (await api.gql(IMPACT, {"id": CORRUPTED, "first": 500})).ok()["impact"]["reached"]["edges"]
    seen: list[str] = []
    after = None
    while True:
        page = (await api.gql(IMPACT, {"id": CORRUPTED, "first": 7, "after": after})).ok()["impact"]["reached"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [e["node"]["id"] for e in whole]


async def test_impact_cursor_of_an_earlier_server_version_still_pages(api: Api) -> None:
    """Cursors name the row's position and id; one naming only the id (as earlier versions issued
    them) points to the same row."""
    import base64

    whole = (await api.gql(IMPACT, {"id": CORRUPTED, "first": 500})).ok()["impact"]["reached"]["edges"]
    third = whole[2]["node"]["id"]
    legacy = base64.urlsafe_b64encode(f"reached:{third}".encode()).decode().rstrip("=")
    page = (await api.gql(IMPACT, {"id": CORRUPTED, "first": 3, "after": legacy})).ok()["impact"]["reached"]
    assert [e["node"]["id"] for e in page["edges"]] == [e["node"]["id"] for e in whole[3:6]]
    stale = base64.urlsafe_b64encode(b"reached:2:dataset:nowhere/none@1").decode().rstrip("=")
    refused = await api.gql(IMPACT, {"id": CORRUPTED, "first": 3, "after": stale})
    assert refused.codes == ["BAD_INPUT"]


async def test_impact_kind_filter_and_depth(api: Api) -> None:
    report = (await api.gql(IMPACT, {"id": CORRUPTED, "kinds": ["MODEL"]})).ok()["impact"]
    assert {e["node"]["kind"] for e in report["reached"]["edges"]} == {"MODEL"}
    shallow = (await api.gql("query($id: ID!) { impact(id: $id, depth: 1) { total depth } }", {"id": CORRUPTED})).ok()
    assert shallow["impact"] == {"total": 1, "depth": 1}


async def test_provenance_bill_of_materials(api: Api) -> None:
    data = (
        await api.gql(
            """
            query Bom($id: ID!) {
              provenance(id: $id) {
                root { id } total
                counts { kind count }
                groups { kind count items { distance node { id } path { nodeIds } } }
              }
            }
            """,
            {"id": PROD_API},
        )
    ).ok()["provenance"]
    groups = {g["kind"]: g for g in data["groups"]}
    assert list(groups)[:3] == ["DATASET", "FEATURE", "CODE_COMMIT"]
    assert sum(g["count"] for g in data["groups"]) == data["total"]
    assert any(i["node"]["id"] == CORRUPTED for i in groups["DATASET"]["items"])
    for group in data["groups"]:
        for item in group["items"]:
            assert item["path"]["nodeIds"][0] == PROD_API


async def test_as_of_hides_later_registrations(api: Api) -> None:
    first = api.store.audit_entries()[0].at.isoformat()
    query = "query($t: DateTime) { nodes(first: 500, asOf: $t) { edges { node { id } } } }"
    data = await api.gql(query, {"t": first})
    ids = {e["node"]["id"] for e in data.ok()["nodes"]["edges"]}
    assert "dataset:sandbox/scratch@1" not in ids
    assert MODEL_3 in ids


async def test_neighbours_upstream_downstream(api: Api) -> None:
    data = (
        await api.gql(
            """
            query Near($id: ID!) {
              node(id: $id) {
                upstream { id kind }
                downstream(kinds: [DEPLOYMENT]) { id }
                neighbours(direction: UPSTREAM) { direction edgeType node { id } }
              }
            }
            """,
            {"id": MODEL_3},
        )
    ).ok()["node"]
    assert [n["kind"] for n in data["upstream"]] == ["RUN"]
    assert {d["id"] for d in data["downstream"]} >= {PROD_API}
    assert data["neighbours"][0] == {
        "direction": "UPSTREAM",
        "edgeType": "PRODUCED",
        "node": {"id": data["upstream"][0]["id"]},
    }


async def test_audit_log_and_verification(api: Api) -> None:
    query = """
        query Audit($filter: AuditFilterInput, $after: String) {
          auditLog(filter: $filter, first: 2, after: $after) {
            edges { cursor node { seq principal source action subjects payloadDigest hash prevHash } }
            pageInfo { hasNextPage endCursor }
          }
          auditVerification { ok entries head }
          proven: auditVerification(graph: true) { ok checked rows entries table key }
        }
    """
    first = (await api.gql(query, {"filter": {"principal": "user:seed", "action": "register"}})).ok()
    entries = [e["node"] for e in first["auditLog"]["edges"]]
    assert [e["seq"] for e in entries] == [1, 2]
    assert entries[1]["prevHash"] == entries[0]["hash"]
    assert first["auditVerification"]["ok"] is True
    proven = first["proven"]
    assert proven["ok"] is True and proven["checked"] == "log+graph" and proven["rows"] > 0
    assert proven["entries"] == first["auditVerification"]["entries"] and proven["table"] is None
    more = (
        await api.gql(query, {"filter": {"subject": SANDBOX_TAGGED}, "after": None})
    ).ok()["auditLog"]["edges"]
    assert [e["node"]["action"] for e in more] == ["register", "annotate.tag"]


async def test_schema_info_and_viewer(api: Api) -> None:
    data = (
        await api.gql(
            "{ schemaInfo { kinds { kind versioned idPrefix } edges { from type to } "
            "limits { maxPageSize maxQueryDepth } } viewer { name role anonymous principal } }"
        )
    ).ok()
    info = data["schemaInfo"]
    assert {"from": "MODEL", "type": "DEPLOYED_AS", "to": "DEPLOYMENT"} in info["edges"]
    assert {k["kind"]: k["versioned"] for k in info["kinds"]}["DEPLOYMENT"] is False
    assert info["limits"]["maxPageSize"] == 500
    assert data["viewer"] == {"name": "anonymous", "role": "READER", "anonymous": True, "principal": "anonymous"}
    me = (await api.gql("{ viewer { name role principal } }", who="writer")).ok()["viewer"]
    assert me == {"name": "ci-sandbox", "role": "WRITER", "principal": "token:ci-sandbox"}


async def test_paths_and_diff(api: Api) -> None:
    paths = (
        await api.gql(
            """
            query Ways($from: ID!, $to: ID!) {
              paths(from: $from, to: $to, max: 3) { from { id } to { id } more between paths { length nodeIds } }
            }
            """,
            {"from": CORRUPTED, "to": PROD_API},
        )
    ).ok()["paths"]
    lengths = [p["length"] for p in paths["paths"]]
    assert lengths == sorted(lengths) and len(lengths) == 3 and paths["more"] is True
    assert all(p["nodeIds"][0] == CORRUPTED and p["nodeIds"][-1] == PROD_API for p in paths["paths"])

    diff: dict[str, Any] = (
        await api.gql(
            """
            query Diff($a: ID!, $b: ID!) {
              diff(a: $a, b: $b) {
                identical unchangedCount
                added { id } removed { id }
                changed { kind namespace name before { id } after { id } }
                counts { kind added removed changed unchanged }
              }
            }
            """,
            {"a": "model:ml/churn-classifier@2", "b": MODEL_3},
        )
    ).ok()["diff"]
    assert diff["identical"] is False
    changed = {(c["kind"], c["name"]) for c in diff["changed"]}
    assert ("CODE_COMMIT", "github.com/acme/ml-platform") in changed
    assert ("RUN", "train.churn-classifier") in changed


async def test_response_bodies_carry_any_recorded_value(api: Api) -> None:
    """Responses are UTF-8 JSON; integers beyond 64 bits and non-ASCII text come back as recorded."""
    from lineage.model import parse_batch

    big = 2**70
    batch = parse_batch(
        {"nodes": [{"kind": "Dataset", "namespace": "sandbox", "name": "wide", "version": "1",
                    "properties": {"rows": big, "title": "Bestellungen über 2⁷⁰"}}]}
    )
    api.store.register(batch, principal="seed", source="test")
    response = await api.client.post(
        "/graphql", json={"query": '{ node(id: "dataset:sandbox/wide@1") { properties } }'}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["node"]["properties"] == {"rows": big, "title": "Bestellungen über 2⁷⁰"}
