"""The OpenLineage endpoint's body parser reads exactly what the standard JSON parser reads.

Bodies are parsed with orjson for speed; whatever it reads differently (integers beyond 64 bits) or
refuses (NaN, lone surrogates, a byte-order mark, very deep nesting) must give the same value, or
the same error, as ``json.loads`` followed by the document check. A body the fast path marks as
checked must pass the document check.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.api.openlineage import parse_body
from lineage.errors import LineageError
from lineage.model.documents import MAX_NESTING, check_document

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _standard(body: bytes) -> tuple[str, Any]:
    """What the standard parser and the document check make of a body: a value or a refusal."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
        check_document(value)
    except RecursionError:  # the endpoint refuses a body too deep to parse as too deep
        return "refused", "TooDeepError"
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return "not JSON", None
    except LineageError as exc:
        return "refused", type(exc).__name__
    return "value", value


def _fast(body: bytes) -> tuple[str, Any]:
    """The same through the endpoint's parser (and the document check unless it is known to pass)."""
    try:
        parsed = parse_body(body)
        if not parsed.checked:
            check_document(parsed.value)
    except LineageError as exc:
        if "JSON" in exc.message and "nested" not in exc.message:
            return "not JSON", None
        return "refused", type(exc).__name__
    return "value", parsed.value


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types (1 and 1.0 are not the same JSON number)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(_json, st.booleans())
def test_any_json_document_reads_as_the_standard_parser_reads_it(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    standard, fast = _standard(body), _fast(body)
    assert standard[0] == fast[0]
    assert _same(standard[1], fast[1])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.sampled_from([b'{"a": NaN}', b"\xef\xbb\xbf{}", b'[1e400]', b'{"a": "\\udc00"}']))
def test_any_bytes_give_the_same_value_or_refusal(body: bytes) -> None:
    standard, fast = _standard(body), _fast(body)
    assert standard[0] == fast[0]
    assert _same(standard[1], fast[1])


def test_nesting_past_the_limit_is_refused_however_parsed() -> None:
    for depth in (MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1, 1_000, 5_000):
        body = (b"[" * depth) + (b"]" * depth)
        assert _standard(body)[0] == _fast(body)[0], depth


def test_a_small_event_needs_no_second_walk() -> None:
    body = json.dumps({"eventType": "START", "run": {"runId": "r"}, "job": {"namespace": "n", "name": "j"}}).encode()
    assert parse_body(body).checked
    assert not parse_body(b'{"a": "\\ud800"}').checked  # the standard parser read it: checked later
