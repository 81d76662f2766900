"""The web UI: ``/`` (search, node pages, lineage explorer, impact, audit, governance) and ``/graphiql``.

The pages are static files talking to ``/graphql`` and ``/reports`` with the caller's token, so
the UI has exactly the access the API gives that token; the files themselves need none. Assets
are served from ``/ui/`` with the package; the pages load no script from another host and no
inline script, so the Content-Security-Policy can forbid both.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from lineage.api.errors import error_response
from lineage.ui import static_dir

#: Where the UI's assets are served.
ASSETS_PREFIX = "/ui"


def graphiql_page() -> HTMLResponse:
    """The offline GraphiQL page (scripts and styles from ``/ui/vendor``)."""
    return HTMLResponse((static_dir() / "graphiql.html").read_text(encoding="utf-8"), headers=_NO_CACHE)


_NO_CACHE = {"Cache-Control": "no-cache"}


def mount_ui(app: FastAPI, *, graphiql: bool) -> None:
    """Serve the UI at ``/`` and its assets under ``/ui``; GraphiQL at ``/graphiql`` when enabled."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def index() -> Response:
        return FileResponse(static_dir() / "index.html", media_type="text/html", headers=_NO_CACHE)

    @router.get("/graphiql")
    async def graphiql_ide() -> Response:
        if not graphiql:
            return error_response(
                "NOT_FOUND", "GraphiQL is off: serve with --graphiql (or --mode development) to turn it on", 404
            )
        return graphiql_page()

    app.include_router(router)
    app.mount(ASSETS_PREFIX, StaticFiles(directory=static_dir(), check_dir=True), name="ui")
