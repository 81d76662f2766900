"""Batch validation: every bad element is named (``nodes[1].version``), nothing else is accepted."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml

from lineage.errors import ValidationError
from lineage.model import ALLOWED_EDGES, Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec, edge_allowed, parse_batch
from lineage.model.kinds import allowed_targets


def ds(name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "Dataset", "namespace": "w", "name": name, "version": "1", **extra}


def message(raw: Any) -> str:
    with pytest.raises(ValidationError) as info:
        parse_batch(raw)
    assert info.value.code == "BAD_INPUT" and info.value.exit_code == 2
    return info.value.message


def test_a_valid_batch() -> None:
    batch = parse_batch({
        "nodes": [ds("a"), {"kind": "deployment", "namespace": "prod", "name": "svc"}],
        "edges": [{"from": "dataset:w/a@1", "type": "feeds", "to": "deployment:prod/svc"}],
    })
    assert [n.id for n in batch.nodes] == ["dataset:w/a@1", "deployment:prod/svc"]
    assert batch.nodes[1].kind is NodeKind.DEPLOYMENT and batch.edges[0].type is EdgeType.FEEDS
    assert batch.edges[0].id == "dataset:w/a@1 -FEEDS-> deployment:prod/svc"
    assert len(batch) == 3


@pytest.mark.parametrize(
    ("raw", "where", "words"),
    [
        ({"nodes": [ds("a"), {"kind": "Dataset", "namespace": "w", "name": "b"}]}, "nodes[1].version",
         "needs a version"),
        ({"nodes": [ds("a"), ds("b"), {"kind": "Run", "namespace": "ci", "name": "job"}]}, "nodes[2].version",
         "needs a run id"),
        ({"nodes": [{"kind": "Deployment", "namespace": "p", "name": "s", "version": "2"}]}, "nodes[0].version",
         "has no version"),
        ({"nodes": [ds("a"), {"kind": "Table", "namespace": "w", "name": "b", "version": "1"}]}, "nodes[1].kind",
         "unknown kind 'Table'"),
        ({"nodes": [{"namespace": "w", "name": "b", "version": "1"}]}, "nodes[0].kind", "Field required"),
        ({"nodes": [ds("a", namespace="")]}, "nodes[0].namespace", "must not be empty"),
        ({"nodes": [ds("a", version="x" * 600)]}, "nodes[0].version", "longer than 512"),
        ({"nodes": [ds("a", owners=[""])]}, "nodes[0].owners[0]", "at least 1"),
        ({"nodes": [ds("a", event_time="yesterday")]}, "nodes[0].event_time", "datetime"),
        ({"nodes": [ds("a", properties={"x": float("nan")})]}, "nodes[0].properties", "NaN"),
        ({"nodes": [ds("a", properties={"x": float("inf")})]}, "nodes[0].properties", "Infinity"),
        ({"nodes": [ds("a", properties=[1])]}, "nodes[0].properties", "dictionary"),
        ({"nodes": [{"kind": "Run", "namespace": "ci", "name": "j", "version": "1", "properties": {"status": "OK"}}]},
         "nodes[0].properties", "run status 'OK'"),
        ({"edges": [{"from": "dataset:w/a@1", "type": "FEEDS", "to": "dataset:w/b"}]}, "edges[0].to",
         "malformed node id"),
        ({"edges": [{"from": "dataset:w/a@1", "to": "dataset:w/b@1"}]}, "edges[0].type", "Field required"),
        ({"edges": [{"from": "dataset:w/a@1", "type": "FEEDS", "to": "dataset:w/b@1", "weight": 2}]},
         "edges[0].weight", "xtra"),
        ({"nodes": [ds("a")], "extra": []}, "extra", "xtra"),
        ({"nodes": "a"}, "nodes", "valid list"),
    ],
)
def test_errors_name_the_element(raw: Any, where: str, words: str) -> None:
    text = message(raw)
    assert text.startswith("invalid batch: ")
    assert f"{where}: " in text, text
    assert words in text, text


def test_every_bad_element_is_named_once() -> None:
    text = message({"nodes": [ds("ok"), {"kind": "Dataset", "namespace": "w", "name": "b"}, ds("ok2"),
                              {"kind": "Run", "namespace": "w", "name": "r"}]})
    assert "nodes[1].version" in text and "nodes[3].version" in text
    assert "nodes[0]" not in text and "nodes[2]" not in text


def test_long_error_lists_are_cut() -> None:
    text = message({"nodes": [{"kind": "Dataset", "namespace": "w", "name": f"n{i}"} for i in range(30)]})
    assert "nodes[19].version" in text and "nodes[20]" not in text and "... and 10 more" in text


@pytest.mark.parametrize("raw", [None, [], "nodes: []", 3])
def test_a_batch_must_be_an_object(raw: Any) -> None:
    assert "must be an object" in message(raw)


def test_properties_are_stored_as_plain_json() -> None:
    """YAML gives dates and times; they become the ISO strings they would be in JSON."""
    doc = yaml.safe_load(
        "nodes:\n"
        "  - {kind: Dataset, namespace: w, name: a, version: '1',\n"
        "     properties: {day: 2026-11-20, at: 2026-11-20T03:00:00Z, n: 3, nested: {1: [x, 2026-01-02]}}}\n"
    )
    assert isinstance(doc["nodes"][0]["properties"]["day"], date)
    props = parse_batch(doc).nodes[0].properties
    assert props == json.loads(json.dumps(props))
    assert props["day"] == "2026-11-20"
    assert datetime.fromisoformat(props["at"].replace("Z", "+00:00")) == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert props["nested"] == {"1": ["x", "2026-01-02"]}


def test_event_times_are_utc() -> None:
    node = NodeSpec(kind=NodeKind.DATASET, namespace="w", name="a", version="1",
                    event_time=datetime(2026, 11, 20, 3, 0))  # naive: taken as UTC
    assert node.event_time == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    edge = EdgeSpec.model_validate({"from": "dataset:w/a@1", "type": "FEEDS", "to": "dataset:w/b@1",
                                    "event_time": "2026-11-20T05:00:00+02:00"})
    assert edge.event_time == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_specs_are_frozen() -> None:
    node = NodeSpec(kind=NodeKind.DATASET, namespace="w", name="a", version="1")
    with pytest.raises(Exception, match="frozen"):
        node.name = "b"  # type: ignore[misc]


def test_schema_triples() -> None:
    kinds = list(NodeKind)
    for src in kinds:
        for etype in EdgeType:
            targets = allowed_targets(src, etype)
            for dst in kinds:
                assert edge_allowed(src, etype, dst) == ((src, etype, dst) in ALLOWED_EDGES) == (dst in targets)
    # the documented sentences
    assert edge_allowed(NodeKind.DATASET, EdgeType.INPUT_TO, NodeKind.RUN)
    assert edge_allowed(NodeKind.RUN, EdgeType.PRODUCED, NodeKind.MODEL)
    assert edge_allowed(NodeKind.CODE_COMMIT, EdgeType.EXECUTED_IN, NodeKind.RUN)
    assert edge_allowed(NodeKind.FEATURE, EdgeType.FEEDS, NodeKind.DEPLOYMENT)
    assert edge_allowed(NodeKind.MODEL, EdgeType.DEPLOYED_AS, NodeKind.DEPLOYMENT)
    assert not edge_allowed(NodeKind.RUN, EdgeType.INPUT_TO, NodeKind.RUN)
    assert not edge_allowed(NodeKind.DEPLOYMENT, EdgeType.FEEDS, NodeKind.DATASET)
    # nothing flows out of a deployment, nothing into a commit
    assert not any(s is NodeKind.DEPLOYMENT or d is NodeKind.CODE_COMMIT for s, _, d in ALLOWED_EDGES)


def test_json_schema_documents_the_file_format() -> None:
    schema = Batch.model_json_schema(by_alias=True)
    edge = schema["$defs"]["EdgeSpec"]
    assert {"from", "type", "to"} <= set(edge["properties"]) and set(edge["required"]) >= {"from", "to", "type"}
    node = schema["$defs"]["NodeSpec"]
    assert set(node["required"]) == {"kind", "namespace", "name"}
    assert {k.value for k in NodeKind} <= set(json.dumps(schema["$defs"]).split('"'))
