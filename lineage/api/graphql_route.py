"""``POST /graphql`` as a plain ASGI route, ahead of FastAPI's route for the same path.

Strawberry's FastAPI router serves a POST through FastAPI's endpoint machinery: the route's
dependency graph (the context getter, Strawberry's wrapper around it, background tasks, the
sub-response, the root value) is solved on every request, inside FastAPI's request and response
wrappers. For the one request every GraphQL client sends, that machinery costs about as much as
executing a small query. :class:`GraphQLPost` does what that endpoint does, directly: the context
from :func:`lineage.api.auth.get_context` with the request, background tasks and sub-response
Strawberry's wrapper would set, then the router's own ``run`` (the same parsing, caching,
execution and error handling), then the response with the background tasks FastAPI would attach.

GET requests, the IDE page and websockets still go through the router's FastAPI routes; errors
raised here reach the app's exception handlers as before.
"""

from __future__ import annotations

from cross_web import HTTPException
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from lineage.api.auth import get_context
from lineage.api.router import LineageRouter


def _sub_response() -> Response:
    """The response whose status and headers resolvers may set (FastAPI's ``Response`` parameter)."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]  # as FastAPI makes it: no status chosen yet
    return response


class GraphQLPost:
    """An ASGI app answering ``POST`` on the router's path as the router's FastAPI endpoint does."""

    def __init__(self, router: LineageRouter) -> None:
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        context = await get_context(request)
        background = BackgroundTasks()
        sub_response = _sub_response()
        context.request = request
        context.background_tasks = background
        context.response = sub_response
        router = self.router
        router.temporal_response = sub_response
        try:
            response = await router.run(request=request, context=context, root_value=None)
        except HTTPException as exc:
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        if response.background is None:
            response.background = background
        await response(scope, receive, send)


def graphql_post_route(router: LineageRouter, path: str) -> Route:
    """The route to put first in the app's routes, so it is matched before FastAPI's."""
    return Route(path, GraphQLPost(router), methods=["POST"], include_in_schema=False)
