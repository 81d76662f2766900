"""Report formats on the demo graph: content, reproducibility, digest, PROV mapping, CLI options."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli import build_app
from lineage.demo import CORRUPTED, build_demo_batch
from lineage.governance.classifications import classify
from lineage.report.data import build_report
from lineage.report.drawing import diagram
from lineage.report.formats import ReportFormat, render
from lineage.report.markdown import mermaid
from lineage.storage import AuditFilter, Direction, GraphStore, open_store

DEPLOYMENT = "deployment:prod/churn-api"


@pytest.fixture
def demo(store: GraphStore) -> GraphStore:
    store.register(build_demo_batch(), principal="demo")
    classify(store, "dataset:raw/crm.customers@2026-11-03", ["pii.email"], column="email", principal="alice")
    return store


def test_same_as_of_gives_the_same_bytes_in_every_format(demo: GraphStore) -> None:
    first = {f: render(build_report(demo, CORRUPTED, Direction.DOWNSTREAM), f) for f in ReportFormat}
    head = demo.audit_entries(AuditFilter(limit=100))[-1]
    # a later write changes the graph state ...
    demo.annotate(DEPLOYMENT, "owner", add=["team-late"], principal="bob")
    later = build_report(demo, CORRUPTED, Direction.DOWNSTREAM)
    assert later.digest != build_report(demo, CORRUPTED, Direction.DOWNSTREAM, as_of=head.at).digest
    # ... but the report pinned to the earlier head is unchanged, byte for byte
    for fmt, text in first.items():
        again = render(build_report(demo, CORRUPTED, Direction.DOWNSTREAM, as_of=head.at), fmt)
        assert again == text, fmt
    assert "generated" not in first[ReportFormat.html].lower()


def test_json_report_keeps_the_lineage_fields_and_adds_state(demo: GraphStore) -> None:
    report = build_report(demo, CORRUPTED, Direction.DOWNSTREAM)
    data = json.loads(render(report, "json"))
    for key in ("direction", "root", "counts", "total", "production_deployments", "owners_to_notify", "nodes"):
        assert key in data
    assert data["total"] == 95 and len(data["production_deployments"]) == 4
    head = demo.audit_entries(AuditFilter(limit=100))[-1]
    assert data["audit_head"]["seq"] == head.seq and data["audit_head"]["hash"] == head.hash
    assert data["as_of"] == head.at.isoformat().replace("+00:00", "Z")
    assert data["digest"].startswith("sha256:") and len(data["digest"]) == 71
    assert {"from", "type", "to"} == set(data["edges"][0])
    assert data["notify"][0]["production"]


def test_markdown_has_summary_mermaid_owners_and_tables(demo: GraphStore) -> None:
    report = build_report(demo, CORRUPTED, Direction.DOWNSTREAM)
    md = render(report, "md")
    assert md.startswith(f"## Impact of `{CORRUPTED}`")
    assert f"graph digest `{report.digest}`" in md and report.as_of in md
    assert "**4 production deployment(s) affected:**" in md
    assert "```mermaid\nflowchart LR" in md
    assert "### Owners to notify" in md and "| team-sre |" in md
    assert "<summary><b>Deployment</b> (6)</summary>" in md
    assert f"lineage impact {CORRUPTED} --as-of {report.as_of} --format md" in md
    assert "share a box" in md  # 96 nodes are collapsed for the diagram


def test_large_diagrams_are_collapsed_then_capped_with_a_note(demo: GraphStore) -> None:
    report = build_report(demo, CORRUPTED, Direction.DOWNSTREAM)
    full = diagram(report, max_boxes=200)
    assert not full.collapsed and len(full.boxes) == 96
    collapsed = diagram(report, max_boxes=60)
    assert collapsed.collapsed and len(collapsed.boxes) <= 60 and not collapsed.hidden_boxes
    assert sum(len(b.members) for b in collapsed.boxes.values()) == 96
    capped = diagram(report, max_boxes=12)
    assert len(capped.boxes) == 12 and capped.hidden_nodes > 0
    assert any("Capped at 12 boxes" in n for n in capped.notes)
    # the start and every production deployment survive the cap
    kept = {m for b in capped.boxes.values() for m in b.members}
    assert CORRUPTED in kept and {p.node.id for p in report.lineage.production_deployments()} <= kept
    chart, _ = mermaid(report, max_boxes=12)
    assert chart.count('["') == 12 and "classDef production" in chart


def test_csv_has_one_row_per_node_with_state(demo: GraphStore) -> None:
    report = build_report(demo, DEPLOYMENT, Direction.UPSTREAM)
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len(rows) == 35 and rows[0]["id"] == DEPLOYMENT and rows[0]["distance"] == "0"
    assert rows[0]["production"] == "true"
    assert {r["graph_digest"] for r in rows} == {report.digest}
    commit = next(r for r in rows if r["kind"] == "CodeCommit")
    assert commit["path"].startswith(DEPLOYMENT + " > ")


def test_prov_json_maps_entities_activities_agents_and_relations(demo: GraphStore) -> None:
    report = build_report(demo, DEPLOYMENT, Direction.UPSTREAM)
    doc = json.loads(render(report, "prov-json"))
    for key in ("prefix", "entity", "activity", "agent", "used", "wasGeneratedBy", "wasDerivedFrom",
                "wasAssociatedWith", "wasAttributedTo"):
        assert doc[key], key
    qualified = {"$": "lineage:Deployment", "type": "prov:QUALIFIED_NAME"}
    assert doc["entity"][f"node:{DEPLOYMENT}"]["prov:type"] == qualified
    run = "node:run:ci/train.churn-classifier@train-churn-classifier-3"
    assert "prov:startTime" in doc["activity"][run]
    known = set(doc["entity"]) | set(doc["activity"]) | set(doc["agent"])
    for kind, fields in (("used", ("prov:activity", "prov:entity")),
                         ("wasGeneratedBy", ("prov:entity", "prov:activity")),
                         ("wasDerivedFrom", ("prov:generatedEntity", "prov:usedEntity")),
                         ("wasAssociatedWith", ("prov:activity", "prov:agent")),
                         ("wasAttributedTo", ("prov:entity", "prov:agent"))):
        for rel in doc[kind].values():
            assert all(rel[f] in known for f in fields), (kind, rel)
    model = "node:model:ml/churn-classifier@3"
    assert any(r["prov:generatedEntity"] == f"node:{DEPLOYMENT}" and r["prov:usedEntity"] == model
               for r in doc["wasDerivedFrom"].values())
    assert any(r.get("prov:role", {}).get("$") == "lineage:code" for r in doc["used"].values())
    assert doc["entity"]["lineage:report"]["lineage:graphDigest"] == report.digest
    assert len(doc["used"]) == sum(1 for _s, t, _d in report.subgraph.edges if t.value in ("INPUT_TO", "EXECUTED_IN"))


def test_root_classifications_appear_in_reports(demo: GraphStore) -> None:
    report = build_report(demo, DEPLOYMENT, Direction.UPSTREAM)
    assert report.classifications.labels() == ["pii.email"]
    assert "pii.email" in render(report, "md") and "column email of" in render(report, "html")


def test_cli_formats_and_output_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    st = open_store(url)
    st.register(build_demo_batch(), principal="demo")
    st.close()
    runner = CliRunner()
    for fmt in ("md", "html", "json", "csv", "prov-json"):
        target = tmp_path / f"report.{fmt}"
        result = runner.invoke(build_app(), ["provenance", DEPLOYMENT, "--format", fmt, "--output", str(target),
                                             "--store", url])
        assert result.exit_code == 0, result.output
        assert target.stat().st_size > 1000
    result = runner.invoke(build_app(), ["impact", CORRUPTED, "--format", "prov-json", "--store", url])
    assert result.exit_code == 2
    result = runner.invoke(build_app(), ["impact", CORRUPTED, "--kind", "Deployment", "--store", url])
    assert result.exit_code == 0 and "PRODUCTION" in result.output
    result = runner.invoke(build_app(), ["impact", CORRUPTED, "--format", "json", "--depth", "2", "--store", url])
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["max_depth"] == 2 and data["total"] == 2
    text_file = tmp_path / "impact.txt"
    result = runner.invoke(build_app(), ["impact", CORRUPTED, "-o", str(text_file), "--store", url])
    assert result.exit_code == 0 and "production" in text_file.read_text(encoding="utf-8").lower()
