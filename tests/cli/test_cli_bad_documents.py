"""Batch and policy files that parse but are not acceptable are bad input for the CLI: exit 2 with
one ``error [CODE]`` line, no traceback, and nothing written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lineage.storage import open_store
from tests.api.test_api_bad_documents import _alias_bomb, _deep
from tests.cli.test_cli_core import fails

NODE = '{"kind": "Dataset", "namespace": "w", "name": "n", "version": "1"'


@pytest.mark.parametrize(
    ("suffix", "content", "words"),
    [
        (".json", '{"nodes": [' + NODE + ', "owners": ["team\\ud800"]}]}', "not valid Unicode"),
        (".json", '{"nodes": [' + NODE + ', "properties": {"k\\udfff": 1}}]}', "not valid Unicode"),
        (".yaml", 'nodes: [{kind: Dataset, namespace: w, name: "n\\ud800", version: "1"}]', "not valid Unicode"),
        (".json", '{"nodes": [' + NODE + ', "properties": {"p": ' + _deep(1_000) + "}}]}", "nested deeper"),
        (".json", '{"nodes": [' + NODE + ', "properties": {"p": ' + _deep(100_000) + "}}]}", "nested deeper"),
        (".yaml", "nodes: " + "[" * 5_000 + "]" * 5_000, "nested deeper"),
        (".yaml", _alias_bomb() + "nodes: []\n", "aliases"),
    ],
    ids=["owner", "property-key", "yaml-name", "deep-1k", "deep-100k", "yaml-deep", "yaml-bomb"],
)
def test_register_refuses_bad_documents(tmp_path: Path, suffix: str, content: str, words: str) -> None:
    store = tmp_path / "lineage.db"
    path = tmp_path / f"batch{suffix}"
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    started = time.monotonic()
    output = fails(2, "register", "--file", str(path), "--store", f"sqlite:///{store}")
    assert time.monotonic() - started < 30
    assert words in output and "error [" in output
    if store.exists():
        with open_store(f"sqlite:///{store}") as opened:
            assert opened.counts()["nodes"] == 0 and opened.counts()["audit_entries"] == 0


def test_check_refuses_a_policy_alias_bomb(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(_alias_bomb())
    output = fails(2, "check", "--policy", str(policy), "--store", f"sqlite:///{tmp_path / 'lineage.db'}")
    assert "error [LIMIT_EXCEEDED]" in output
