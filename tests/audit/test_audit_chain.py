"""The hash chain itself: canonical encoding, sealing and verification, without any store."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.audit import GENESIS, AuditEntry, canonical, digest, seal, verify

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def chain(n: int, start: datetime = T0) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        entry = seal(
            seq=i,
            at=start + timedelta(seconds=i),
            principal=f"user:{i % 3}",
            source="test",
            action="register" if i % 2 else "retract",
            subjects=[f"dataset:w/n{i}@1"],
            payload={"i": i, "batch": {"nodes": [{"name": f"n{i}"}]}},
            prev_hash=prev,
        )
        out.append(entry)
        prev = entry.hash
    return out


def test_canonical_is_sorted_compact_utf8() -> None:
    expected = '{"a":[1,2],"b":1,"c":{"y":"é","z":null}}'.encode()
    assert canonical({"b": 1, "a": [1, 2], "c": {"z": None, "y": "é"}}) == expected
    assert canonical({"b": 1, "a": 2}) == canonical({"a": 2, "b": 1})
    assert canonical("ü✓") == '"ü✓"'.encode()


def test_digest_is_sha256_of_the_canonical_bytes() -> None:
    value = {"x": [1, "two"], "y": {"k": True}}
    assert digest(value) == hashlib.sha256(canonical(value)).hexdigest()
    assert len(digest(value)) == 64 and digest(value) != digest({"x": [1, "two"], "y": {"k": False}})


@settings(max_examples=80, deadline=None)
@given(value=json_values, seed=st.integers(0, 2**32))
def test_canonical_is_deterministic(value: Any, seed: int) -> None:
    """Same value, any key order, after a JSON round trip: same bytes, same digest."""

    def shuffled(v: Any, rng: random.Random) -> Any:
        if isinstance(v, dict):
            items = list(v.items())
            rng.shuffle(items)
            return {k: shuffled(x, rng) for k, x in items}
        if isinstance(v, list):
            return [shuffled(x, rng) for x in v]
        return v

    again = shuffled(json.loads(json.dumps(value)), random.Random(seed))
    assert canonical(again) == canonical(value)
    assert digest(again) == digest(value)
    assert json.loads(canonical(value)) == value


def test_sealed_chain_verifies() -> None:
    entries = chain(6)
    result = verify(entries)
    assert result.ok and result.entries == 6 and result.head == entries[-1].hash
    assert result.first_bad_seq is None and result.problem is None
    assert verify(entries, expect_head=entries[-1].hash).ok
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


def test_empty_chain() -> None:
    assert verify([]).ok and verify([]).head == GENESIS
    assert verify([], expect_head=GENESIS).ok
    assert not verify([], expect_head="f" * 64).ok


def test_hash_covers_the_header_fields() -> None:
    entry = chain(1)[0]
    assert entry.payload_digest == digest(entry.payload)
    assert entry.hash == digest(entry.header())
    assert set(entry.header()) == {"seq", "at", "principal", "source", "action", "subjects", "payload_digest",
                                   "prev_hash"}


def test_time_zone_of_the_entry_time_does_not_change_the_hash() -> None:
    here = timezone(timedelta(hours=5, minutes=30))
    a = seal(seq=1, at=T0, principal="p", source="s", action="a", subjects=[], payload={}, prev_hash=GENESIS)
    b = seal(seq=1, at=T0.astimezone(here), principal="p", source="s", action="a", subjects=[], payload={},
             prev_hash=GENESIS)
    assert a.hash == b.hash


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("principal", "user:mallory", "hash does not match"),
        ("source", "api", "hash does not match"),
        ("action", "annotate.tag", "hash does not match"),
        ("subjects", ("dataset:w/other@1",), "hash does not match"),
        ("at", T0 + timedelta(days=1), "hash does not match"),
        ("payload", {"i": 999}, "payload does not match its digest"),
        ("prev_hash", "0" * 63 + "1", "prev_hash does not match"),
        ("seq", 7, "missing"),
        ("seq", 2, "duplicated or reordered"),
    ],
)
def test_any_altered_field_is_found_at_its_entry(field: str, value: Any, words: str) -> None:
    entries = chain(6)
    entries[3] = dataclasses.replace(entries[3], **{field: value})
    result = verify(entries)
    assert not result.ok
    assert result.first_bad_seq == 4
    assert result.problem is not None and result.problem.startswith("entry 4:") and words in result.problem
    assert result.head == entries[2].hash  # the last good hash


def test_removed_reordered_inserted_entries() -> None:
    entries = chain(6)
    removed = entries[:2] + entries[3:]
    assert verify(removed).first_bad_seq == 3 and "missing" in (verify(removed).problem or "")
    swapped = [entries[0], entries[2], entries[1], *entries[3:]]
    assert verify(swapped).first_bad_seq == 2
    # swapping the sequence numbers too: the numbers fit, the hashes do not
    renumbered_swap = [entries[0], dataclasses.replace(entries[2], seq=2), dataclasses.replace(entries[1], seq=3),
                       *entries[3:]]
    assert verify(renumbered_swap).first_bad_seq == 2
    # a forged entry sealed onto entry 2 fits there, but entry 3 no longer follows it
    forged = seal(seq=3, at=T0, principal="x", source="x", action="x", subjects=[], payload={},
                  prev_hash=entries[1].hash)
    renumbered = [dataclasses.replace(e, seq=e.seq + 1) for e in entries[2:]]
    result = verify([*entries[:2], forged, *renumbered])
    assert result.first_bad_seq == 4
    # dropping the tail is invisible without the anchored head, and found with it
    assert verify(entries[:4]).ok
    cut = verify(entries[:4], expect_head=entries[-1].hash)
    assert not cut.ok and cut.first_bad_seq == 5 and "removed from the end" in (cut.problem or "")


def _standard(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


# Values where a fast encoder and the standard library could spell the same thing differently.
awkward_leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text() | st.sampled_from(["a:1.5,", ":1e5]", "\u2028", "\x7f", "\x00", "é", "😀", '"', "\\"])
    | st.datetimes(timezones=st.just(UTC))
)


@settings(max_examples=400, deadline=None)
@given(st.recursive(
    awkward_leaves,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=30,
))
def test_canonical_is_the_standard_encoding_whatever_encodes_it(value: Any) -> None:
    """Big payloads may be encoded by a faster library, but never to different bytes."""
    assert canonical(value) == _standard(value)
    assert canonical({"v": value}) == _standard({"v": value})
    assert canonical([value, {"k": [value]}]) == _standard([value, {"k": [value]}])


@settings(max_examples=300, deadline=None)
@given(st.lists(
    st.text(alphabet=st.characters(codec=None, exclude_categories=[]))
    | st.sampled_from(["1.5", "1e-07", "-0.0", "\ud800", "a\udfffb", "\u2028", "\x00", '"', "\\", "é"]),
    max_size=8,
))
def test_a_list_of_texts_is_encoded_as_the_standard_library_does(texts: list[str]) -> None:
    """Lists of ids take a shorter way (they hold no number); the bytes are the same, and text
    the fast encoder refuses (lone surrogates) still goes the standard way, and fails as it does."""

    def outcome(encode: Any) -> Any:
        try:
            return encode(texts)
        except UnicodeError as exc:
            return type(exc)

    assert outcome(canonical) == outcome(_standard)


@pytest.mark.parametrize(
    "number", [1e16, 1e22, 1e-7, 1e-5, 5e-324, 1.7976931348623157e308, 1e15, 0.0001, 123e20, -0.0, 100.0, 2.0**70]
)
def test_canonical_spells_floats_as_python_does(number: float) -> None:
    for value in ({"a": number}, [number], [1, number, "x"], {"a": {"b": [number, number]}}):
        assert canonical(value) == _standard(value)
