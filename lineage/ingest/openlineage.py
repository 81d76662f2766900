"""OpenLineage ingestion: validate, keep the raw event, map it into the graph.

Every accepted event is first kept unchanged in the store's landing zone
(:meth:`GraphStore.append_raw_event`), then mapped in one write transaction
(:mod:`lineage.ingest.openlineage_runs` plans it from the stored graph). An invalid event is
refused before anything is stored. Mapping is order-independent and idempotent, so re-sending
events, receiving them out of order, or replaying the landing zone (:func:`replay`) into a fresh
store all give the same graph.

>>> ingester = OpenLineageIngester(store, principal="token:airflow")   # doctest: +SKIP
>>> ingester.ingest(event_json).subject                                  # doctest: +SKIP
'run:food_delivery/etl_menus@4d3b8069-69b6-4708-ade0-3275112c9f04'
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from lineage.errors import BackendUnavailableError, CycleError, ForbiddenError, LineageError, ValidationError
from lineage.ingest.openlineage_events import DatasetEvent, Event, JobEvent, RunEvent, parse_event
from lineage.ingest.openlineage_resolve import VersionCache
from lineage.ingest.openlineage_runs import EdgeKey, Plan, Planner
from lineage.ingest.openlineage_scope import Author, author_id, check_scope, is_scoped
from lineage.model import Batch, EdgeType
from lineage.model.batch import describe_errors
from lineage.storage.base import GraphStore, WriteTx, gc_paused
from lineage.storage.sqlite import SQLiteStore
from lineage.storage.writes import land_raw_events_in, register_in, retract_in

SOURCE = "openlineage"
#: What a store raises for a value it cannot keep (a lone surrogate, an integer beyond 64 bits).
_REFUSED = (UnicodeError, ValueError, OverflowError)
_DROPPABLE = (EdgeType.INPUT_TO, EdgeType.FEEDS)
_MAX_ATTEMPTS = 16
_log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    """What one event did: its kind, the node it is about, and what changed."""

    kind: str
    subject: str | None
    raw_seq: int | None = None
    nodes_created: int = 0
    nodes_updated: int = 0
    edges_created: int = 0
    retracted: int = 0
    dropped_edges: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.nodes_created or self.nodes_updated or self.edges_created or self.retracted)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "subject": self.subject,
            "raw_seq": self.raw_seq,
            "nodes_created": self.nodes_created,
            "nodes_updated": self.nodes_updated,
            "edges_created": self.edges_created,
            "retracted": self.retracted,
        }
        if self.dropped_edges:
            out["dropped_edges"] = self.dropped_edges
        return out


class _DryRun(Exception):
    """Rolls back a transaction that only checked what an event would do."""


class OpenLineageIngester:
    """Maps OpenLineage events into a store, recording writes under ``principal``.

    A :class:`~lineage.governance.access.Principal` limited to namespaces may only make the changes
    its scope allows (:mod:`lineage.ingest.openlineage_scope`); a plain name is trusted.

    Keep one per store and process: it caches dataset versions between events (see
    :class:`VersionCache`). Thread-safe: writes are serialised by the store.
    """

    def __init__(self, store: GraphStore, *, principal: Author, source: str = SOURCE) -> None:
        self.store = store
        self.principal = principal
        self.source = source
        self.cache = VersionCache()
        self._lock = threading.Lock()
        #: Several events may share one write transaction only where reads inside a write see it.
        self.groups = isinstance(store, SQLiteStore)

    def ingest(self, payload: Any, *, land: bool = True) -> Outcome:
        """Validate, keep the raw event (unless ``land`` is false), map. ValidationError stores nothing."""
        event = parse_event(payload)
        result = self.apply_many([event], payloads=[payload] if land else None)[0]
        if isinstance(result, LineageError):
            raise result
        return result

    def ingest_many(
        self, payloads: Sequence[Any], *, land: bool = True, principal: Author | None = None
    ) -> list[Outcome | LineageError]:
        """Validate every event first (one invalid event stores nothing), then keep and map them.

        Events are landed and mapped in one transaction where the store allows it. A mapping error
        (e.g. a retracted run) does not stop the others: it is returned in place of that event's
        outcome.
        """
        events = [parse_event(p, where=f"[{i}]") for i, p in enumerate(payloads)]
        return self.apply_many(events, principal=principal, payloads=list(payloads) if land else None)

    def apply(self, event: Event, *, principal: Author | None = None, raw_seq: int | None = None) -> Outcome:
        """Map one validated event in one write transaction, retrying without any edge that would
        close a cycle (which only same-timestamp events can produce)."""
        who = principal or self.principal
        avoid: set[EdgeKey] = set()
        for _attempt in range(_MAX_ATTEMPTS):
            planned: list[Plan] = [Plan()]
            try:
                with self._lock:
                    work = functools.partial(self._apply_once, event, who, avoid, planned, raw_seq)
                    outcome = self._transact(work)
                outcome.dropped_edges = [f"{s} -{t.value}-> {d}" for s, t, d in sorted(avoid)]
                return outcome
            except CycleError as exc:
                self.cache.invalidate()
                cycle = set(exc.details.get("cycle") or [])
                edges = planned[0].edges
                culprits = {k for k in edges if k[1] in _DROPPABLE and k[0] in cycle and k[2] in cycle} - avoid
                if not culprits:
                    raise
                avoid.add(max(culprits))  # one at a time, the same one whatever the arrival order
            except BaseException:
                self.cache.invalidate()
                raise
        raise CycleError(f"could not map the event without a cycle after {_MAX_ATTEMPTS} attempts")

    def apply_many(
        self,
        events: Sequence[Event],
        *,
        principal: Author | None = None,
        principals: Sequence[Author] | None = None,
        payloads: Sequence[Any] | None = None,
    ) -> list[Outcome | LineageError]:
        """Map events in order; in one transaction where possible, else (or on any error) one by one.

        ``principals`` gives each event its own author (events of several requests mapped together);
        ``payloads``, when given, are the raw events to land first (in the same transaction when
        the store's transactions can hold them).

        One event never fails another: when a group fails for any reason, its members are redone
        one at a time, and each gets its own outcome or error (an event the store refuses to keep
        is answered BAD_INPUT naming the reason; an unexpected failure INTERNAL, for that event only).
        A store that is unavailable (BACKEND_UNAVAILABLE: unreachable, locked, full) fails no event
        of its own: the events from the first one it refused on get that error, untried, and none
        of them was written.

        Python's cycle collector is paused meanwhile: mapping builds many short-lived objects and no
        cycles worth collecting, and each collection would walk the whole heap (caches included).
        """
        with gc_paused():
            return self._apply_many(events, principal, principals, payloads)

    def _apply_many(
        self,
        events: Sequence[Event],
        principal: Author | None,
        principals: Sequence[Author] | None,
        payloads: Sequence[Any] | None,
    ) -> list[Outcome | LineageError]:
        who = list(principals) if principals is not None else [principal or self.principal] * len(events)
        if self.groups and (len(events) > 1 or payloads is not None):
            try:
                return self._group(events, who, payloads)
            except BackendUnavailableError as unavailable:
                self.cache.invalidate()
                return [unavailable] * len(events)
            except Exception:
                self.cache.invalidate()  # the group rolled back: redo it event by event
                if len(events) > 1:
                    return self._each_alone(events, who, payloads)
            except BaseException:
                self.cache.invalidate()
                raise
        # An event its author may not write is refused before it is landed: a raw event in the
        # landing zone is replayed later under another principal, which would bypass the scope.
        refused = {i: exc for i, (e, a) in enumerate(zip(events, who, strict=True)) if (exc := self._preflight(e, a))}
        seqs: list[int | LineageError | None] = [None] * len(events)
        if payloads is not None:
            keep = [i for i in range(len(events)) if i not in refused]
            for i, seq in zip(keep, self._land_each([payloads[i] for i in keep]), strict=True):
                seqs[i] = seq
        results: list[Outcome | LineageError] = []
        for i, (seq, event, author) in enumerate(zip(seqs, events, who, strict=True)):
            if i in refused:
                results.append(refused[i])
                continue
            if isinstance(seq, LineageError):
                results.append(seq)
                continue
            try:
                outcome = self.apply(event, principal=author, raw_seq=seq)
                outcome.raw_seq = seq
                results.append(outcome)
            except BackendUnavailableError as exc:
                return _untried(results, exc, len(events))
            except Exception as exc:
                results.append(event_error(exc))
        return results

    def _each_alone(
        self, events: Sequence[Event], who: Sequence[Author], payloads: Sequence[Any] | None
    ) -> list[Outcome | LineageError]:
        results: list[Outcome | LineageError] = []
        for i, (event, author) in enumerate(zip(events, who, strict=True)):
            result = self._alone(event, author, None if payloads is None else payloads[i])
            if isinstance(result, BackendUnavailableError):
                return _untried(results, result, len(events))
            results.append(result)
        return results

    def _preflight(self, event: Event, author: Author) -> ForbiddenError | None:
        """For an author limited to namespaces: plan the event in a transaction that is rolled back,
        and return the ForbiddenError its scope gives (None when allowed or not scoped)."""
        if not is_scoped(author):
            return None
        try:
            with self._lock, self.store.write() as tx:
                self.cache.begin(tx.audit_head(), self.store)
                check_scope(tx, _plan(Planner(self.store, tx, self.cache), event), author)
                raise _DryRun
        except _DryRun:
            return None
        except ForbiddenError as exc:
            return exc
        except LineageError:
            return None  # any other problem is found (and answered) by the real attempt
        finally:
            self.cache.invalidate()

    def _group(
        self, events: Sequence[Event], who: Sequence[Author], payloads: Sequence[Any] | None
    ) -> list[Outcome | LineageError]:
        """Land and map every event in one transaction; any error rolls the whole group back."""
        with self._lock, self.store.write() as tx:
            self.cache.begin(tx.audit_head(), self.store)
            seqs: list[int | None] = []
            if payloads is not None:
                seqs = list(land_raw_events_in(tx, self.source, payloads, principal=self._lander(who)))
            done: list[Outcome | LineageError] = [None] * len(events)  # type: ignore[list-item]
            # In event-time order: a version that arrived late is then current before the events
            # that read it are mapped, instead of re-linking them (the graph is the same either way).
            for i in sorted(range(len(events)), key=lambda i: events[i].eventTime):
                plan = _plan(Planner(self.store, tx, self.cache), events[i])
                done[i] = self._write(tx, plan, events[i], who[i], seqs[i] if seqs else None)
            self.cache.end(tx.audit_head())
        for outcome, seq in zip(done, seqs, strict=False):
            if isinstance(outcome, Outcome):
                outcome.raw_seq = seq
        return done

    def _alone(self, event: Event, author: Author, payload: Any) -> Outcome | LineageError:
        """One member of a failed group, in its own transaction: its outcome or its own error."""
        try:
            return self.apply_many([event], principals=[author], payloads=None if payload is None else [payload])[0]
        except Exception as exc:
            return event_error(exc)

    def _land_each(self, payloads: list[Any]) -> list[int | LineageError | None]:
        """Land raw events together, or one by one when that fails, so a refused one fails alone."""
        try:
            return list(self.store.append_raw_events(self.source, payloads, principal=self._lander()))
        except _REFUSED:
            pass
        landed: list[int | LineageError | None] = []
        for payload in payloads:
            try:
                landed.append(self.store.append_raw_events(self.source, [payload], principal=self._lander())[0])
            except _REFUSED as exc:
                landed.append(_refused(exc))
        return landed

    def _lander(self, who: Sequence[Author] = ()) -> str:
        """Who the landing of raw events is attributed to in the audit log: the first author."""
        return author_id(who[0] if who else self.principal)

    def _apply_once(
        self, event: Event, principal: Author, avoid: set[EdgeKey], planned: list[Plan], raw_seq: int | None
    ) -> Outcome:
        """Plan and write one event in one transaction; the plan is left in ``planned[0]``."""
        with self.store.write() as tx:
            self.cache.begin(tx.audit_head(), self.store)
            planned[0] = _plan(Planner(self.store, tx, self.cache, avoid), event)
            done = self._write(tx, planned[0], event, principal, raw_seq)
            self.cache.end(tx.audit_head())
        return done

    def _transact(self, work: Callable[[], Outcome]) -> Outcome:
        """Run ``work`` in the store's retried transaction when it has one (Neo4j: transient
        failures such as deadlocks re-run the whole unit), else directly."""
        transact = getattr(self.store, "transact", None)
        if transact is None:
            return work()
        result: Outcome = transact(work)
        return result

    def _write(self, tx: WriteTx, plan: Plan, event: Event, author: Author, raw_seq: int | None) -> Outcome:
        """Register what the plan says. The audit entry names the event (its landing-zone number
        when it was landed) instead of repeating the batch: its facts record every row written."""
        check_scope(tx, plan, author)
        principal = author_id(author)
        outcome = Outcome(type(event).__name__, plan.subject)
        batch = Batch(nodes=list(plan.nodes.values()), edges=list(plan.edges.values()))
        about = {"openlineage": {"event": outcome.kind, "subject": plan.subject, "raw_seq": raw_seq}}
        # The planner makes one node per id and only edges the schema allows (checked=True).
        result = register_in(tx, batch, principal=principal, source=self.source, checked=True, about=about)
        outcome.nodes_created = result.nodes_created
        outcome.nodes_updated = result.nodes_updated
        outcome.edges_created = result.edges_created
        stale = [k for k in dict.fromkeys(plan.retract_edges) if k not in plan.edges]
        if stale or plan.retract_nodes:
            done = retract_in(
                tx,
                nodes=plan.retract_nodes,
                edges=stale,
                reason=f"re-linked by OpenLineage: a later-arriving event about {plan.subject} changed "
                "which dataset version was current",
                principal=principal,
                source=self.source,
            )
            outcome.retracted = len(stale) + len(plan.retract_nodes) if done.changed else 0
        self.cache.forget([*plan.nodes, *plan.retract_nodes])
        return outcome


def _untried(
    results: list[Outcome | LineageError], exc: BackendUnavailableError, n: int
) -> list[Outcome | LineageError]:
    """``results`` completed with ``exc`` for this event and every later one (not tried: a store
    that is unavailable takes none of them)."""
    return [*results, *[exc] * (n - len(results))]


def event_error(exc: Exception) -> LineageError:
    """What one event's failure to map is answered: its own error, BAD_INPUT for a value the store
    cannot keep, else an internal error (logged with its traceback; call it in the handler)."""
    if isinstance(exc, LineageError):
        return exc
    return _refused(exc) if isinstance(exc, _REFUSED) else _internal()


def _internal() -> LineageError:
    """The error of one event whose mapping failed unexpectedly (logged with its traceback)."""
    _log.exception("mapping an OpenLineage event failed")
    return LineageError("the event could not be stored (internal error, logged by the server)")


def _refused(exc: BaseException) -> ValidationError:
    return ValidationError(f"the event cannot be stored: {exc}", details={"rule": "storable"})


def _plan(planner: Planner, event: Event) -> Plan:
    try:
        if isinstance(event, RunEvent):
            return planner.run_event(event)
        if isinstance(event, DatasetEvent):
            return planner.dataset_event(event)
        if isinstance(event, JobEvent):
            return planner.job_event(event)
    except PydanticValidationError as exc:  # e.g. NaN in a facet: not storable as JSON
        raise ValidationError(f"the event cannot be mapped: {describe_errors(exc)}") from None
    raise ValidationError(f"unsupported event type {type(event).__name__}")


# -- replay ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReplaySummary:
    events: int = 0
    mapped: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "mapped": self.mapped, "skipped": self.skipped, "errors": self.errors}


def replay(
    source: GraphStore,
    target: GraphStore,
    *,
    principal: Author,
    after_seq: int = 0,
    progress: Callable[[int], None] | None = None,
    group: int = 200,
) -> ReplaySummary:
    """Re-map every raw event kept in ``source`` into ``target`` with the current mapping.

    Raw events are copied into the target's landing zone too, unless target and source are the
    same store (then they are only re-mapped). OpenLineage events (mapped in groups) and dbt
    manifests are replayed in their order; other raw sources are counted as skipped. Events that no
    longer validate are reported, not fatal.
    """
    from lineage.ingest.dbt import DBT_SOURCE, import_manifest

    same = source is target or source.url == target.url
    summary = ReplaySummary()
    ingesters: dict[str, OpenLineageIngester] = {}
    pending: list[tuple[int, str, Any]] = []  # (seq, source label, payload) of OpenLineage events

    def flush() -> None:
        by_label: dict[str, list[tuple[int, Any]]] = {}
        for seq, label, payload in pending:
            by_label.setdefault(label, []).append((seq, payload))
        for label, items in by_label.items():
            ingester = ingesters.setdefault(label, OpenLineageIngester(target, principal=principal, source=label))
            valid = []
            for seq, payload in items:
                try:
                    parse_event(payload)
                except LineageError as exc:
                    summary.errors.append(f"raw event #{seq} ({label}): {exc.message}")
                    continue
                valid.append((seq, payload))
            results = ingester.ingest_many([p for _, p in valid], land=not same) if valid else []
            for (seq, _), result in zip(valid, results, strict=True):
                if isinstance(result, BackendUnavailableError):  # no later event can be mapped either
                    resume = min(s for s, _, _ in pending) - 1  # replaying is idempotent: redo this group
                    raise BackendUnavailableError(
                        f"{result.message}; raw event #{seq} and later ones were not replayed: replay again "
                        f"once the store is available (--after {resume} resumes there)"
                    )
                if isinstance(result, LineageError):
                    summary.errors.append(f"raw event #{seq} ({label}): {result.message}")
                else:
                    summary.mapped += 1
        pending.clear()

    for raw in source.iter_raw_events(after_seq):
        summary.events += 1
        if raw.source.startswith(SOURCE):
            pending.append((raw.seq, raw.source, raw.payload))
            if len(pending) >= group:
                flush()
        elif raw.source.startswith(DBT_SOURCE):
            flush()
            try:
                import_manifest(target, raw.payload, principal=principal, land=not same, source=raw.source)
                summary.mapped += 1
            except LineageError as exc:
                summary.errors.append(f"raw event #{raw.seq} ({raw.source}): {exc.message}")
        else:
            summary.skipped += 1
        if progress is not None and not pending:
            progress(summary.events)
    flush()
    if progress is not None:
        progress(summary.events)
    return summary


def iter_payloads(values: Iterable[Any]) -> Iterable[Any]:
    """Flatten JSON arrays of events into single events."""
    for value in values:
        if isinstance(value, list):
            yield from value
        else:
            yield value
