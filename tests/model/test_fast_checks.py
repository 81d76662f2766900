"""The quick checks that let a mapping skip validation agree with the model's own validation."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lineage.model import NodeKind, NodeSpec
from lineage.model.batch import json_properties, plain_json, valid_owner

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
