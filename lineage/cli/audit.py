"""`lineage audit`: read the log; prove the store (chain and rows); keep the head outside it, signed or not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.table import Table

from lineage.audit import checkpoint as cp
from lineage.cli.common import (
    Format,
    FormatOpt,
    StoreOpt,
    handle_errors,
    opened,
    out,
    parse_time,
    print_json,
    settings_for,
)
from lineage.errors import IntegrityError, ValidationError
from lineage.report.tables import print_table
from lineage.storage import AuditFilter

app = typer.Typer(
    help="Audit log: who registered or changed what, when; tamper evidence.", no_args_is_help=True
)


@app.command("log")
@handle_errors
def log_cmd(
    principal: Annotated[str | None, typer.Option("--principal", "-p", help="Only this principal.")] = None,
    node: Annotated[
        str | None, typer.Option("--node", "-n", help="Only entries touching this node id.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action (register, retract, ...).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time, inclusive.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time, inclusive.")] = None,
    after: Annotated[int, typer.Option("--after", help="Only entries after this sequence number.")] = 0,
    limit: Annotated[int, typer.Option("--limit", help="Most entries.")] = 100,
    payload: Annotated[
        bool, typer.Option("--payload", help="Include what each entry recorded (JSON).")
    ] = False,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """List audit entries, oldest first."""
    filt = AuditFilter(
        principal=principal,
        subject=node,
        action=action,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        after_seq=after,
        limit=limit,
    )
    with opened(settings_for(store), existing=True) as st:
        entries = st.audit_entries(filt)
    if fmt is Format.json:
        print_json([e.to_dict(with_payload=payload) for e in entries])
        return
    table = Table()
    for col in ("seq", "at", "principal", "source", "action", "subjects", "hash"):
        table.add_column(col, overflow="fold")
    for e in entries:
        subjects = ", ".join(e.subjects[:3]) + (f" (+{len(e.subjects) - 3})" if len(e.subjects) > 3 else "")
        table.add_row(
            str(e.seq),
            e.at.isoformat(timespec="seconds"),
            e.principal,
            e.source,
            e.action,
            subjects,
            e.hash[:12],
        )
    print_table(out(), table)


def _shown(url: str) -> str:
    """The store URL as a checkpoint names it: without any password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (same as --format json).")]


@app.command("verify")
@handle_errors
def verify_cmd(
    expect_head: Annotated[
        str | None,
        typer.Option("--expect-head", help="Head hash anchored earlier; the chain must end there."),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Signed checkpoint (lineage audit checkpoint); the store must extend it."),
    ] = None,
    pubkey: Annotated[
        Path | None, typer.Option("--pubkey", help="Trusted Ed25519 public key (PEM) the checkpoint was signed with.")
    ] = None,
    log_only: Annotated[
        bool, typer.Option("--log-only", help="Check the hash chain only (fast), not the stored graph.")
    ] = False,
    as_json: JsonOpt = False,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """Prove the store: the hash chain, and that every stored row is exactly what its audit entry
    wrote (nodes, revisions, edges, annotations, retractions, tokens, raw events, the subject index).

    Exit 0 when intact; 1 naming the first bad entry or row (table, key, expected vs found digest).
    """
    anchors: dict[int, str] = {}
    if checkpoint is not None or pubkey is not None:
        if checkpoint is None or pubkey is None:
            raise ValidationError("--checkpoint and --pubkey go together: the checkpoint and the key to trust")
        seq, head = cp.check(cp.read(checkpoint), cp.load_public_key(pubkey))
        if seq > 0:
            anchors[seq] = head
    with opened(settings_for(store), existing=True) as st:
        result = st.verify_store(expect_head=expect_head, anchors=anchors, log_only=log_only)
    if as_json or fmt is Format.json:
        print_json(result.to_dict())
    elif result.ok:
        what = "audit chain intact" if log_only else "store verified: the graph is exactly what the audit chain wrote"
        rows = "" if log_only else f", {result.rows} rows"
        out().print(f"{what}: {result.entries} entries{rows}, head {result.head}")
        if result.unproven_entries:
            out().print(
                f"note: {result.unproven_entries} entries predate row digests; the rows they wrote are not proven"
            )
    else:
        first = result.first
        assert first is not None
        if first.table == "audit":
            out().print(f"[bold red]audit chain BROKEN[/] at entry {first.seq}: {first.message}", highlight=False)
        else:
            out().print(f"[bold red]stored graph ALTERED[/]: {first.message}", highlight=False)
        if first.table not in (None, "audit") or first.key:
            out().print(f"  table/label: {first.table}  key: {first.key}", highlight=False)
        if first.expected or first.found:
            out().print(f"  expected digest: {first.expected}\n  found digest:    {first.found}", highlight=False)
        if len(result.problems) > 1:
            out().print(f"  ({len(result.problems) - 1} more problem(s); --json lists them)")
    if not result.ok:
        raise typer.Exit(1)


@app.command("head")
@handle_errors
def head_cmd(as_json: JsonOpt = False, fmt: FormatOpt = Format.text, store: StoreOpt = None) -> None:
    """Print the sequence number and hash of the last entry, to keep outside the store (a CI artifact)."""
    with opened(settings_for(store), existing=True) as st:
        result = st.verify_store(log_only=True)
    if as_json or fmt is Format.json:
        print_json({"seq": result.entries, "hash": result.head, "at": result.head_at})
        return
    out().print(f"{result.entries} {result.head}")


@app.command("checkpoint")
@handle_errors
def checkpoint_cmd(
    key: Annotated[Path, typer.Option("--key", help="Ed25519 private key (PEM), e.g. from `lineage audit keygen`.")],
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the checkpoint here (default: standard output).")
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Verify the store, then write its head signed with the key: keep it outside the store."""
    private = cp.load_private_key(key)
    settings = settings_for(store)
    with opened(settings, existing=True) as st:
        result = st.verify_store()
        if not result.ok:
            raise IntegrityError(f"refusing to sign the head of a store that does not verify: {result.problem}")
        signed = cp.sign(private, seq=result.entries, hash=result.head, at=result.head_at, store=_shown(st.url))
    text = json.dumps(signed, indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        out().print(f"checkpoint of entry {result.entries} written to {output}")


@app.command("keygen")
@handle_errors
def keygen_cmd(
    output: Annotated[Path, typer.Option("--out", "-o", help="Private key file to create (PEM, mode 0600).")],
) -> None:
    """Create an Ed25519 key pair for checkpoints: FILE (private) and FILE.pub (public)."""
    public = output.with_name(output.name + ".pub")
    cp.generate_key(output, public)
    out().print(f"private key: {output}\npublic key:  {public} (give this one to verifiers)")
