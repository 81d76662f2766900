"""The OpenLineage HTTP endpoint: ``POST /api/v1/lineage`` (one event) and ``/api/v1/lineage/batch``.

The ``openlineage-python`` client's HTTP transport works against it unchanged (JSON body,
optional gzip ``Content-Encoding``, bearer token). An event is validated before anything is stored:
a bad one is answered 400 with a message naming the field. A valid one is kept raw, mapped, and
answered 201 once committed. Writing needs a writer (or admin) token; a writer limited to
namespaces may send events only for jobs (or, for a DatasetEvent, datasets) in them, and every node
an event would create or change, and every edge, must pass the namespace rule of a GraphQL
``register`` (checked where events are mapped, :mod:`lineage.ingest.openlineage_scope`).

Concurrent requests share commits (:mod:`lineage.ingest.openlineage_group`); one bad event fails
alone, never the other events of its commit. With ``openlineage_ack=landed`` a valid event is
answered 202 once it is kept in the intake (:mod:`lineage.api.openlineage_landing`), and mapped in
the background (:mod:`lineage.ingest.openlineage_intake`); ``GET /api/v1/lineage/intake[/<seq>]``
answers what waits and what failed. A namespace-limited writer's events are still mapped first.
The batch endpoint answers each event: 201 (202) when all are stored (accepted), else 207 with each
event's outcome or error (an invalid event does not stop the others), or 400 when no event in it is
valid.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from weakref import WeakKeyDictionary

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from lineage.api.errors import lineage_error_response
from lineage.api.openlineage_landing import Lander
from lineage.errors import (
    LimitExceededError,
    LineageError,
    MalformedRequestError,
    NotFoundError,
    ValidationError,
)
from lineage.governance.access import Principal, check_namespaces, require_writer
from lineage.ingest.openlineage import OpenLineageIngester, Outcome
from lineage.ingest.openlineage_events import DatasetEvent, Event, JobEvent, RunEvent, parse_event
from lineage.ingest.openlineage_group import GroupCommitter
from lineage.ingest.openlineage_intake import Accepted, Intake
from lineage.ingest.openlineage_scope import is_scoped
from lineage.model.documents import MAX_NESTING, TooDeepError
from lineage.storage.base import GraphStore

PATH = "/api/v1/lineage"
DEFAULT_MAX_BODY = 10 * 1024 * 1024
#: Most events in one batch request.
MAX_BATCH_EVENTS = 5_000

StoreDep = Callable[[Request], GraphStore]


class Writer(Protocol):
    """A caller allowed to write: its audit principal, and the namespace check for its events."""

    @property
    def id(self) -> str: ...

    def allow(self, namespaces: list[str]) -> None:
        """Raise ForbiddenError unless the caller may write in every one of these namespaces."""


#: Authenticates the request's caller as a writer (UnauthenticatedError, ForbiddenError otherwise).
WriterDep = Callable[[Request], Awaitable[Writer]]


@dataclass(frozen=True, slots=True)
class _TokenWriter:
    principal: Principal

    @property
    def id(self) -> str:
        return self.principal.id

    def allow(self, namespaces: list[str]) -> None:
        checks = [(f"namespace {ns!r}", ns) for ns in namespaces]
        check_namespaces(self.principal, checks, action="send OpenLineage events")


def _app_store(request: Request) -> GraphStore:
    from lineage.api.auth import services_of

    return services_of(request).store


async def _app_writer(request: Request) -> Writer:
    """The API's own rules: a writer or admin token, limited writers only in their namespaces."""
    from lineage.api.auth import resolve_principal, services_of

    services = services_of(request)
    principal, error = await resolve_principal(services, request.headers.get("authorization"))
    if error is not None:
        raise error
    return _TokenWriter(require_writer(principal, "sending OpenLineage events"))


def _max_body(request: Request) -> int:
    services = getattr(request.app.state, "services", None)
    settings = getattr(services, "settings", None)
    return int(getattr(settings, "max_body_bytes", DEFAULT_MAX_BODY))


async def _json_body(request: Request) -> _Body:
    """The request body as JSON, gunzipped when sent with ``Content-Encoding: gzip`` (bounded).

    Events in it are checked one by one by :func:`parse_event` (nesting, text), so a batch answers
    each event on its own.
    """
    limit = _max_body(request)
    body = await request.body()
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            inflater = zlib.decompressobj(wbits=47 if encoding != "deflate" else 15)
            body = inflater.decompress(body, limit + 1)
        except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
            raise MalformedRequestError(f"the body is not valid {encoding} data: {exc}") from None
        if len(body) > limit:
            raise LimitExceededError(f"the decompressed body is larger than {limit} bytes")
    elif encoding not in ("", "identity"):
        raise ValidationError(f"unsupported Content-Encoding {encoding!r}; send JSON, optionally gzip-compressed")
    if not body.strip():
        raise ValidationError("the request body is empty; send an OpenLineage event as JSON")
    return parse_body(body)


def parse_body(body: bytes) -> _Body:
    """The JSON of a body, or MalformedRequestError (TooDeepError for a body too deep to parse).

    Nesting and text are checked per event by parse_event (one walk of each event, not two).
    """
    try:
        return _loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise MalformedRequestError(f"malformed JSON{where}: {getattr(exc, 'msg', exc)}") from None


#: A number orjson would read as a float (an integer beyond 64 bits) or round differently.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


@dataclass(frozen=True, slots=True)
class _Body:
    """A parsed body, and whether it is known to need no document check (see :func:`_loads`)."""

    value: Any
    checked: bool = False


def _loads(body: bytes) -> _Body:
    """The parsed body. Every event in it is checked by parse_event, unless the body is known to pass.

    orjson reads what the standard library reads, faster, except integers beyond 64 bits (read as
    floats; bodies with a 19-digit run go the standard way) and what it refuses (NaN, lone
    surrogates, a byte-order mark, nesting past 1024), which the standard parser then reads, or
    refuses with its own message, exactly as without orjson. A body orjson accepts holds no lone
    surrogate, and one with at most MAX_NESTING objects and arrays cannot nest deeper: it needs
    no second walk.
    """
    if not _LONG_NUMBER.search(body):
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            return _Body(value, body.count(b"{") + body.count(b"[") <= MAX_NESTING)
    try:
        return _Body(json.loads(body, parse_constant=_not_json))
    except RecursionError:
        raise TooDeepError(
            f"the body: nested deeper than {MAX_NESTING} levels of objects and arrays", details={"limit": MAX_NESTING}
        ) from None


def _not_json(name: str) -> Any:
    raise MalformedRequestError(f"{name} is not valid JSON; send null or a string instead")


def namespaces_of(event: Event) -> list[str]:
    """The namespace an event writes under, for namespace-limited writers: its job's, or its dataset's."""
    if isinstance(event, RunEvent | JobEvent):
        return [event.job.namespace]
    if isinstance(event, DatasetEvent):
        return [event.dataset.namespace]
    return []


def _parse(payload: Any, where: str, *, alone: bool, checked: bool = False) -> Event | LineageError:
    """The validated event, or (in a batch, where each event stands alone) its validation error."""
    try:
        return parse_event(payload, where=where, checked=checked)
    except LineageError as exc:
        if alone:
            raise
        return exc


def _result(result: Outcome | Accepted | LineageError) -> dict[str, Any]:
    if isinstance(result, Outcome):
        return {"status": "ok", **result.to_dict()}
    if isinstance(result, Accepted):
        return {"status": "accepted", **result.to_dict()}
    return {"status": "error", "code": result.code, "message": result.message}


def _app_intake(request: Request) -> Intake | None:
    services = getattr(request.app.state, "services", None)
    intake: Intake | None = getattr(services, "intake", None)
    return intake


def _intake_max(request: Request) -> int:
    services = getattr(request.app.state, "services", None)
    settings = getattr(services, "settings", None)
    return int(getattr(settings, "openlineage_intake_max", 100_000))


def build_openlineage_router(store_dep: StoreDep | None = None, writer_dep: WriterDep | None = None) -> APIRouter:
    """The endpoint as a router. Without arguments it uses the API app's store and token rules;
    embedders can pass their own ``store_dep(request)`` and ``writer_dep(request)``."""
    get_store = store_dep or _app_store
    get_writer = writer_dep or _app_writer
    get_intake = _app_intake if store_dep is None else (lambda request: None)
    committers: WeakKeyDictionary[GraphStore, GroupCommitter] = WeakKeyDictionary()
    landers: WeakKeyDictionary[Intake, Lander] = WeakKeyDictionary()

    def committer(store: GraphStore) -> GroupCommitter:
        found = committers.get(store)
        if found is None:
            found = committers[store] = GroupCommitter(OpenLineageIngester(store, principal="openlineage"))
        return found

    def lander(intake: Intake, limit: int) -> Lander:
        found = landers.get(intake)
        if found is None:
            found = landers[intake] = Lander(intake, limit)
        return found

    async def accept(request: Request, writer: Writer, payloads: list[Any], many: bool, checked: bool) -> Response:
        try:
            if len(payloads) > MAX_BATCH_EVENTS:
                raise LimitExceededError(f"a batch holds at most {MAX_BATCH_EVENTS} events, got {len(payloads)}")
            parsed = [
                _parse(p, f"[{i}]" if many else "", alone=not many, checked=checked) for i, p in enumerate(payloads)
            ]
            valid = [i for i, e in enumerate(parsed) if not isinstance(e, LineageError)]
            events = [e for e in parsed if not isinstance(e, LineageError)]
            writer.allow(sorted({ns for e in events for ns in namespaces_of(e)}))
            results: list[Outcome | Accepted | LineageError] = list(parsed)  # type: ignore[arg-type]
            intake = get_intake(request)
            if valid:
                author = writer.principal if isinstance(writer, _TokenWriter) else writer.id
                chosen = [payloads[i] for i in valid]
                done: Sequence[Outcome | Accepted | LineageError]
                if intake is not None and not is_scoped(author):
                    done = await lander(intake, _intake_max(request)).submit(chosen, author)
                else:  # mapped now: also a namespace-limited writer's events, whose scope mapping checks
                    done = await committer(get_store(request)).submit_async(chosen, events, author)
                for i, result in zip(valid, done, strict=True):
                    results[i] = result
        except LineageError as exc:
            return lineage_error_response(exc)
        failed = [r for r in results if isinstance(r, LineageError)]
        ok = 202 if any(isinstance(r, Accepted) for r in results) else 201
        if not many:
            if failed:
                return lineage_error_response(failed[0])
            return JSONResponse(_result(results[0]), status_code=ok)
        if not valid:  # nothing in the batch was an event to store: refused whole, like a single event
            return lineage_error_response(failed[0])
        body = {"received": len(results), "failed": len(failed), "results": [_result(r) for r in results]}
        return JSONResponse(body, status_code=ok if not failed else 207)

    router = APIRouter(tags=["openlineage"])

    @router.post(PATH, status_code=201, summary="Receive one OpenLineage RunEvent, DatasetEvent or JobEvent")
    async def lineage_event(request: Request) -> Response:
        try:
            writer = await get_writer(request)
            body = await _json_body(request)
        except LineageError as exc:
            return lineage_error_response(exc)
        if isinstance(body.value, list):
            return lineage_error_response(
                ValidationError(f"send one event per request to {PATH}, or a JSON array to {PATH}/batch")
            )
        return await accept(request, writer, [body.value], many=False, checked=body.checked)

    @router.post(f"{PATH}/batch", status_code=201, summary="Receive a JSON array of OpenLineage events")
    async def lineage_batch(request: Request) -> Response:
        try:
            writer = await get_writer(request)
            body = await _json_body(request)
        except LineageError as exc:
            return lineage_error_response(exc)
        if not isinstance(body.value, list):
            return lineage_error_response(ValidationError(f"{PATH}/batch expects a JSON array of events"))
        return await accept(request, writer, body.value, many=True, checked=body.checked)

    async def opened_intake(request: Request) -> Intake:
        await get_writer(request)
        intake = get_intake(request)
        if intake is None:
            raise ValidationError(
                "this server maps OpenLineage events before answering (openlineage_ack=mapped): no intake"
            )
        return intake

    @router.get(f"{PATH}/intake", summary="What waits in the OpenLineage intake to be mapped, and what failed")
    async def intake_status(request: Request) -> Response:
        try:
            intake = await opened_intake(request)
            status = await run_in_threadpool(intake.status)
        except LineageError as exc:
            return lineage_error_response(exc)
        return JSONResponse(status)

    @router.get(f"{PATH}/intake/{{seq}}", summary="Whether an accepted OpenLineage event is mapped yet")
    async def intake_event(request: Request, seq: int) -> Response:
        try:
            intake = await opened_intake(request)
            found = await run_in_threadpool(intake.state, seq)
            if found is None:
                raise NotFoundError(f"no OpenLineage event was accepted as intake_seq {seq}")
        except LineageError as exc:
            return lineage_error_response(exc)
        return JSONResponse(found)

    return router
