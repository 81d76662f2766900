"""`lineage migrate`: copy a store into another, audit log included, then verify the copy."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lineage.cli.common import Format, FormatOpt, err, handle_errors, out, print_json
from lineage.errors import IntegrityError
from lineage.settings import load_settings
from lineage.storage import NEO4J_SCHEMES, GraphStore, open_store
from lineage.storage.base import Section
from lineage.storage.migrate import MAX_TX_BYTES, copy_store, verify_copy

FromOpt = Annotated[str, typer.Option("--from", help="Store to copy (sqlite:///lineage.db, neo4j://host:7687, ...).")]
ToOpt = Annotated[str, typer.Option("--to", help="Empty store to copy into.")]


def _options(url: str, user: str | None, password: str | None, database: str | None) -> dict[str, Any]:
    """Neo4j credentials for one side: its own flags, else LINEAGE_NEO4J_* settings."""
    if not url.startswith(NEO4J_SCHEMES):
        return {}
    settings = load_settings()
    default_password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else None
    return {
        "user": user or settings.neo4j_user,
        "password": password if password is not None else default_password,
        "database": database or settings.neo4j_database,
    }


@handle_errors
def migrate_cmd(
    source_url: FromOpt,
    target_url: ToOpt,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Records per transaction.")] = 5_000,
    max_tx_mib: Annotated[
        int,
        typer.Option(
            "--max-tx-mib", min=1, help="Audit payload per transaction, MiB (an entry larger than that goes alone)."
        ),
    ] = MAX_TX_BYTES // 2**20,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Compare the stores afterwards.")] = True,
    sample: Annotated[int, typer.Option("--sample", min=1, help="Nodes sampled by the query checks.")] = 25,
    from_user: Annotated[str | None, typer.Option(envvar="LINEAGE_FROM_NEO4J_USER", show_default=False)] = None,
    from_password: Annotated[
        str | None, typer.Option(envvar="LINEAGE_FROM_NEO4J_PASSWORD", show_default=False, hidden=True)
    ] = None,
    from_database: Annotated[str | None, typer.Option(envvar="LINEAGE_FROM_NEO4J_DATABASE", show_default=False)] = None,
    to_user: Annotated[str | None, typer.Option(envvar="LINEAGE_TO_NEO4J_USER", show_default=False)] = None,
    to_password: Annotated[
        str | None, typer.Option(envvar="LINEAGE_TO_NEO4J_PASSWORD", show_default=False, hidden=True)
    ] = None,
    to_database: Annotated[str | None, typer.Option(envvar="LINEAGE_TO_NEO4J_DATABASE", show_default=False)] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Copy every node, edge, revision, annotation, token, raw event and audit entry into an empty store.

    Works in both directions (SQLite to Neo4j and back). Recording times, retractions and the audit
    chain are copied unchanged, so `lineage audit verify` on the copy ends at the same head. Stop
    writers first. Neo4j credentials come from LINEAGE_NEO4J_USER / _PASSWORD / _DATABASE, or per side
    from LINEAGE_FROM_NEO4J_* and LINEAGE_TO_NEO4J_*. Exit code 1 when the copy does not verify.
    """
    _migrate(
        source_url,
        target_url,
        batch_size,
        max_tx_mib * 2**20,
        verify,
        sample,
        _options(source_url, from_user, from_password, from_database),
        _options(target_url, to_user, to_password, to_database),
        fmt,
    )


def _migrate(
    source_url: str,
    target_url: str,
    batch_size: int,
    max_tx_bytes: int,
    verify: bool,
    sample: int,
    source_options: dict[str, Any],
    target_options: dict[str, Any],
    fmt: Format,
) -> None:
    with open_store(source_url, **source_options) as source, open_store(target_url, **target_options) as target:
        report = _copy(source, target, batch_size, max_tx_bytes)
        if verify:
            err().print("verifying the copy …", highlight=False)
            checked = verify_copy(source, target, sample=sample)
            report.problems, report.checks = checked.problems, checked.checks
        source_name, target_name = source.url, target.url
    result = {"from": source_name, "to": target_name, "verified": verify, **report.to_dict()}
    if fmt is Format.json:
        print_json(result)
    else:
        console = out()
        copied = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in report.copied.items())
        console.print(f"copied {source_name} -> {target_name}: {copied}", highlight=False)
        if verify and report.ok:
            console.print(f"verified: {report.checks} checks agree (counts, audit chain and head, queries)")
        for problem in report.problems:
            console.print(f"  differs: {problem}", highlight=False)
    if not report.ok:
        raise IntegrityError(f"the copy in {target_name} differs from {source_name} in {len(report.problems)} checks")


def _copy(source: GraphStore, target: GraphStore, batch_size: int, max_tx_bytes: int) -> Any:
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err(),
        transient=False,
    ) as bar:
        tasks: dict[Section, TaskID] = {}

        def progress(section: Section, done: int, total: int | None) -> None:
            if section not in tasks:
                tasks[section] = bar.add_task(section.value.replace("_", " "), total=total)
            bar.update(tasks[section], completed=done, total=total if total is not None else done or None)

        return copy_store(source, target, batch_size=batch_size, max_tx_bytes=max_tx_bytes, progress=progress)
