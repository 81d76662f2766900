"""Merging what events say into node properties, so that arrival order and repeats do not matter.

Every property an event sets is a *claim* with a rank and the event time. The stored value is the
greatest claim by (rank, event time, canonical JSON of the value), and the winning rank and time
are kept under ``_ol`` so later claims can be compared. Merging is therefore commutative,
associative and idempotent: the same events in any order, any number of times, give the same
properties. Times merge as min (``started_at``, ``first_event_at``, ``produced_at``) or max
(``ended_at``, ``last_event_at``); lists merge as sorted unions.

A run's state is a claim ranked by how final it is: OTHER < START < RUNNING < COMPLETE, FAIL, ABORT.
A terminal state wins over START or RUNNING whenever it arrives; between terminal states the later
event wins (at equal times FAIL beats COMPLETE beats ABORT, by name, so the choice is stable).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from lineage.ingest.openlineage_events import EventType

BOOK = "_ol"
_NESTED = ("run_facets", "job_facets", "dataset_facets")

STATUS_RANK = {
    EventType.OTHER: 0,
    EventType.START: 1,
    EventType.RUNNING: 2,
    EventType.COMPLETE: 3,
    EventType.FAIL: 3,
    EventType.ABORT: 3,
}


def iso(value: datetime) -> str:
    """Fixed-width UTC ISO time, so stored times also compare correctly as text."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_MISSING = object()


def _get(props: dict[str, Any], key: str) -> Any:
    head, _, tail = key.partition(".")
    if tail and head in _NESTED:
        inner = props.get(head)
        return inner.get(tail, _MISSING) if isinstance(inner, dict) else _MISSING
    return props.get(key, _MISSING)


def _set(props: dict[str, Any], key: str, value: Any) -> None:
    head, _, tail = key.partition(".")
    if tail and head in _NESTED:
        inner = props.get(head)
        inner = dict(inner) if isinstance(inner, dict) else {}
        inner[tail] = value
        props[head] = dict(sorted(inner.items()))
    else:
        props[key] = value


def merge_claims(props: dict[str, Any], claims: dict[str, Any], rank: int, at: datetime) -> None:
    """Apply claims in place: each key keeps the greatest (rank, time, value)."""
    if not claims:
        return
    book = dict(props.get(BOOK) or {})
    when = iso(at)
    for key, value in claims.items():
        current = _get(props, key)
        mark = book.get(key)
        if (
            current is not _MISSING
            and isinstance(mark, list)
            and len(mark) == 2
            and not _wins(rank, when, value, mark, current)
        ):
            continue
        _set(props, key, value)
        book[key] = [rank, when]
    props[BOOK] = dict(sorted(book.items()))


def _wins(rank: int, when: str, value: Any, mark: list[Any], current: Any) -> bool:
    """Whether the claim (rank, when, value) is greater than the stored one; JSON only on a tie."""
    if (rank, when) != (mark[0], mark[1]):
        return bool((rank, when) > (mark[0], mark[1]))
    return canonical(value) > canonical(current)


def merge_min(props: dict[str, Any], key: str, at: datetime) -> None:
    when = iso(at)
    current = props.get(key)
    if not isinstance(current, str) or when < current:
        props[key] = when


def merge_max(props: dict[str, Any], key: str, at: datetime) -> None:
    when = iso(at)
    current = props.get(key)
    if not isinstance(current, str) or when > current:
        props[key] = when


def merge_union(props: dict[str, Any], key: str, values: Iterable[Any]) -> None:
    """Sorted union of JSON values (compared canonically)."""
    items = {canonical(v): v for v in (props.get(key) or [])}
    added = False
    for value in values:
        text = canonical(value)
        if text not in items:
            items[text] = value
            added = True
    if (added or key not in props) and items:
        props[key] = [items[k] for k in sorted(items)]


def merge_mentions(props: dict[str, Any], key: str, seen: Iterable[tuple[str, str]], at: datetime) -> None:
    """``[[namespace, name, [times]]]``: every event time at which the run mentioned each dataset."""
    when = iso(at)
    table = mentions(props, key)
    changed = False
    for ns, name in seen:
        times = table.setdefault((ns, name), [])
        if when not in times:
            times.append(when)
            changed = True
    if changed:
        props[key] = [[ns, name, sorted(times)] for (ns, name), times in sorted(table.items())]


def mentions(props: dict[str, Any], key: str) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for entry in props.get(key) or []:
        if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], list):
            out[(entry[0], entry[1])] = [str(t) for t in entry[2]]
    return out


def merge_run_event(
    stored: dict[str, Any] | None,
    *,
    namespace: str,
    name: str,
    run_id: str,
    event_type: EventType,
    at: datetime,
    producer: str,
    claims: dict[str, Any],
) -> dict[str, Any]:
    """A run's properties after one more event (``stored`` is not modified)."""
    props = dict(stored) if stored else {}  # values are replaced, never changed in place
    props["job"] = name
    props["job_namespace"] = namespace
    props["run_id"] = run_id
    merge_claims(props, {"status": event_type.value}, STATUS_RANK[event_type], at)
    merge_claims(props, {"producer": producer, **claims}, 0, at)
    merge_min(props, "first_event_at", at)
    merge_max(props, "last_event_at", at)
    if event_type in (EventType.START, EventType.RUNNING):
        merge_min(props, "started_at", at)
    if event_type.terminal:
        merge_max(props, "ended_at", at)
    merge_union(props, "event_types", [event_type.value])
    return props


def merge_dataset_mention(
    stored: dict[str, Any] | None,
    *,
    claims: dict[str, Any],
    rank: int,
    at: datetime,
    produced_by: str | None = None,
    placeholder: bool = False,
) -> dict[str, Any]:
    """A dataset version's properties after one more mention (as output, input or dataset event)."""
    props = dict(stored) if stored else {}  # values are replaced, never changed in place
    if placeholder:
        props["placeholder"] = True
    merge_claims(props, claims, rank, at)
    if produced_by is not None:
        merge_min(props, "produced_at", at)
        merge_union(props, "produced_by", [produced_by])
    return props


def merge_props(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Join two property sets built by these rules (used when a run's output turns out pinned)."""
    props = dict(into)
    book = other.get(BOOK) or {}
    for key, mark in book.items():
        value = _get(other, key)
        if value is _MISSING or not (isinstance(mark, list) and len(mark) == 2):
            continue
        merge_claims(props, {key: value}, int(mark[0]), datetime.fromisoformat(mark[1]))
    for key in ("produced_at",):
        if isinstance(other.get(key), str):
            merge_min(props, key, datetime.fromisoformat(other[key]))
    if other.get("produced_by"):
        merge_union(props, "produced_by", other["produced_by"])
    return props
