"""The canonical bytes of a fact do not depend on which encoder produced them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.audit import facts
from lineage.model import EdgeType, NodeKind

fields = st.lists(
    st.none()
    | st.integers()
    | st.text()
    | st.sampled_from(list(NodeKind))
    | st.sampled_from(list(EdgeType))
    | st.sampled_from(["\u2028", "\x7f", "\x00", "é", "😀", '"', "\\", "\ud800"]),
    max_size=9,
)


def _standard(stream: str, values: list[Any]) -> bytes:
    return json.dumps([stream, *values], separators=(",", ":"), ensure_ascii=False).encode()



@settings(max_examples=400, deadline=None)
@given(st.sampled_from(facts.STREAMS), fields)
def test_a_fact_encodes_as_the_standard_library_encodes_it(stream: str, values: list[Any]) -> None:
    try:
        expected = _standard(stream, values)
    except UnicodeEncodeError:  # a lone surrogate cannot be stored either
        return
    assert facts.encode(stream, values) == expected


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(facts.STREAMS), st.lists(fields, max_size=80))
def test_many_facts_sum_as_one_at_a_time(stream: str, rows: list[list[Any]]) -> None:
    try:
        for values in rows:
            _standard(stream, values)
    except UnicodeEncodeError:
        return
    one, many = facts.Writes(), facts.Writes()
    for values in rows:
        one.add(stream, values)
    many.add_many(stream, rows)
    assert one.record() == many.record()
