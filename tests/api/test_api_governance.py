"""Governance over the API: effectiveClassifications, classificationReach, policyReport, report files."""

from __future__ import annotations

import pytest

from lineage.demo import CORRUPTED
from lineage.governance.classifications import classify
from lineage.report.data import build_report
from lineage.storage import Direction
from tests.api.conftest import SANDBOX_TAGGED, Api
from tests.report.prov_support import check_against_report

pytestmark = pytest.mark.anyio

PROD_API = "deployment:prod/churn-api"
CRM = "dataset:raw/crm.customers@2026-11-03"

EFFECTIVE = """
query Eff($id: ID!) {
  effectiveClassifications(id: $id) {
    nodeId classifications
    effective { classification direct origin { nodeId columns setBy } path pathEdges explanation }
    removed { classification removedAt }
  }
}
"""
REACH = """
query Reach($c: String!) {
  classificationReach(classification: $c, kinds: [DEPLOYMENT]) {
    total nodes { node { id owners } classifications via { origin { nodeId columns } path } }
  }
}
"""
POLICY = """
query Check($policy: String!, $target: ID) {
  policyReport(policy: $policy, target: $target) {
    ok violationCount warningCount auditHeadSeq
    outcomes { rule type checked violations { nodeId message explanation hint } waived { nodeId approval } }
  }
}
"""


async def test_effective_classifications_and_reach(api: Api) -> None:
    data = (await api.gql(EFFECTIVE, {"id": SANDBOX_TAGGED})).ok()["effectiveClassifications"]
    assert data["classifications"] == ["pii"] and data["effective"][0]["direct"] is True
    classify(api.store, CRM, ["pii.email"], column="email", principal="user:seed")
    data = (await api.gql(EFFECTIVE, {"id": PROD_API})).ok()["effectiveClassifications"]
    (eff,) = data["effective"]
    assert eff["origin"] == {"nodeId": CRM, "columns": ["email"], "setBy": "user:seed"}
    assert eff["path"][0] == CRM and eff["path"][-1] == PROD_API
    assert len(eff["pathEdges"]) == len(eff["path"]) - 1
    reach = (await api.gql(REACH, {"c": "pii"})).ok()["classificationReach"]
    ids = [n["node"]["id"] for n in reach["nodes"]]
    assert PROD_API in ids and reach["total"] == len(ids)
    assert next(n for n in reach["nodes"] if n["node"]["id"] == PROD_API)["node"]["owners"]
    reply = await api.gql(REACH, {"c": "PII"})
    assert reply.codes == ["BAD_INPUT"]


async def test_policy_report(api: Api) -> None:
    policy = "rules:\n  - id: no-pii\n    type: forbid-flow\n    classification: pii\n"
    data = (await api.gql(POLICY, {"policy": policy})).ok()["policyReport"]
    assert data["ok"] is True and data["outcomes"][0]["checked"] == 4
    classify(api.store, CRM, ["pii.email"], column="email", principal="user:seed")
    data = (await api.gql(POLICY, {"policy": policy})).ok()["policyReport"]
    assert data["ok"] is False and data["violationCount"] == 2
    violation = data["outcomes"][0]["violations"][0]
    assert "pii.email reaches" in violation["message"] and "lineage approve" in violation["hint"]
    scoped = (await api.gql(POLICY, {"policy": policy, "target": "model:ml/churn-classifier@3"})).ok()
    assert scoped["policyReport"]["violationCount"] == 1
    reply = await api.gql(POLICY, {"policy": "rules:\n  - type: max-staleness\n    days: 0\n"})
    assert reply.codes == ["BAD_INPUT"] and "line 3" in reply.errors[0]["message"]


async def test_report_files_over_http(api: Api) -> None:
    response = await api.client.get(f"/reports/impact/{CORRUPTED}.md")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    assert response.text.startswith(f"## Impact of `{CORRUPTED}`")
    digest, as_of = response.headers["x-lineage-digest"], response.headers["x-lineage-as-of"]
    assert digest in response.text
    again = await api.client.get(f"/reports/impact/{CORRUPTED}.md", params={"asOf": as_of})
    assert again.text == response.text
    html = await api.client.get(f"/reports/provenance/{PROD_API}.html")
    assert html.status_code == 200 and 'id="lineage-graph"' in html.text and 'id="legend"' in html.text
    prov = await api.client.get(f"/reports/provenance/{PROD_API}.prov-json")
    assert prov.status_code == 200 and "wasGeneratedBy" in prov.json()
    check_against_report(prov.text, build_report(api.store, PROD_API, Direction.UPSTREAM))
    csv_reply = await api.client.get(f"/reports/impact/{CORRUPTED}.csv", params={"depth": 2})
    assert csv_reply.status_code == 200 and len(csv_reply.text.strip().splitlines()) == 4
    assert (await api.client.get(f"/reports/impact/{CORRUPTED}.prov-json")).status_code == 400
    assert (await api.client.get(f"/reports/impact/{CORRUPTED}.pdf")).status_code == 400
    assert (await api.client.get("/reports/impact/dataset:raw/nothing@1.md")).status_code == 404
    assert (await api.client.get(f"/reports/lineage/{CORRUPTED}.md")).status_code == 404
