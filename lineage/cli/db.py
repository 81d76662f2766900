"""`lineage db`: prepare a store (constraints and indexes) and describe it."""

from __future__ import annotations

from typing import Any

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
