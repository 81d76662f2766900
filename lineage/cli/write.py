"""Write commands: register a batch, retract a node or edge."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from lineage.cli.common import (
    ActorOpt,
    Format,
    FormatOpt,
    StoreOpt,
    handle_errors,
    opened,
    out,
    principal,
    print_json,
    settings_for,
)
from lineage.errors import MalformedRequestError, ValidationError
from lineage.model import WriteResult, parse_batch


def load_document(path: Path) -> Any:
    """Read JSON or YAML (by extension; ``-`` reads JSON or YAML from stdin)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise MalformedRequestError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise MalformedRequestError(f"{path}: malformed YAML{where}: {getattr(exc, 'problem', exc)}") from None


def report_write(result: WriteResult, fmt: Format, what: str) -> None:
    if fmt is Format.json:
        print_json(result.to_dict())
    elif result.changed:
        out().print(
            f"{what}: {result.nodes_created} nodes created, {result.nodes_updated} updated, "
            f"{result.edges_created} edges created, {result.unchanged} unchanged (audit entry #{result.audit_seq})"
        )
    else:
        out().print(f"{what}: nothing new ({result.unchanged} elements already recorded)")


@handle_errors
def register_cmd(
    file: Annotated[Path, typer.Option("--file", "-F", help="Batch file (.json, .yaml, .yml; '-' for stdin).")],
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Register a batch of nodes and edges, all or nothing. Repeating it changes nothing."""
    settings = settings_for(store, actor)
    batch = parse_batch(load_document(file))
    who, source = principal(settings)
    with opened(settings) as st:
        result = st.register(batch, principal=who, source=source)
    report_write(result, fmt, "registered")


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
        out().print(f"retracted {target} at {result.recorded_at} (audit entry #{result.audit_seq})")
