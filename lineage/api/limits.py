"""Request limits that are not about GraphQL documents: body size, page size, result size.

Document limits (depth, tokens, aliases) are Strawberry extensions, set up in
:func:`lineage.api.schema.build_schema`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineage.analysis.budget import MAX_EXPANDED, MAX_PATHS, MAX_SECONDS, WorkBudget
from lineage.errors import BadInputError, LimitExceededError
from lineage.settings import Settings

#: Most lexical tokens in one GraphQL document (data belongs in variables, which do not count).
MAX_TOKENS = 5_000
#: Longest document text whose parse, validation and answers are kept between requests. A document
#: within the token limit can still be megabytes long (one long string literal is one token): such a
#: document is parsed and validated every time, so a stream of distinct ones cannot fill memory.
MAX_CACHED_DOCUMENT = 32 * 1024
#: Most aliased fields in one document: aliases are how one request asks for many expensive fields.
MAX_ALIASES = 30
#: Most nodes one request may return across all its lists (nested neighbour lists fan out fast).
MAX_RESULT_NODES = 50_000


@dataclass(frozen=True, slots=True)
class Limits:
    max_page_size: int
    max_depth: int
    max_nodes: int
    max_batch: int
    max_query_depth: int
    max_body_bytes: int
    max_result_nodes: int = MAX_RESULT_NODES
    max_work_expanded: int = MAX_EXPANDED
    max_work_paths: int = MAX_PATHS
    max_work_seconds: float = MAX_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_page_size=settings.max_page_size,
            max_depth=settings.max_depth,
            max_nodes=settings.max_nodes,
            max_batch=settings.max_batch,
            max_query_depth=settings.max_query_depth,
            max_body_bytes=settings.max_body_bytes,
            max_result_nodes=MAX_RESULT_NODES,
            max_work_paths=settings.max_work_paths,
            max_work_seconds=settings.max_work_seconds,
        )

    def work_budget(self) -> WorkBudget:
        """A fresh work budget for one request."""
        return WorkBudget(
            max_expanded=self.max_work_expanded, max_paths=self.max_work_paths, seconds=self.max_work_seconds
        )

    def page(self, first: int | None, default: int = 50, name: str = "first") -> int:
        """A page size: ``first`` when given, checked against the limit."""
        size = default if first is None else first
        if size < 1:
            raise BadInputError(f"{name} must be at least 1, got {size}")
        if size > self.max_page_size:
            raise LimitExceededError(
                f"{name}={size} is above the page size limit of {self.max_page_size}; "
                "ask for less, or page through the results with 'after'",
                details={"limit": self.max_page_size},
            )
        return min(size, self.max_page_size)

    def depth(self, depth: int | None) -> int:
        """A traversal depth: ``depth`` when given (checked), else the server's maximum."""
        if depth is None:
            return self.max_depth
        if depth < 1:
            raise BadInputError(f"depth must be at least 1, got {depth}")
        if depth > self.max_depth:
            raise LimitExceededError(
                f"depth={depth} is above the traversal depth limit of {self.max_depth}",
                details={"limit": self.max_depth},
            )
        return depth


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies above ``max_bytes`` with 413 and code LIMIT_EXCEEDED.

    Checks the declared Content-Length first, then counts the bytes actually streamed (a client
    may send no length or lie about it), so an oversized body is never read whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, on_reject: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._reject(send, "BAD_INPUT", "the Content-Length header is not a number", 400)
                    return
                if declared > self.max_bytes:
                    await self._too_large(send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        await self._reject(
            send,
            "LIMIT_EXCEEDED",
            f"the request body is larger than the limit of {self.max_bytes} bytes; split the batch",
            413,
        )

    async def _reject(self, send: Send, code: str, message: str, status: int) -> None:
        if self.on_reject is not None:
            self.on_reject(code)
        body = json.dumps(
            {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
