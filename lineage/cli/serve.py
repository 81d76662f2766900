"""`lineage serve`: the GraphQL API server (uvicorn)."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from enum import StrEnum
from typing import Annotated

import typer
import uvicorn

from lineage.cli.common import StoreOpt, err, handle_errors, opened
from lineage.errors import ValidationError
from lineage.governance.access import anonymous_read_allowed
from lineage.settings import graphiql_enabled, load_settings, settings_env


class Mode(StrEnum):
    development = "development"
    production = "production"


class OpenLineageAck(StrEnum):
    mapped = "mapped"
    landed = "landed"


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
    response_cache_mib: Annotated[
        float | None,
        typer.Option(
            "--response-cache-mib",
            help="Memory per worker for answers to repeated read queries, dropped at every write "
            "(default 64; 0 turns the cache off).",
            show_default=False,
        ),
    ] = None,
    openlineage_ack: Annotated[
        OpenLineageAck | None,
        typer.Option(
            "--openlineage-ack",
            help="When OpenLineage events are answered: mapped (201, once in the graph; default) or landed "
            "(202, once kept in the intake file; mapped in the background by a process of its own).",
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
        response_cache_mib=response_cache_mib,
        openlineage_ack=openlineage_ack.value if openlineage_ack else None,
    )
    if settings.openlineage_ack == "landed":
        from lineage.ingest.openlineage_intake import intake_path

        intake_path(settings)  # a Neo4j store without an intake file: one error line now
    with opened(settings) as st:  # fail now, with exit code 3, rather than in every worker
        st.ping()
    sock = bind(settings.host, settings.port)  # before saying "serving": a busy port is one error line
    os.environ.update(settings_env(settings))
    anonymous = anonymous_read_allowed(settings.anonymous_read, settings.host)
    base = f"http://{settings.host}:{settings.port}"
    err().print(
        f"serving {settings.store}: web UI at {base}/, GraphQL at {base}/graphql"
        f"{f', GraphiQL at {base}/graphiql' if graphiql_enabled(settings) else ''} "
        f"({settings.mode} mode, {settings.workers} worker(s), anonymous read {'on' if anonymous else 'off'}"
        f"{', OpenLineage answered once landed' if settings.openlineage_ack == 'landed' else ''})",
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
        ),
        sock,
    )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything claims to serve. ValidationError (exit 2) when the
    address is in use or cannot be bound, as one line naming it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise ValidationError(
            f"cannot serve on {host}:{port}: {reason}; choose another with --port or stop what uses it"
        ) from None
    sock.set_inheritable(True)
    # TCP_NODELAY on the listening socket is inherited by accepted connections: asyncio does not set
    # it on sockets it did not create, and a keep-alive response written in two parts would then
    # wait about 40 ms for the client's delayed ACK.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run_uvicorn(config: uvicorn.Config, sock: socket.socket) -> None:
    """What ``uvicorn.run`` does, on a socket already bound (one worker, or a supervised pool)."""
    from uvicorn.supervisors import Multiprocess

    if config.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
        return
    uvicorn.Server(config).run(sockets=[sock])
