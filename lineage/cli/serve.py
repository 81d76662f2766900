"""`lineage serve`: the GraphQL API server (uvicorn)."""

from __future__ import annotations

import contextlib
import os
import socket
from enum import StrEnum
from typing import Annotated

import typer
import uvicorn
from pydantic import SecretStr

from lineage.cli.common import StoreOpt, err, handle_errors, opened
from lineage.governance.access import anonymous_read_allowed
from lineage.settings import Settings, graphiql_enabled, load_settings


class Mode(StrEnum):
    development = "development"
    production = "production"


def settings_env(settings: Settings) -> dict[str, str]:
    """Settings as ``LINEAGE_*`` variables, so every uvicorn worker builds the same app."""
    out: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        out[f"LINEAGE_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


@handle_errors
def serve_cmd(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).", show_default=False)
    ] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help="Port (default 8000).", show_default=False)] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Worker processes (default 1).", show_default=False)
    ] = None,
    store: StoreOpt = None,
    mode: Annotated[
        Mode | None,
        typer.Option("--mode", help="development: GraphiQL and /docs on; production: off.", show_default=False),
    ] = None,
    anonymous_read: Annotated[
        bool | None,
        typer.Option(
            "--anonymous-read/--no-anonymous-read",
            help="Allow queries without a token (default: only when bound to a loopback address).",
            show_default=False,
        ),
    ] = None,
    graphiql: Annotated[
        bool | None,
        typer.Option(
            "--graphiql/--no-graphiql",
            help="Serve GraphiQL at /graphiql (default: only in development mode).",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve the web UI at /, GraphQL at /graphql, /healthz, /readyz and /metrics."""
    from lineage.api.app import APP_FACTORY

    settings = load_settings(
        host=host,
        port=port,
        workers=workers,
        store=store,
        mode=mode.value if mode else None,
        anonymous_read=anonymous_read,
        graphiql=graphiql,
    )
    with opened(settings) as st:  # fail now, with exit code 3, rather than in every worker
        st.ping()
    os.environ.update(settings_env(settings))
    anonymous = anonymous_read_allowed(settings.anonymous_read, settings.host)
    base = f"http://{settings.host}:{settings.port}"
    err().print(
        f"serving {settings.store}: web UI at {base}/, GraphQL at {base}/graphql"
        f"{f', GraphiQL at {base}/graphiql' if graphiql_enabled(settings) else ''} "
        f"({settings.mode} mode, {settings.workers} worker(s), anonymous read {'on' if anonymous else 'off'})",
        highlight=False,
    )
    run_uvicorn(
        uvicorn.Config(
            APP_FACTORY,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=log_level,
        )
    )


def run_uvicorn(config: uvicorn.Config) -> None:
    """What ``uvicorn.run`` does, plus TCP_NODELAY on the shared socket of a multi-worker server.

    With several workers uvicorn binds the socket itself with protocol 0, so asyncio does not set
    TCP_NODELAY on accepted connections, and every keep-alive response written in two parts then
    waits about 40 ms for the client's delayed ACK. Set on the listening socket, the option is
    inherited by the connections it accepts.
    """
    from uvicorn.supervisors import Multiprocess

    server = uvicorn.Server(config)
    if config.workers > 1:
        sock = config.bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Multiprocess(config, sockets=[sock]).run()
        return
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind the address
        server.started = False
    if not server.started:  # the address was in use or unusable (the store was checked before)
        raise typer.Exit(2)
