"""`lineage db`: prepare a store (constraints and indexes) and describe it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lineage.cli.common import Format, FormatOpt, StoreOpt, handle_errors, out, print_json, settings_for
from lineage.settings import store_options
from lineage.storage import NEO4J_SCHEMES, AuditFilter, GraphStore, open_store

app = typer.Typer(help="Store administration: create the schema, show what a store holds.", no_args_is_help=True)


def _open(url: str, options: dict[str, Any], create: bool = True) -> GraphStore:
    if url.startswith(NEO4J_SCHEMES):
        return open_store(url, create=create, **options)
    return open_store(url, **options)


@app.command("init")
@handle_errors
def init_cmd(fmt: FormatOpt = Format.text, store: StoreOpt = None) -> None:
    """Create the store's constraints and indexes; safe to run again (it changes nothing then).

    Neo4j: uniqueness constraints (node ids, audit sequence numbers, token hashes, ...) and the
    indexes the queries use; obsolete indexes of earlier versions are dropped. SQLite: the tables.
    """
    settings = settings_for(store)
    st = _open(settings.store, store_options(settings), create=False)
    try:
        ensure = getattr(st, "ensure_schema", None)
        if ensure is not None:
            change = ensure()
            result = {
                "store": st.url,
                "created": change.created,
                "existing": change.existing,
                "dropped": change.dropped,
            }
        else:
            result = {"store": st.url, "created": [], "existing": ["sqlite schema"], "dropped": []}
    finally:
        st.close()
    if fmt is Format.json:
        print_json(result)
        return
    console = out()
    console.print(f"store {result['store']}: schema ready", highlight=False)
    for key in ("created", "dropped"):
        for name in result[key]:
            console.print(f"  {key} {name}", highlight=False)
    console.print(f"  {len(result['existing'])} already present", highlight=False)


@app.command("info")
@handle_errors
def info_cmd(fmt: FormatOpt = Format.text, store: StoreOpt = None) -> None:
    """Show the backend, its server and database, what the store holds and the audit head."""
    settings = settings_for(store)
    with _open(settings.store, store_options(settings)) as st:
        server_info = getattr(st, "server_info", None)
        info: dict[str, Any] = server_info() if server_info is not None else {"backend": "sqlite", "url": st.url}
        size = getattr(st, "file_size", None)
        if size is not None:
            info["file_bytes"] = size()
        info["counts"] = st.counts()
        n = info["counts"]["audit_entries"]
        # Sequence numbers run 1..n without gaps, so the last entry is the one after n - 1.
        found = st.audit_entries(AuditFilter(after_seq=n - 1, limit=1)) if n else []
        last = found[0] if found else None
        info["audit_head"] = {"seq": last.seq, "hash": last.hash, "at": last.at.isoformat()} if last else None
    if fmt is Format.json:
        print_json(info)
        return
    console = out()
    for key, value in info.items():
        if isinstance(value, dict):
            console.print(f"{key}:", highlight=False)
            for k, v in value.items():
                console.print(f"  {k}: {v}", highlight=False)
        elif isinstance(value, list):
            console.print(f"{key}: {'; '.join(map(str, value))}", highlight=False)
        else:
            console.print(f"{key}: {value}", highlight=False)


@app.command("intake")
@handle_errors
def intake_cmd(
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    intake: Annotated[
        Path | None,
        typer.Option(help="The intake file (default: LINEAGE_OPENLINEAGE_INTAKE, else <store>.intake)."),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Put the events that failed to map back in the queue.")
    ] = False,
    map_now: Annotated[
        bool,
        typer.Option("--map", help="Map what waits now, in this process (when no server's mapper is running)."),
    ] = False,
) -> None:
    """The OpenLineage intake (`serve --openlineage-ack landed`): what waits, what failed and why,
    whether mapping waits for the store; put failed events back in the queue, or map what waits."""
    from lineage.errors import NotFoundError
    from lineage.ingest.openlineage_intake import Intake, intake_path, map_all

    settings = settings_for(store)
    path = intake or intake_path(settings)
    if not path.exists():
        raise NotFoundError(f"no OpenLineage intake at {path}", details={"element": str(path)})
    queue = Intake(path)
    try:
        requeued = queue.retry_failed() if retry_failed else []
        mapped = map_all(settings, path) if map_now else None
        result: dict[str, Any] = {"intake": str(path), **queue.status()}
    finally:
        queue.close()
    if retry_failed:
        result["requeued"] = len(requeued)
    if map_now:
        result["mapped_now"] = mapped
    if fmt is Format.json:
        print_json(result)
        return
    console = out()
    console.print(f"intake {path}", highlight=False)
    if retry_failed:
        console.print(f"  put back in the queue: {len(requeued)}", highlight=False)
    if map_now:
        console.print(f"  mapped now: {mapped}" + ("" if mapped else " (or a running mapper holds the intake)"),
                      highlight=False)
    age = result["oldest_waiting_s"]
    console.print(f"  waiting: {result['waiting']}" + (f" (oldest {age} s)" if age is not None else ""),
                  highlight=False)
    stall = result["stalled"]
    if stall:
        console.print(f"  stalled for {stall['for_s']} s: {stall['code']} {stall['message']}", highlight=False)
    console.print(f"  failed: {result['failed']}", highlight=False)
    for f in result["latest_failures"]:
        console.print(f"    #{f['intake_seq']} from {f['principal']}: {f['code']} {f['message']}", highlight=False)
