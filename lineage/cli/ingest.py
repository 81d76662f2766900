"""Ingestion commands: `lineage import openlineage|dbt|mlflow|feast`, `lineage replay`, `lineage columns`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lineage.cli import ingest_ml
from lineage.cli.common import (
    ActorOpt,
    Format,
    FormatOpt,
    StoreOpt,
    err,
    handle_errors,
    opened,
    out,
    principal,
    print_json,
    settings_for,
)
from lineage.cli.progress import progress
from lineage.errors import BackendUnavailableError, MalformedRequestError, ValidationError
from lineage.ingest.openlineage import OpenLineageIngester, Outcome, replay
from lineage.ingest.openlineage_events import parse_event
from lineage.report.tables import print_table
from lineage.settings import store_options
from lineage.storage import open_store

app = typer.Typer(
    help="Import lineage: OpenLineage event files, dbt manifests, MLflow tracking stores, Feast feature repositories.",
    no_args_is_help=True,
)

EVENT_SUFFIXES = (".json", ".ndjson", ".jsonl")
CHUNK = 200


def event_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EVENT_SUFFIXES)
    if path.is_file():
        return [path]
    raise ValidationError(f"no such file or directory: {path}")


def read_events(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, payload) for each event in a file: a JSON array, one JSON event, or NDJSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{n}", json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedRequestError(
                    f"{path}:{n}: neither a JSON document nor one JSON event per line (column {exc.colno}: {exc.msg})"
                ) from None
        return
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield f"{path}[{i}]", item
    else:
        yield str(path), data


@app.command("openlineage")
@handle_errors
def import_openlineage_cmd(
    path: Annotated[Path, typer.Argument(help="An event file (JSON array, one event, or NDJSON) or a folder of them.")],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Report invalid events and import the rest (default: import none).")
    ] = False,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Import OpenLineage events: each kept raw and mapped into the graph, as if sent over HTTP."""
    settings = settings_for(store, actor)
    who, _source = principal(settings)
    payloads: list[Any] = []
    problems: list[str] = []
    for file in event_files(path):
        for where, payload in read_events(file):
            try:
                parse_event(payload, where=where)
            except ValidationError as exc:
                problems.append(exc.message)
                continue
            payloads.append(payload)
    if problems and not skip_invalid:
        for line in problems[:20]:
            err().print(f"  {line}", highlight=False, markup=False)
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise ValidationError(
            f"{len(problems)} invalid event(s){more}; nothing imported. Fix them, or pass --skip-invalid"
        )
    totals = {
        "events": len(payloads),
        "invalid": len(problems),
        "nodes_created": 0,
        "nodes_updated": 0,
        "edges_created": 0,
        "retracted": 0,
        "failed": 0,
    }
    failures: list[str] = []
    with opened(settings) as st:
        ingester = OpenLineageIngester(st, principal=who, source="openlineage:import")
        with progress(fmt) as steps:
            steps.phase(f"importing {len(payloads):,} OpenLineage events", len(payloads))
            for start in range(0, len(payloads), CHUNK):
                chunk = payloads[start : start + CHUNK]
                for i, result in enumerate(ingester.ingest_many(chunk)):
                    if isinstance(result, BackendUnavailableError):  # no later event can be stored either
                        raise BackendUnavailableError(
                            f"{result.message}; events before #{start + i} were imported, the others not: "
                            "run the same import again once the store is available (it changes nothing twice)"
                        )
                    if isinstance(result, Outcome):
                        for key in ("nodes_created", "nodes_updated", "edges_created", "retracted"):
                            totals[key] += getattr(result, key)
                    else:
                        totals["failed"] += 1
                        failures.append(f"event #{start + i}: {result.message}")
                steps.advance(len(chunk))
    if fmt is Format.json:
        print_json({**totals, "failures": failures, "invalid_events": problems})
    else:
        for line in problems[:20] + failures[:20]:
            err().print(f"  skipped {line}", highlight=False, markup=False)
        out().print(
            f"imported {totals['events']} events: {totals['nodes_created']} nodes created, "
            f"{totals['nodes_updated']} updated, {totals['edges_created']} edges created, "
            f"{totals['retracted']} re-linked; {totals['invalid']} invalid, {totals['failed']} failed"
        )
    if totals["failed"]:
        raise typer.Exit(2)


@app.command("dbt")
@handle_errors
def import_dbt_cmd(
    manifest: Annotated[Path, typer.Argument(help="dbt target/manifest.json.")],
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            help="Dataset namespace (default: the adapter type); use the warehouse's "
            "OpenLineage namespace, e.g. postgres://host:5432, to meet OpenLineage events.",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="feeds: datasets linked by FEEDS; runs: one run per model.")
    ] = "feeds",
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Import a dbt manifest: models, sources, seeds and snapshots as datasets with their dependencies."""
    from lineage.cli.write import load_document, report_write
    from lineage.ingest.dbt import import_manifest

    if mode not in ("feeds", "runs"):
        raise ValidationError(f"--mode {mode!r}: expected feeds or runs")
    settings = settings_for(store, actor)
    who, _source = principal(settings)
    with progress(fmt) as steps:
        steps.phase(f"reading {manifest}")
        data = load_document(manifest)
        size = len(data.get("nodes") or {}) + len(data.get("sources") or {}) if isinstance(data, dict) else 0
        steps.phase(f"importing {size:,} dbt nodes and sources (mapping, checks, writes, audit)", size)
        with opened(settings) as st:
            result = import_manifest(
                st, data, principal=who, namespace=namespace, mode="runs" if mode == "runs" else "feeds"
            )
        steps.advance(size)
    report_write(result, fmt, f"imported dbt manifest {manifest}")


@handle_errors
def replay_cmd(
    source: Annotated[
        str | None,
        typer.Option("--from", help="Store whose raw events to replay (default: --store).", show_default=False),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--to", help="Store to map them into (a fresh one, usually).", show_default=False)
    ] = None,
    after: Annotated[int, typer.Option("--after", help="Only raw events after this sequence number.")] = 0,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Re-map every raw event kept in a store (OpenLineage events, dbt manifests) with the current mapping."""
    settings = settings_for(store, actor)
    who, _source = principal(settings)
    src_url = source or settings.store
    dst_url = target or settings.store
    src = open_store(src_url, **store_options(settings_for(src_url)))
    try:
        dst = src if dst_url == src_url else open_store(dst_url, **store_options(settings_for(dst_url)))
        try:
            total = src.counts().get("raw_events", 0)
            with progress(fmt) as steps:
                steps.phase(f"replaying {total:,} raw events", total)
                summary = replay(src, dst, principal=who, after_seq=after, progress=steps.reach)
        finally:
            if dst is not src:
                dst.close()
    finally:
        src.close()
    if fmt is Format.json:
        print_json(summary.to_dict())
    else:
        for line in summary.errors[:20]:
            err().print(f"  {line}", highlight=False, markup=False)
        out().print(
            f"replayed {summary.events} raw events from {src_url} into {dst_url}: {summary.mapped} mapped, "
            f"{summary.skipped} of other kinds skipped, {len(summary.errors)} no longer valid"
        )


@handle_errors
def columns_cmd(
    dataset: Annotated[str, typer.Argument(metavar="ID", help="A dataset version id.")],
    field: Annotated[str | None, typer.Option("--field", help="Only this column.", show_default=False)] = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """Column-level lineage into a dataset version (from OpenLineage columnLineage facets)."""
    from lineage.client import Client

    with opened(settings_for(store)) as st, Client(st) as client:
        edges = client.column_lineage(dataset, field=field)
    if fmt is Format.json:
        print_json(
            [
                {
                    "target": e.target,
                    "target_field": e.target_field,
                    "source": e.source,
                    "source_field": e.source_field,
                    "transformations": list(e.transformations),
                    "description": e.description,
                }
                for e in edges
            ]
        )
        return
    table = Table()
    for col in ("column", "from dataset", "from column", "transformation"):
        table.add_column(col, overflow="fold")
    for e in edges:
        kinds = ", ".join(
            str(t.get("type", "")) + (f"/{t['subtype']}" if t.get("subtype") else "") for t in e.transformations
        )
        table.add_row(e.target_field or "(whole dataset)", e.source, e.source_field, kinds or e.description or "")
    print_table(out(), table)
    if not edges:
        err().print(f"no column lineage recorded for {dataset}")


app.command("mlflow")(ingest_ml.import_mlflow_cmd)
app.command("feast")(ingest_ml.import_feast_cmd)
