"""Fuzzing the three input channels: GraphQL ``register``, OpenLineage (single and batch) and CLI
batch files. Inputs are mostly well formed with hostile parts (lone surrogates, control characters,
deep nesting, wrong types, unknown kinds, dangling edges, huge numbers, NaN).

For every input: no 5xx, no traceback, only documented status codes, exit codes and error codes,
and a refused input changes nothing (node, edge, audit and raw-event counts equal before and after).
The totals are printed at the end of each test (``-s``) for the record.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lineage.api import create_app
from lineage.cli import build_app
from lineage.storage import GraphStore, open_store
from tests.api.conftest import app_settings, seed

CODES = {"BAD_INPUT", "NOT_FOUND", "CONFLICT", "LIMIT_EXCEEDED", "UNAUTHENTICATED", "FORBIDDEN"}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)

# -- strategies ----------------------------------------------------------------------------------

def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five, ``bad`` otherwise: most inputs get past the first check."""
    return st.integers(0, 4).flatmap(lambda i: bad if i == 0 else good)


hostile_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "\n", "'; DROP TABLE nodes; --", "MATCH (n) DETACH DELETE n",
                     "<script>x</script>", "a" * 600, "`", "%", "@", "/", " ", "日本語", "😀"]),
)
name_text = mostly(st.from_regex(r"[a-z][a-z0-9_.-]{0,12}", fullmatch=True), hostile_text)
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), hostile_text,
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner, max_size=3)),
    max_leaves=12,
)
kind = mostly(st.sampled_from(["Dataset", "Feature", "Model"]),
              st.sampled_from(["Run", "Deployment", "CodeCommit", "Table", "", "dataset"]))


@st.composite
def node(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": draw(kind), "namespace": draw(name_text), "name": draw(name_text)}
    if draw(st.integers(0, 4)) > 0:
        out["version"] = draw(mostly(name_text, st.integers()))
    if draw(st.booleans()):
        out["owners"] = draw(st.lists(mostly(name_text, hostile_text), max_size=3))
    if draw(st.booleans()):
        out["properties"] = draw(mostly(st.dictionaries(name_text, json_value, max_size=3),
                                        st.dictionaries(hostile_text, json_value, max_size=3)))
    if draw(st.integers(0, 9)) == 0:
        out[draw(hostile_text)] = draw(json_value)
    return out


def _id(n: dict[str, Any]) -> str:
    return f"{str(n.get('kind', '')).lower()}:{n.get('namespace')}/{n.get('name')}@{n.get('version')}"


@st.composite
def batch(draw: st.DrawFn) -> dict[str, Any]:
    nodes = draw(st.lists(node(), max_size=3))
    ids = [_id(n) for n in nodes] + ["dataset:sandbox/scratch@1", "dataset:nowhere/x@1"]
    edges = [
        {"from": draw(st.sampled_from(ids)), "type": draw(mostly(st.just("FEEDS"), st.sampled_from(["INPUT_TO", "X"]))),
         "to": draw(mostly(st.sampled_from(ids), hostile_text))}
        for _ in range(draw(st.integers(0, 2)))
    ]
    return {"nodes": nodes, "edges": edges}


@st.composite
def ol_event(draw: st.DrawFn) -> dict[str, Any]:
    def dataset() -> dict[str, Any]:
        out: dict[str, Any] = {"namespace": draw(name_text), "name": draw(name_text)}
        if draw(st.booleans()):
            out["facets"] = {draw(hostile_text): {"_producer": "p", "_schemaURL": "https://x", "v": draw(json_value)}}
        return out

    event: dict[str, Any] = {
        "eventType": draw(mostly(st.sampled_from(["START", "COMPLETE", "FAIL", "RUNNING"]),
                                 st.sampled_from(["BOGUS", None]))),
        "eventTime": draw(mostly(st.just("2026-11-20T10:00:00Z"),
                                 st.sampled_from(["yesterday", "2026-13-40T99:00:00Z", ""]))),
        "producer": draw(mostly(st.just("https://example.com/fuzz"), hostile_text)),
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": draw(mostly(st.uuids().map(str), hostile_text))},
        "job": {"namespace": draw(st.one_of(st.just("sandbox"), name_text)), "name": draw(name_text)},
        "inputs": [dataset() for _ in range(draw(st.integers(0, 2)))],
        "outputs": [dataset() for _ in range(draw(st.integers(0, 2)))],
    }
    for key in draw(mostly(st.just([]), st.lists(st.sampled_from(list(event)), max_size=2))):
        event[key] = draw(json_value)
    return event


def _dumps(value: Any) -> str:
    """JSON as a client sends it: lone surrogates as \\u escapes, NaN as the non-standard token."""
    return json.dumps(value, ensure_ascii=True)


# -- fixtures -------------------------------------------------------------------------------------


class Tally:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.counts: Counter[str] = Counter()

    def report(self) -> None:
        print(f"\nfuzz {self.channel}: " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, GraphStore, dict[str, str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'lineage.db'}"
    with open_store(url) as store:
        secrets = seed(store)
    app = create_app(app_settings(url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app.state.services.store, secrets


def _state(store: GraphStore) -> dict[str, int]:
    counts = store.counts()
    return {k: counts[k] for k in ("nodes", "edges", "audit_entries")}


# -- channels -------------------------------------------------------------------------------------


def test_fuzz_graphql_register(server: tuple[TestClient, GraphStore, dict[str, str]]) -> None:
    client, store, secrets = server
    tally = Tally("GraphQL register")
    headers = {"Authorization": f"Bearer {secrets['writer_all']}", "content-type": "application/json"}
    query = "mutation($b: BatchInput!) { register(batch: $b) { changed } }"

    @FUZZ
    @given(batch())
    def one(b: dict[str, Any]) -> None:
        for n in b["nodes"]:  # GraphQL spells kinds as enum values
            if n["kind"] in ("Dataset", "Feature", "Model", "Run", "Deployment", "CodeCommit"):
                n["kind"] = n["kind"].upper()
        before = _state(store)
        response = client.post("/graphql", content=_dumps({"query": query, "variables": {"b": b}}), headers=headers)
        tally.counts["inputs"] += 1
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text
        body = response.json()
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
        assert codes <= CODES, body
        if codes:
            tally.counts["refused"] += 1
            if _state(store) != before:
                tally.counts["partial writes"] += 1
            assert _state(store) == before, b
        else:
            tally.counts["accepted"] += 1

    one()
    tally.report()


@pytest.mark.parametrize("many", [False, True], ids=["single", "batch"])
def test_fuzz_openlineage(server: tuple[TestClient, GraphStore, dict[str, str]], many: bool) -> None:
    client, store, secrets = server
    tally = Tally(f"OpenLineage {'batch' if many else 'single'}")
    # single events from a writer limited to 'sandbox' (scope refusals), batches from an unlimited one
    who = "writer_all" if many else "writer"
    headers = {"Authorization": f"Bearer {secrets[who]}", "content-type": "application/json"}

    @FUZZ
    @given(st.lists(ol_event(), min_size=1, max_size=3) if many else ol_event())
    def one(payload: Any) -> None:
        before = {**_state(store), "raw": store.counts()["raw_events"]}
        path = "/api/v1/lineage/batch" if many else "/api/v1/lineage"
        response = client.post(path, content=_dumps(payload), headers=headers)
        tally.counts["inputs"] += 1
        assert response.status_code in (201, 207, 400, 403, 413), response.text
        assert "Traceback" not in response.text
        body = response.json()
        if response.status_code in (201, 207):
            results = body.get("results", [body])
            assert {r.get("code") for r in results if r.get("status") == "error"} <= CODES, body
            tally.counts["accepted" if response.status_code == 201 else "partly accepted"] += 1
        else:
            assert {e["extensions"]["code"] for e in body["errors"]} <= CODES, body
            tally.counts["refused"] += 1
            after = {**_state(store), "raw": store.counts()["raw_events"]}
            if after != before:
                tally.counts["partial writes"] += 1
            assert after == before, payload

    one()
    tally.report()


def test_fuzz_cli_batch_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    open_store(url).close()
    tally = Tally("CLI register --file")
    runner = CliRunner()
    app = build_app()

    @FUZZ
    @given(batch(), st.sampled_from([".json", ".yaml"]))
    def one(b: dict[str, Any], suffix: str) -> None:
        path = tmp_path / f"batch{suffix}"
        text = _dumps(b)  # JSON is YAML too (YAML reads the \\u escapes the same way)
        path.write_text(text)
        with open_store(url) as store:
            before = _state(store)
        result = runner.invoke(app, ["register", "--file", str(path), "--store", url], env={"LINEAGE_ACTOR": "fuzz"})
        tally.counts["inputs"] += 1
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in (result.output or "")
        assert result.exit_code in (0, 2), (result.exit_code, result.output)
        if result.exit_code == 2:
            tally.counts["refused"] += 1
            assert "error [" in result.output
            with open_store(url) as store:
                if _state(store) != before:
                    tally.counts["partial writes"] += 1
                assert _state(store) == before
        else:
            tally.counts["accepted"] += 1

    one()
    tally.report()


def test_strategies_reach_the_hostile_cases() -> None:
    """The generators do produce the inputs this suite is about (a guard against a silent no-op)."""
    assert math.isnan(float("nan"))
    seen = {"\ud800" in _dumps(x) or "\\ud800" in _dumps(x) for x in [{"a": "\ud800"}]}
    assert seen == {True}
