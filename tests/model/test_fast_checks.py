"""The quick checks that let a mapping skip validation agree with the model's own validation."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from lineage.model import Batch, NodeKind, NodeSpec, parse_batch
from lineage.model.batch import (
    json_properties,
    plain_batch,
    plain_document,
    plain_json,
    prevalidated_node,
    valid_owner,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)


@given(st.text(max_size=210) | st.sampled_from(["team\n", "a\x00b", "", "x" * 200, "x" * 201]))
def test_an_owner_the_quick_check_accepts_is_one_the_model_keeps_as_it_is(owner: str) -> None:
    try:
        spec = NodeSpec(kind=NodeKind.DATASET, namespace="n", name="t", version="1", owners=[owner])
    except Exception:
        assert not valid_owner(owner), repr(owner)
    else:
        assert spec.owners == [owner]
        assert valid_owner(owner), repr(owner)


@given(st.dictionaries(st.text(max_size=4), JSON, max_size=4))
def test_plain_properties_are_what_validation_gives_back(props: dict[str, Any]) -> None:
    if plain_json(props):
        assert json_properties(props) == props
    else:
        assert any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(props))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


# -- Whole batches: what plain_batch accepts, it builds exactly as validation would -----------------

def _mostly(good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a good value, sometimes an odd one (that validation converts or refuses)."""
    return st.integers(0, 5).flatmap(lambda i: odd if i == 0 else good)


KINDS = _mostly(st.sampled_from(["Dataset", "dataset", "RUN", "Model", "Deployment"]),
                st.sampled_from(["Table", "", 1, None]))
PART = _mostly(st.sampled_from(["w", "orders", "a b", "x/y", "p@q", "ünï"]) | st.integers(0, 10**20),
               st.sampled_from([" ", "", "\x01", "x" * 513, True, 1.5, None]) | st.text(max_size=3))
IDS = _mostly(st.sampled_from(["dataset:w/orders@1", "run:ci/train@42", "model:ml/churn@3", "deployment:prod/api"]),
              st.sampled_from(["dataset:w/orders", "table:w/a@1", "dataset:w/a b@1", "dataset:w%2Fx/a@1",
                               "dataset:w/a@%40", 7, None]))
EDGE_TYPES = _mostly(st.sampled_from(["INPUT_TO", "produced", "Feeds", "DEPLOYED_AS"]), st.sampled_from(["LINKS", 3]))
OWNERS = st.lists(_mostly(st.sampled_from(["team-a", "ops@example.com"]),
                          st.sampled_from(["", "a\nb", "x" * 201, 5])), max_size=2)
PROPERTIES = _mostly(
    st.dictionaries(st.text(max_size=3) | st.just("status"), JSON | st.sampled_from(["COMPLETE", "FAIL"]), max_size=3),
    st.sampled_from([[1], None, {1: "a"}, {"status": "OK"}, {"x": float("nan")}, {"t": (1, 2)}]),
)
WHEN = _mostly(st.none(), st.sampled_from(["2024-01-02T03:04:05Z", "yesterday", 0]))


def _maybe(draw: st.DrawFn, key: str, value: st.SearchStrategy[Any], into: dict[str, Any], p: int = 2) -> None:
    if draw(st.integers(0, p)) > 0:
        into[key] = draw(value)


@st.composite
def node_documents(draw: st.DrawFn) -> Any:
    node: dict[str, Any] = {}
    _maybe(draw, "kind", KINDS, node, 30)
    _maybe(draw, "namespace", PART, node, 30)
    _maybe(draw, "name", PART, node, 30)
    _maybe(draw, "version", PART, node, 6)
    _maybe(draw, "event_time", WHEN, node, 1)
    _maybe(draw, "owners", OWNERS, node, 1)
    _maybe(draw, "properties", PROPERTIES, node, 1)
    if draw(st.integers(0, 30)) == 0:
        node["extra"] = 1
    return node if draw(st.integers(0, 30)) else "not a node"


@st.composite
def edge_documents(draw: st.DrawFn) -> Any:
    edge: dict[str, Any] = {}
    _maybe(draw, "from", IDS, edge, 30)
    if draw(st.integers(0, 20)) == 0:
        edge["source"] = draw(IDS)
    _maybe(draw, "type", EDGE_TYPES, edge, 30)
    _maybe(draw, "to", IDS, edge, 30)
    _maybe(draw, "event_time", WHEN, edge, 1)
    _maybe(draw, "properties", PROPERTIES, edge, 1)
    return edge


BATCHES = st.fixed_dictionaries(
    {}, optional={"nodes": st.lists(node_documents(), max_size=3), "edges": st.lists(edge_documents(), max_size=3)},
)


def _validated(document: dict[str, Any]) -> Batch | None:
    try:
        return Batch.model_validate(document)
    except PydanticValidationError:
        return None


DUMP: dict[str, Any] = {"mode": "json", "by_alias": True, "exclude_defaults": True}


def _same(quick: Batch, full: Batch) -> None:
    assert quick == full
    assert quick.model_fields_set == full.model_fields_set
    for a, b in zip([*quick.nodes, *quick.edges], [*full.nodes, *full.edges], strict=True):
        assert type(a) is type(b) and a.__dict__ == b.__dict__ and a.model_fields_set == b.model_fields_set
        assert list(a.__dict__) == list(b.__dict__) and a.id == b.id
    assert quick.model_dump(**DUMP) == full.model_dump(**DUMP)


@settings(max_examples=400)
@given(BATCHES)
def test_a_batch_the_quick_check_accepts_is_the_one_validation_builds(document: dict[str, Any]) -> None:
    quick = plain_batch(document)
    full = _validated(document)
    if quick is not None:
        assert full is not None, document
        _same(quick, full)
    if full is not None:
        direct = plain_document(full)
        if direct is not None:
            assert direct == full.model_dump(**DUMP)
            assert _keys(direct) == _keys(full.model_dump(**DUMP))
        else:
            assert any(x.event_time is not None for x in [*full.nodes, *full.edges]), document


def _keys(document: dict[str, Any]) -> list[Any]:
    """Every key in document order, nested ones included."""
    return [(k, _keys(v) if isinstance(v, dict) else [_keys(i) for i in v if isinstance(i, dict)]
             if isinstance(v, list) else None) for k, v in document.items()]


PLAIN_NODES = st.fixed_dictionaries(
    {"kind": st.sampled_from(["Dataset", "run"]), "namespace": st.sampled_from(["w", "ci", 3]),
     "name": st.sampled_from(["orders", "a b", "x/y"]), "version": st.sampled_from(["1", "v@2", 42])},
    optional={"owners": st.lists(st.sampled_from(["team-a", "ops@example.com"]), max_size=2),
              "properties": st.dictionaries(st.text(max_size=3), JSON, max_size=3).filter(plain_json),
              "event_time": st.none()},
)


@given(st.lists(PLAIN_NODES, max_size=4), st.lists(st.sampled_from([
    {"from": "dataset:w/orders@1", "type": "input_to", "to": "run:ci/train@42"},
    {"from": "run:ci/train@42", "type": "PRODUCED", "to": "model:ml/churn@3", "properties": {"b": 1, "a": [0.5]}},
]), max_size=2))
def test_a_plain_batch_skips_building_validators_and_equals_the_validated_one(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> None:
    document = {"nodes": nodes, "edges": edges}
    quick = plain_batch(document)
    assert quick is not None, document
    full = _validated(document)
    assert full is not None
    _same(quick, full)
    assert parse_batch(document) == full
    assert plain_document(quick) == full.model_dump(**DUMP)


@settings(max_examples=300)
@given(
    kind=st.sampled_from([NodeKind.RUN, NodeKind.RUN, *NodeKind]),
    namespace=st.sampled_from(["w", "ns", "w", "", " ", "a\x01", "x" * 300]),
    name=st.sampled_from(["orders", "a b", "x/y", ""]),
    version=st.sampled_from(["1", "v@2", "1", None, ""]),
    owners=st.lists(st.sampled_from(["team-a", "ops@example.com", "team-a", "bad\n", ""]), max_size=2),
    properties=st.fixed_dictionaries(
        {}, optional={"status": st.sampled_from(["COMPLETE", "DONE", 3, None]), "rows": JSON}
    ),
    event_time=st.none() | st.datetimes(timezones=st.none() | st.timezones()),
)
@example(NodeKind.RUN, "ci", "train", "1", [], {"status": "DONE"}, None)
@example(NodeKind.DATASET, "w", "t", "1", [], {"x": math.nan}, None)
@example(NodeKind.DEPLOYMENT, "prod", "api", "1", [], {}, None)
def test_a_node_taken_as_it_is_is_the_one_validation_builds(
    kind: NodeKind, namespace: str, name: str, version: str | None, owners: list[str], properties: dict[str, Any],
    event_time: Any,
) -> None:
    """What the OpenLineage mapping and plain batches build without the validator equals NodeSpec's
    validation of the same parts, times included."""
    quick = prevalidated_node(kind, namespace, name, version, owners, properties, event_time)
    try:
        full = NodeSpec(kind=kind, namespace=namespace, name=name, version=version, owners=owners,
                        properties=properties, event_time=event_time)
    except PydanticValidationError:
        assert quick is None
        return
    if quick is not None:
        assert quick == full and quick.id == full.id and quick.event_time == full.event_time
