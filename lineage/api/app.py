"""The FastAPI app factory.

``create_app(settings)`` builds one app: the web UI at ``/``, GraphQL at ``/graphql`` (with the
offline GraphiQL at ``/graphiql`` when enabled, by default in development mode only), ``/healthz``,
``/readyz``, ``/metrics`` and, when present, the OpenLineage endpoint. The store is opened in the
lifespan and closed there; nothing lives at module level, so several apps can share a process.
``lineage serve`` runs it with ``uvicorn.run(APP_FACTORY, factory=True)``, passing settings through
``LINEAGE_*`` environment variables so every worker builds the same app.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lineage import __version__
from lineage.api.auth import get_context, services_of
from lineage.api.context import Services, timed_call
from lineage.api.errors import error_response, lineage_error_response
from lineage.api.graphql_route import graphql_post_route
from lineage.api.headers import DEV_TOOLS_POLICY, HeaderPolicy, SecurityHeaders
from lineage.api.limits import BodySizeLimit, Limits
from lineage.api.metrics import Metrics
from lineage.api.reports import build_reports_router
from lineage.api.response_cache import ResponseCache
from lineage.api.router import LineageRouter
from lineage.api.schema import build_schema
from lineage.api.ui import mount_ui
from lineage.errors import LineageError
from lineage.governance.access import anonymous_read_allowed
from lineage.settings import Settings, graphiql_enabled, load_settings, store_options
from lineage.storage import GraphStore, open_store

if TYPE_CHECKING:
    from lineage.ingest.openlineage_intake import Intake, MapperProcess

#: Traversals running at once per process (the rest wait, within their request's work budget).
TRAVERSAL_THREADS = 4
#: What uvicorn imports in each worker process.
APP_FACTORY = "lineage.api.app:create_app"

log = logging.getLogger("lineage.api")


def warm_index(store: GraphStore, ready: threading.Event | None = None) -> None:
    try:
        store.traversal_index()
    except LineageError as exc:  # reads will report it; the server still starts
        log.warning("traversal index not built at start: %s", exc)
    finally:
        if ready is not None:
            ready.set()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Without settings, they are read from ``LINEAGE_*`` environment variables."""
    settings = settings or load_settings()
    metrics = Metrics()
    limits = Limits.from_settings(settings)
    development = settings.mode == "development"
    graphiql = graphiql_enabled(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await run_in_threadpool(open_store, settings.store, **store_options(settings))
        store.max_batch = min(store.max_batch, settings.max_batch)
        intake, mapper = await run_in_threadpool(_start_intake, settings)
        app.state.services = Services(
            settings=settings,
            store=store,
            metrics=metrics,
            limits=limits,
            anonymous_read=anonymous_read_allowed(settings.anonymous_read, settings.host),
            traversals=anyio.CapacityLimiter(TRAVERSAL_THREADS),
            response_cache=ResponseCache(int(settings.response_cache_mib * 1024 * 1024)),
            intake=intake,
        )
        log.info("serving store %s in %s mode", store.url, settings.mode)
        # Build the traversal index now rather than on the first query (seconds at a million nodes);
        # traversals that arrive meanwhile wait for it, and /readyz answers 503 "warming" until then.
        services = app.state.services
        services.index_ready.clear()
        warming = asyncio.get_running_loop().run_in_executor(None, warm_index, store, services.index_ready)
        try:
            yield
        finally:
            app.state.services = None
            await asyncio.wait([warming])
            if mapper is not None:
                await run_in_threadpool(mapper.stop)
            if intake is not None:
                intake.close()
            await run_in_threadpool(store.close)

    app = FastAPI(
        title="Lineage engine",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if development else None,
        redoc_url=None,
        openapi_url="/openapi.json" if development else None,
    )
    app.state.services = None
    app.state.metrics = metrics
    router = LineageRouter(
        build_schema(settings.max_query_depth),
        context_getter=get_context,
        graphql_ide="graphiql" if graphiql else None,
        allow_queries_via_get=True,
    )
    app.include_router(router, prefix="/graphql")
    # POST /graphql (every client's request) answered without FastAPI's per-request dependency solving
    app.router.routes.insert(0, graphql_post_route(router, "/graphql"))
    _operational_routes(app, metrics)
    app.include_router(build_reports_router())
    _openlineage(app)
    mount_ui(app, graphiql=graphiql)
    _exception_handlers(app, metrics)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, on_reject=metrics.error)
    dev_tools = (("/docs", DEV_TOOLS_POLICY),) if development else ()
    app.add_middleware(SecurityHeaders, policy=HeaderPolicy(overrides=dev_tools))
    return app


def _start_intake(settings: Settings) -> tuple[Intake | None, MapperProcess | None]:
    """The OpenLineage intake and its mapper process when events are answered once landed; else
    (None, None), after mapping what a previous landed-mode server left waiting in the intake."""
    try:
        from lineage.ingest.openlineage_intake import Intake, MapperProcess, intake_path, map_all
    except ImportError:  # the OpenLineage extra is not installed
        return None, None
    if settings.openlineage_ack != "landed":
        if settings.openlineage_intake or not settings.store.startswith(("neo4j", "bolt")):
            left = map_all(settings, intake_path(settings))
            if left:
                log.info("mapped %d OpenLineage event(s) left waiting in the intake", left)
        return None, None
    path = intake_path(settings)
    intake = Intake(path)
    mapper = MapperProcess(path, settings)
    mapper.start()
    return intake, mapper


def _operational_routes(app: FastAPI, metrics: Metrics) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is up (says nothing about the store)."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        """The store answers and the traversal index built at start is ready: ready to serve."""
        try:
            services = services_of(request)
            await timed_call(services.metrics, services.store.ping)
        except LineageError as exc:
            return JSONResponse({"status": "unavailable", "code": exc.code, "message": exc.message}, status_code=503)
        if not services.index_ready.is_set():
            return JSONResponse(
                {"status": "warming", "message": "building the traversal index; reads wait for it"}, status_code=503
            )
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        intake = getattr(request.app.state.services, "intake", None)
        if intake is not None:
            waiting, failed = await run_in_threadpool(intake.counts)
            stall = await run_in_threadpool(intake.stall)
            metrics.intake_waiting.set(waiting)
            metrics.intake_failed.set(failed)
            metrics.intake_stalled.set(stall["for_s"] if stall else 0)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)


def _openlineage(app: FastAPI) -> None:
    """Mount the OpenLineage endpoint when that module is installed."""
    try:
        module = importlib.import_module("lineage.api.openlineage")
    except ImportError:
        return
    factory: Any = getattr(module, "build_openlineage_router", None)
    if factory is not None:
        app.include_router(factory())


def _exception_handlers(app: FastAPI, metrics: Metrics) -> None:
    async def on_lineage_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LineageError)
        metrics.error(exc.code)
        return lineage_error_response(exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        metrics.error("INTERNAL")
        return error_response("INTERNAL", "internal error; the server log has the details", 500)

    app.add_exception_handler(LineageError, on_lineage_error)
    app.add_exception_handler(Exception, on_unexpected)
