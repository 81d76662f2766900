"""Stored node properties decode exactly as ``json.loads`` decodes them, whichever decoder runs."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from lineage.storage.sqlite import _loads_json

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types (1 and 1.0 differ; NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@settings(max_examples=500, deadline=None)
@example({"big": 2**64 - 1, "bigger": 2**64, "small": -(2**63) - 1, "digits": "1234567890123456789"})
@example({"nan": float("nan"), "inf": float("inf"), "tiny": 5e-324, "neg_zero": -0.0})
@example({"a": 1, "nested": [[{"b": [1.5, None, True]}]]})
@given(values)
def test_properties_decode_as_the_standard_library_decodes_them(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert _same(_loads_json(text), json.loads(text)), text


def test_text_only_the_standard_library_reads_is_read() -> None:
    for text in ('{"x": 1e400}', '{"x": NaN}', '{"x": "\\ud800"}', '{"a": 1, "a": 2}', "[" * 200 + "]" * 200):
        assert _same(_loads_json(text), json.loads(text)), text
