"""Write commands: register a batch, retract a node or edge."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lineage.cli.common import (
    ActorOpt,
    Format,
    FormatOpt,
    StoreOpt,
    handle_errors,
    opened,
    principal,
    print_json,
    say,
    settings_for,
)
from lineage.errors import MalformedRequestError, ValidationError
from lineage.model import WriteResult, parse_batch
from lineage.model.documents import load_yaml, loads_json

if TYPE_CHECKING:
    from lineage.cli.cihook import Written
    from lineage.model import Batch


def load_document(path: Path) -> Any:
    """Read JSON or YAML (by extension; ``-`` reads JSON or YAML from stdin)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() == ".json":
        try:
            return loads_json(text, str(path))
        except json.JSONDecodeError as exc:
            raise MalformedRequestError(
                f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    import yaml  # only for YAML: a JSON batch never loads PyYAML

    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise MalformedRequestError(f"{path}: malformed YAML{where}: {getattr(exc, 'problem', exc)}") from None


def report_write(result: WriteResult, fmt: Format, what: str) -> None:
    if fmt is Format.json:
        print_json(result.to_dict())
    elif result.changed:
        say(
            f"{what}: {result.nodes_created} nodes created, {result.nodes_updated} updated, "
            f"{result.edges_created} edges created, {result.unchanged} unchanged (audit entry #{result.audit_seq})"
        )
    else:
        say(f"{what}: nothing new ({result.unchanged} elements already recorded)")


@handle_errors
def register_cmd(
    file: Annotated[
        Path | None,
        typer.Option("--file", "-F", help="Batch file (.json, .yaml, .yml; '-' for stdin).", show_default=False),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Job manifest (default: lineage.yaml here or at the repository root).",
                     show_default=False),
    ] = None,
    job: Annotated[
        str | None, typer.Option("--job", help="Job name (overrides lineage.yaml).", show_default=False)
    ] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Job namespace.", show_default=False)] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Run id (default: from the CI run, else the commit).", show_default=False),
    ] = None,
    status: Annotated[str, typer.Option("--status", help="Run state: COMPLETE, FAIL, ABORT, ...")] = "COMPLETE",
    inputs: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="Input node id (repeat).", show_default=False)
    ] = None,
    outputs: Annotated[
        list[str] | None, typer.Option("--output", "-o", help="Output node id (repeat).", show_default=False)
    ] = None,
    models: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model version id the job trained.", show_default=False)
    ] = None,
    deployments: Annotated[
        list[str] | None, typer.Option("--deployment", "-d", help="Deployment id the job made.", show_default=False)
    ] = None,
    properties: Annotated[
        list[str] | None, typer.Option("--property", "-p", help="Run property KEY=VALUE (repeat).", show_default=False)
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", envvar="LINEAGE_SERVER", help="Register through this server (token: LINEAGE_TOKEN).",
                     show_default=False),
    ] = None,
    fail_open_flag: Annotated[
        bool, typer.Option("--fail-open", help="If the store or server is unreachable, warn and exit 0.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the batch instead of registering it.")] = False,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Register lineage, all or nothing; repeating it changes nothing.

    With --file: a batch of nodes and edges (see `lineage schema batch`).

    Otherwise the CI hook: the job in lineage.yaml and flags, the commit from git, the CI run from the environment.
    """
    from lineage.cli import cihook

    if file is not None:
        from lineage.cli.progress import progress

        with progress(fmt) as steps:
            steps.phase(f"reading {file}")
            document = load_document(file)
            size = _size(document)
            steps.phase(f"validating {size:,} nodes and edges", size)
            batch, run, commit = parse_batch(document), None, None
            steps.advance(size)
            if not dry_run:
                steps.phase(f"registering {size:,} nodes and edges (checks, writes, audit)", size)
                written = _write_or_fail_open(batch, server, store, actor, fail_open_flag)
                steps.advance(size)
        if not dry_run:
            if written is not None:
                cihook.report(written, fmt, run, commit, server or settings_for(store, actor).store)
            return
    else:
        from lineage.ingest.manifest import Overrides

        overrides = Overrides(
            job=job,
            namespace=namespace,
            run_id=run_id,
            status=status.upper(),
            inputs=inputs or [],
            outputs=outputs or [],
            models=models or [],
            deployments=deployments or [],
            properties=cihook.parse_properties(properties),
        )
        batch, run, commit = cihook.build(config, overrides, load_document)
    if dry_run:
        print_json(batch.model_dump(mode="json", by_alias=True, exclude_defaults=True))
        return
    written = _write_or_fail_open(batch, server, store, actor, fail_open_flag)
    if written is not None:
        cihook.report(written, fmt, run, commit, server or settings_for(store, actor).store)


def _size(document: Any) -> int:
    """Nodes plus edges of a batch document, for progress (0 when it is not a batch)."""
    if not isinstance(document, dict):
        return 0
    return sum(len(v) for k in ("nodes", "edges") if isinstance(v := document.get(k), list))


def _write_or_fail_open(
    batch: Batch, server: str | None, store: str | None, actor: str | None, fail_open_flag: bool
) -> Written | None:
    """Register the batch; with --fail-open an unreachable store or server is a warning (None)."""
    from lineage.cli import cihook
    from lineage.errors import BackendUnavailableError

    try:
        return cihook.write(batch, server=server, store=store, actor=actor)
    except BackendUnavailableError as exc:
        if not fail_open_flag:
            raise
        cihook.fail_open(exc)
        return None


@handle_errors
def retract_cmd(
    target: Annotated[str, typer.Argument(metavar="ID", help="Node id, or edge id '<from> -<TYPE>-> <to>'.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it is wrong; kept in the audit log.")],
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Retract a node (and its edges) or an edge: hidden from later queries, never deleted."""
    settings = settings_for(store, actor)
    who, source = principal(settings)
    with opened(settings) as st:
        result = st.retract(target, reason=reason, principal=who, source=source)
    if fmt is Format.json:
        print_json(result.to_dict())
    else:
        say(f"retracted {target} at {result.recorded_at} (audit entry #{result.audit_seq})")
