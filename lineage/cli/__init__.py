"""The `lineage` command: thin commands over the library, split by group.

Exit codes are part of the contract: 0 ok, 1 a check found a problem, 2 bad input or usage,
3 store unavailable.

Start-up cost is part of the contract too (a CI hook runs ``lineage register`` on every job): this
module imports only typer. Each command's module is imported when that command runs; the top-level
help is drawn from :data:`COMMANDS` without importing any of them.
"""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass
from importlib import import_module
from typing import Annotated, Any

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from lineage import __version__


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a command lives (``module:attribute``, a function or a typer app) and its one-line help."""

    target: str
    help: str


#: Every top-level command, in the order the help lists them.
COMMANDS: dict[str, LazyCommand] = {
    "demo": LazyCommand(
        "lineage.cli.demo:demo_cmd",
        "Load the demo graph (idempotent) and print an impact report for a corrupted dataset version.",
    ),
    "register": LazyCommand(
        "lineage.cli.write:register_cmd", "Register lineage, all or nothing; repeating it changes nothing."
    ),
    "retract": LazyCommand(
        "lineage.cli.write:retract_cmd",
        "Retract a node (and its edges) or an edge: hidden from later queries, never deleted.",
    ),
    "impact": LazyCommand(
        "lineage.cli.query:impact_cmd",
        "Downstream impact: everything derived from ID, with distance, one path and owners.",
    ),
    "provenance": LazyCommand(
        "lineage.cli.query:provenance_cmd",
        "Upstream provenance: the bill of materials of ID (data, features, commits, runs).",
    ),
    "show": LazyCommand("lineage.cli.query:show_cmd", "A node with its properties, neighbours and history."),
    "search": LazyCommand("lineage.cli.query:search_cmd", "Find nodes by name or id."),
    "audit": LazyCommand("lineage.cli.audit:app", "Audit log: who registered or changed what, when; tamper evidence."),
    "schema": LazyCommand(
        "lineage.cli.schema:app", "The lineage schema (allowed edges) and the batch file's JSON Schema."
    ),
    "db": LazyCommand("lineage.cli.db:app", "Store administration: create the schema, show what a store holds."),
    "migrate": LazyCommand(
        "lineage.cli.migrate:migrate_cmd",
        "Copy every node, edge, revision, annotation, token, raw event and audit entry into an empty store.",
    ),
    "serve": LazyCommand(
        "lineage.cli.serve:serve_cmd", "Serve the web UI at /, GraphQL at /graphql, /healthz, /readyz and /metrics."
    ),
    "token": LazyCommand("lineage.cli.token:app", "API tokens: create (the secret is printed once), list, revoke."),
    "check": LazyCommand(
        "lineage.cli.check:check_cmd",
        "Check lineage against a policy. Exit 0 when it holds, 1 on violations, 2 for an invalid policy.",
    ),
    "classify": LazyCommand(
        "lineage.cli.governance:classify_app",
        "Classifications (pii, pii.email, gdpr, ...): set, remove, declare removal, explain, reach.",
    ),
    "owners": LazyCommand(
        "lineage.cli.governance:owners_app", "Owners (people or teams, with a contact) of nodes."
    ),
    "approve": LazyCommand(
        "lineage.cli.governance:approve_cmd",
        "Record (or revoke) an audited approval for a classification to reach a deployment.",
    ),
    "import": LazyCommand(
        "lineage.cli.ingest:app",
        "Import lineage: OpenLineage event files, dbt manifests, MLflow tracking stores, Feast feature repositories.",
    ),
    "replay": LazyCommand(
        "lineage.cli.ingest:replay_cmd",
        "Re-map every raw event kept in a store (OpenLineage events, dbt manifests) with the current mapping.",
    ),
    "columns": LazyCommand(
        "lineage.cli.ingest:columns_cmd",
        "Column-level lineage into a dataset version (from OpenLineage columnLineage facets).",
    ),
}


def load_command(name: str, spec: LazyCommand) -> _click.Command:
    """Import the command's module and build its click command (a group for a typer app)."""
    module_name, _, attribute = spec.target.partition(":")
    target = getattr(import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        command: _click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A group whose commands are placeholders (name and help) until one is run.

    Help and shell completion list the placeholders; resolving a command to run it (or to complete
    its options) imports its module and swaps in the real command.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, spec in COMMANDS.items():
            self.commands.setdefault(name, _Placeholder(name, spec))

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        if args and isinstance(placeholder := self.commands.get(args[0]), _Placeholder):
            self.commands[args[0]] = placeholder.load()
        return super().resolve_command(ctx, args)


class ProcessGroup(LazyGroup):
    """The group of the ``lineage`` process itself (:func:`main`), which owns the interpreter.

    Loading a command builds many objects that live as long as the process (modules, classes, the
    command's options) and frees few, so each collection of Python's cycle collector meanwhile walks
    them again for nothing. The collector is paused while the command loads and what loading built
    is then frozen (:func:`gc.freeze`: kept out of every later collection), so neither the loading
    nor the command's own collections walk it. In-process callers (``build_app()``, tests) keep
    the plain :class:`LazyGroup`, which leaves the collector alone.
    """

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        if not (args and isinstance(self.commands.get(args[0]), _Placeholder)):
            return super().resolve_command(ctx, args)
        enabled = gc.isenabled()
        gc.disable()
        try:
            return super().resolve_command(ctx, args)
        finally:
            gc.freeze()
            if enabled:
                gc.enable()


class _Placeholder(TyperCommand):
    def __init__(self, name: str, spec: LazyCommand) -> None:
        super().__init__(name, help=spec.help, short_help=spec.help, add_help_option=False)
        self.spec = spec

    def load(self) -> _click.Command:
        from lineage.extras import missing_extra

        assert self.name is not None
        try:
            return load_command(self.name, self.spec)
        except ModuleNotFoundError as exc:
            error = missing_extra(exc, f"`lineage {self.name}`")
            if error is None:
                raise
            sys.stderr.write(f"error [{error.code}]: {error.message}\n")
            raise typer.Exit(error.exit_code) from None


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"lineage {__version__}\n")
        raise typer.Exit(0)


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Lineage and governance for ML platforms: impact, provenance, audit."""


def build_app(*, owns_process: bool = False) -> typer.Typer:
    """The ``lineage`` app; ``owns_process`` for the command's own process (see :class:`ProcessGroup`)."""
    app = typer.Typer(
        name="lineage",
        cls=ProcessGroup if owns_process else LazyGroup,
        help="Lineage and governance for ML platforms: impact, provenance, audit.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    return app


def main() -> None:
    build_app(owns_process=True)(prog_name="lineage")
