"""What `lineage register` does as a CI hook: build the registration, then write it locally or to a server."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.cli.common import Format, err, opened, principal, print_json, say, settings_for
from lineage.errors import BackendUnavailableError, ValidationError
from lineage.model import Batch

if TYPE_CHECKING:
    from lineage.ingest.manifest import Overrides


@dataclass(frozen=True, slots=True)
class Written:
    """What a registration changed, whether written to a store or through a server."""

    nodes_created: int
    nodes_updated: int
    edges_created: int
    unchanged: int
    audit_seq: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes_created": self.nodes_created,
            "nodes_updated": self.nodes_updated,
            "edges_created": self.edges_created,
            "unchanged": self.unchanged,
            "audit_seq": self.audit_seq,
        }


def parse_properties(values: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs; values that parse as JSON (numbers, true, lists) keep their type."""
    props: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--property {item!r}: expected KEY=VALUE")
        try:
            props[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            props[key.strip()] = value
    return props


def build(config: Path | None, overrides: Overrides, load: Any) -> tuple[Batch, str | None, str | None]:
    """(batch, run id, commit id) for the current directory, environment and flags."""
    from lineage.ingest.manifest import prepare

    registration = prepare(Path.cwd(), os.environ, overrides, config=config, load=load)
    return registration.batch, registration.run, registration.commit


def write(batch: Batch, *, server: str | None, store: str | None, actor: str | None) -> Written:
    if server:
        from lineage.client import Client

        with Client(server, token=os.environ.get("LINEAGE_TOKEN")) as client:
            r = client.register(batch)
        return Written(r.nodes_created, r.nodes_updated, r.edges_created, r.unchanged, r.audit_seq)
    settings = settings_for(store, actor)
    who, source = principal(settings)
    with opened(settings) as st:
        w = st.register(batch, principal=who, source=source)
    return Written(w.nodes_created, w.nodes_updated, w.edges_created, w.unchanged, w.audit_seq)


def report(written: Written, fmt: Format, run: str | None, commit: str | None, where: str) -> None:
    if fmt is Format.json:
        print_json({"run": run, "commit": commit, "target": where, **written.to_dict()})
        return
    what = f"run {run}" if run else "batch"
    if written.audit_seq is not None:
        say(
            f"registered {what} in {where}: {written.nodes_created} nodes created, {written.nodes_updated} "
            f"updated, {written.edges_created} edges created, {written.unchanged} unchanged "
            f"(audit entry #{written.audit_seq})"
        )
    else:
        say(f"{what} already registered in {where}: nothing new ({written.unchanged} unchanged)")
    if commit:
        say(f"commit {commit}")


def fail_open(exc: BackendUnavailableError) -> None:
    err().print(
        f"[bold yellow]warning[/]: lineage was NOT registered: {exc.message} (--fail-open: continuing)",
        highlight=False,
    )
