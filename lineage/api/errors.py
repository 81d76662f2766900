"""Every failure leaves the server as a GraphQL error with a stable ``extensions.code``.

- :class:`lineage.errors.LineageError` and its subclasses carry their own code and message.
- Request errors found before execution (syntax, validation, variables) are ``BAD_INPUT``; the
  depth, token and alias limits are ``LIMIT_EXCEEDED``.
- Anything else is a bug: it is logged with its traceback under a short reference, and the client
  gets ``INTERNAL`` with that reference and no internals.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from starlette.responses import JSONResponse
from strawberry.extensions import SchemaExtension

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, parse
from lineage.api.limits import MAX_CACHED_DOCUMENT, MAX_TOKENS
from lineage.errors import BackendUnavailableError, LineageError

log = logging.getLogger("lineage.api")

_LIMIT_MARKERS = ("exceeds maximum operation depth", "tokens. Parsing aborted", "aliases found")


def classify(error: GraphQLError) -> tuple[str, str, dict[str, Any] | None]:
    """(code, message, details) for an error coming out of Strawberry."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, LineageError):
        return original.code, public_message(original), original.details or None
    if error.path is None or original is None or isinstance(error, GraphQLSyntaxError):
        # raised before execution: the document or the variables are wrong
        message = error.message
        if any(marker in message for marker in _LIMIT_MARKERS):
            return "LIMIT_EXCEEDED", _limit_hint(message), None
        if isinstance(error, GraphQLSyntaxError) or message.startswith("Syntax Error"):
            return "BAD_INPUT", f"malformed GraphQL: {message}", None
        return "BAD_INPUT", message, None
    ref = secrets.token_hex(4)
    log.error("unexpected error (ref %s) at %s", ref, error.path, exc_info=original)
    return "INTERNAL", f"internal error (ref {ref}); the server log has the details", None


def _limit_hint(message: str) -> str:
    if "depth" in message:
        return f"{message}; nest fewer levels, or use impact/provenance for deep traversals"
    if "tokens" in message:
        return f"{message.removeprefix('Syntax Error: ')}; send a smaller document (pass data as variables)"
    return f"{message}; use fewer aliases"


def coded(error: GraphQLError) -> GraphQLError:
    """The same error, with ``extensions.code`` set and unexpected details hidden."""
    if error.extensions and "code" in error.extensions:
        return error
    code, message, details = classify(error)
    extensions: dict[str, Any] = {"code": code}
    if details:
        extensions["details"] = details
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error if code != "INTERNAL" else None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Give every error of an operation its code (see :func:`classify`)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [coded(e) for e in errors]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": code}
    if details:
        extensions["details"] = details
    return {"data": None, "errors": [{"message": message, "extensions": extensions}]}


def error_response(code: str, message: str, status: int, details: dict[str, Any] | None = None) -> JSONResponse:
    """A GraphQL-shaped error body for failures outside GraphQL execution (HTTP level)."""
    return JSONResponse(error_body(code, message, details), status_code=status)


def lineage_error_response(exc: LineageError) -> JSONResponse:
    status = exc.http_status if exc.http_status >= 400 else 400
    return error_response(exc.code, public_message(exc), status, exc.details)


def public_message(exc: LineageError) -> str:
    """The message a client may see. Store failures name files, hosts and URLs (which may hold
    credentials): those stay in the server log, under a reference the client gets."""
    if not isinstance(exc, BackendUnavailableError):
        return exc.message
    ref = secrets.token_hex(4)
    log.warning("store unavailable (ref %s): %s", ref, exc.message)
    return f"the store is unavailable; retry shortly (ref {ref}; the server log has the details)"


@lru_cache(maxsize=512)
def _parse(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    return parse(query, **dict(options))


def parsed(query: str) -> DocumentNode:
    """The document as the schema parses it (with the token limit), from the same cache: a document
    read here before execution is not parsed a second time. Raises GraphQLError."""
    if len(query) > MAX_CACHED_DOCUMENT:
        return parse(query, max_tokens=MAX_TOKENS)
    return _parse(query, (("max_tokens", MAX_TOKENS),))


class CachedParse(SchemaExtension):
    """Parse each distinct document once (clients repeat a handful of documents).

    Unlike Strawberry's ``ParserCache``, a document that does not parse is left to Strawberry's own
    parsing step, so its syntax error is reported like any other (coded, counted). Documents longer
    than :data:`MAX_CACHED_DOCUMENT` are parsed every time (the cache holds 512 texts).
    """

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.query is not None and ec.graphql_document is None and len(ec.query) <= MAX_CACHED_DOCUMENT:
            with contextlib.suppress(GraphQLError):
                ec.graphql_document = _parse(ec.query, tuple(sorted(ec.parse_options.items())))
        yield
