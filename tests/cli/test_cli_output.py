"""Output for pipes and scripts: tables that never wrap ids off a terminal, ``--format json`` on
``audit head``, ``token revoke`` and ``schema edges``, and YAML integer versions in batch files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from test_cli_core import clean_env, fails, ok

from lineage.demo import build_demo_batch
from lineage.model import ALLOWED_EDGES
from lineage.report.tables import print_table
from lineage.storage import open_store


@pytest.fixture
def url(tmp_path: Path) -> str:
    store_url = f"sqlite:///{tmp_path / 'out.db'}"
    with open_store(store_url) as st:
        st.register(build_demo_batch(), principal="demo")
    return store_url


def test_tables_are_plain_tab_separated_lines_off_a_terminal(url: str) -> None:
    narrow = clean_env(COLUMNS="40")  # a narrow window must not matter when stdout is a pipe
    lines = ok("search", "churn", "--store", url, env=narrow).stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["id", "kind"]
    rows = [line.split("\t") for line in lines[1:]]
    assert rows and all(len(r) == len(lines[0].split("\t")) for r in rows)
    ids = {r[0] for r in rows}
    assert "deployment:prod/churn-api" in ids and "model:ml/churn-classifier@3" in ids
    log = ok("audit", "log", "--store", url, env=narrow).stdout.splitlines()
    assert log[0].startswith("seq\tat\tprincipal") and log[1].split("\t")[0] == "1"


def test_tables_are_drawn_on_a_terminal() -> None:
    table = Table("id", "kind")
    table.add_row("dataset:warehouse/a-rather-long-name-of-a-table@2026-11-03", "Dataset")
    drawn = io.StringIO()
    print_table(Console(file=drawn, force_terminal=True, width=40), table)
    assert "┃" in drawn.getvalue() or "│" in drawn.getvalue()
    piped = io.StringIO()
    print_table(Console(file=piped, width=40), table)
    assert piped.getvalue() == "id\tkind\ndataset:warehouse/a-rather-long-name-of-a-table@2026-11-03\tDataset\n"


def test_audit_head_json(url: str) -> None:
    head = json.loads(ok("audit", "head", "--format", "json", "--store", url).stdout)
    text = ok("audit", "head", "--store", url).stdout.split()
    assert [str(head["seq"]), head["hash"]] == text
    verified = json.loads(ok("audit", "verify", "--format", "json", "--store", url).stdout)
    assert verified["head"] == head["hash"]


def test_token_revoke_json(url: str) -> None:
    ok("token", "create", "ci-x", "--role", "writer", "--store", url, "--actor", "alice")
    revoked = json.loads(ok("token", "revoke", "ci-x", "--format", "json", "--store", url, "--actor", "alice").stdout)
    assert revoked["name"] == "ci-x" and revoked["revoked"] and revoked["revoked_by"] == "alice"
    assert revoked["revoked_at"]
    assert "ci-x" in fails(2, "token", "revoke", "ci-x", "--format", "json", "--store", url)


def test_schema_edges_json() -> None:
    edges = json.loads(ok("schema", "edges", "--format", "json").stdout)
    expected = {(s.value, t.value, d.value) for s, t, d in ALLOWED_EDGES}
    assert {(e["from"], e["type"], e["to"]) for e in edges} == expected
    assert {"from": "Run", "type": "PARENT_OF", "to": "Run"} in edges


def test_yaml_integer_versions_are_kept_as_text(url: str, tmp_path: Path) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        "nodes:\n"
        "  - {kind: Dataset, namespace: warehouse, name: orders, version: 1}\n"
        "  - {kind: Run, namespace: etl, name: load, version: 20261103}\n"
        "edges:\n"
        "  - {from: 'dataset:warehouse/orders@1', type: INPUT_TO, to: 'run:etl/load@20261103'}\n"
    )
    ok("register", "--file", str(batch), "--store", url)
    shown = json.loads(ok("show", "dataset:warehouse/orders@1", "--format", "json", "--store", url).stdout)
    node = shown.get("node", shown)
    assert node["version"] == "1"
    again = json.loads(ok("register", "--file", str(batch), "--store", url, "--format", "json").stdout)
    assert again["nodes_created"] == 0 and again["unchanged"] == 3 and again["audit_seq"] is None
    batch.write_text("nodes:\n  - {kind: Dataset, namespace: warehouse, name: orders, version: 1.10}\n")
    message = fails(2, "register", "--file", str(batch), "--store", url)
    assert "nodes[0].version" in message and "quote it" in message
