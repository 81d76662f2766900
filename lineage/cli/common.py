"""Shared CLI plumbing: options, opening the store, mapping errors to exit codes."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from typer._click.globals import get_current_context

from lineage.errors import BackendUnavailableError, LineageError, ValidationError
from lineage.extras import missing_extra
from lineage.ingest.ci import resolve_principal
from lineage.model import NodeKind
from lineage.settings import Settings, load_settings, store_options
from lineage.storage import NEO4J_SCHEMES, GraphStore, open_store

if TYPE_CHECKING:
    from rich.console import Console

P = ParamSpec("P")
R = TypeVar("R")


class Format(StrEnum):
    text = "text"
    json = "json"


StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="LINEAGE_STORE",
        help="Store URL (sqlite:///lineage.db, neo4j://host:7687).",
        show_default=False,
    ),
]
ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--actor",
        envvar="LINEAGE_ACTOR",
        help="Principal recorded for writes (default: CI actor or OS user).",
        show_default=False,
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Show the graph as recorded at this time (ISO 8601, e.g. 2026-11-20T12:00:00Z).",
        show_default=False,
    ),
]


def out() -> Console:
    """The console for results. Rich is imported on first use, not by every command's start-up;
    emoji codes are off, so an id such as ``dataset:a:b:c`` prints as written."""
    from rich.console import Console

    return Console(soft_wrap=True, emoji=False)


def say(line: str) -> None:
    """Print a plain result line as written: no markup, no highlighting, and no rich import, so a CI
    hook's one-line summary costs nothing and an id such as ``[prod]`` is not read as a style."""
    sys.stdout.write(line + "\n")


def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, emoji=False)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Expected errors become a one-line message on stderr and the exit code of their class."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except LineageError as exc:
            fail(exc)
        except ModuleNotFoundError as exc:
            error = missing_extra(exc, f"`{command_path()}`")
            if error is None:
                raise
            fail(error)
        except KeyboardInterrupt:
            err().print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def fail(exc: LineageError) -> NoReturn:
    """Print the one-line error and exit with the code of its class."""
    from rich.markup import escape

    err().print(f"[bold red]error[/] [{exc.code}]: {escape(exc.message)}", markup=True, highlight=False)
    raise typer.Exit(exc.exit_code) from None


def command_path() -> str:
    """``lineage <command> ...`` of the command running, for messages."""
    ctx = get_current_context(silent=True)
    return ctx.command_path if ctx is not None else "lineage"


def settings_for(store: str | None, actor: str | None = None) -> Settings:
    return load_settings(store=store, actor=actor)


@contextmanager
def opened(settings: Settings, *, existing: bool = False) -> Iterator[GraphStore]:
    """Open the store of the settings and close it afterwards.

    ``existing``: for commands that only read, a SQLite file that is not there is an error (exit 3)
    instead of a new, empty store, so a mistyped path never answers "nothing found" or "intact".
    """
    options = store_options(settings)
    if existing and not settings.store.startswith(NEO4J_SCHEMES):
        options["create"] = False
    store = open_store(settings.store, **options)
    try:
        yield store
    finally:
        store.close()


def principal(settings: Settings) -> tuple[str, str]:
    return resolve_principal(settings.actor, os.environ)


def parse_time(text: str | None, option: str = "--as-of") -> datetime | None:
    """An ISO 8601 time given to ``option``; naive times are UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{option} {text!r} is not an ISO 8601 time, e.g. 2026-11-20T12:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_kinds(values: list[str] | None) -> tuple[NodeKind, ...]:
    kinds: list[NodeKind] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                try:
                    kinds.append(NodeKind.parse(part.strip()))
                except ValueError as exc:
                    raise ValidationError(str(exc)) from None
    return tuple(kinds)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def unavailable(url: str, exc: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(f"store {url!r} unavailable: {exc}")
