"""Strawberry's FastAPI router, with HTTP-level failures turned into coded GraphQL errors.

Strawberry answers a malformed JSON body or a missing query with a plain-text 400; clients of this
API always get ``{"errors": [{"message", "extensions": {"code"}}]}`` instead. Repeated read queries
are answered from the response cache while the graph is unchanged (see
:mod:`lineage.api.response_cache`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from lineage.api.context import Context
from lineage.api.errors import coded, error_response
from lineage.api.response_cache import Lookup, ResponseCache, current_head
from lineage.api.ui import graphiql_page
from lineage.errors import LineageError
from lineage.model.documents import loads_json

_FRIENDLY = {
    "No GraphQL query found in the request": "no GraphQL query in the request; send {\"query\": \"...\"}",
    "Unsupported content type": "unsupported Content-Type; send application/json",
}


class LineageRouter(GraphQLRouter[Context, None]):
    #: The response whose status and headers resolvers may set, for the request being served
    #: (Strawberry's FastAPI endpoints set it; so does :mod:`lineage.api.graphql_route`).
    temporal_response: Response

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """The offline GraphiQL page (Strawberry's own loads its scripts from a CDN)."""
        return graphiql_page()

    def encode_json(self, data: object) -> str | bytes:
        """The response body, encoded by orjson (UTF-8, compact); the standard encoder for what
        orjson refuses (integers beyond 64 bits in a JSON property)."""
        try:
            return orjson.dumps(data)
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = loads_json(data)
        except LineageError as exc:  # nested too deep, or text that is not Unicode
            raise HTTPException(400, exc.message) from None
        except json.JSONDecodeError as exc:
            raise HTTPException(
                400,
                f"the request body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                'send {"query": "...", "variables": {...}}',
            ) from None
        except UnicodeDecodeError:
            raise HTTPException(400, "the request body is not UTF-8 text") from None
        if not isinstance(value, dict):
            raise HTTPException(400, 'the request body must be a JSON object: {"query": "...", "variables": {...}}')
        return value

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        cached = await self._cached(request, context)
        if isinstance(cached, Response):
            return cached
        answer: bytes | None = None
        try:
            try:
                response = await super().run(request, context=context, root_value=root_value)
            except HTTPException as exc:
                return self._http_error(request, exc)
            if cached is not None and response.status_code == 200 and request.state.graphql_errors is False:
                answer = bytes(response.body)
                self._cache(context).put(cached.key, cached.head, answer)
            return response
        finally:
            if cached is not None and cached.first:
                self._cache(context).finish(cached.key, cached.head, answer)

    @staticmethod
    def _cache(context: Context) -> ResponseCache:
        cache = context.services.response_cache
        assert cache is not None
        return cache

    async def _cached(self, request: Request, context: Any) -> Response | Lookup | None:
        """The kept answer to this request (a response), the key to keep its answer under, or None
        when its answer is not kept (see :mod:`lineage.api.response_cache`)."""
        request.state.graphql_errors = None
        if request.method != "POST" or not isinstance(context, Context) or context.auth_error is not None:
            return None
        services = context.services
        cache = services.response_cache
        if cache is None or not cache.enabled or not services.index_ready.is_set():
            return None
        if context.principal is None and not services.anonymous_read:
            return None
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None
        key = cache.key(await request.body(), context.principal)
        if key is None:
            services.metrics.response_cache.labels("bypass").inc()
            return None
        try:
            head = await context.call(current_head, services.store)
        except LineageError:  # the store cannot answer: executing the request reports it as usual
            return None
        if head is None:
            return None
        body = cache.get(key, head)
        first = True
        if body is None:
            executing = cache.join(key, head)
            if executing is not None:  # the same question is being answered: wait for that answer
                body = await asyncio.shield(executing)
                first = False
        if body is None:
            services.metrics.response_cache.labels("miss").inc()
            return Lookup(key, head, first)
        services.metrics.response_cache.labels("hit").inc()
        return Response(body, media_type="application/json")

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """A last guard: an error that reached here without a code (a failure in Strawberry before
        the operation's extensions ran) still leaves with one."""
        request.state.graphql_errors = bool(result.errors)
        if result.errors and any("code" not in (e.extensions or {}) for e in result.errors):
            result.errors = [coded(e) for e in result.errors]
            services = getattr(request.app.state, "services", None)
            for error in result.errors:
                if services is not None:
                    services.metrics.error(str((error.extensions or {}).get("code")))
        return await super().process_result(request, result)

    def _http_error(self, request: Request, exc: HTTPException) -> Response:
        code = "NOT_FOUND" if exc.status_code == 404 else "BAD_INPUT"
        message = _FRIENDLY.get(exc.reason, exc.reason)
        if exc.status_code == 404:
            message = "GraphiQL is off (serve with --graphiql to turn it on); POST GraphQL requests to this URL"
        services = getattr(request.app.state, "services", None)
        if services is not None:
            services.metrics.error(code)
        return error_response(code, message, exc.status_code)
