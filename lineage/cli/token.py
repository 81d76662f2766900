"""`lineage token`: API tokens for the GraphQL server. Secrets are printed once and stored hashed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

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
from lineage.governance.access import active_tokens, create_token, revoke_token
from lineage.report.tables import print_table

app = typer.Typer(
    help="API tokens: create (the secret is printed once), list, revoke.", no_args_is_help=True
)


@app.command("create")
@handle_errors
def create_cmd(
    name: Annotated[str, typer.Argument(help="A name for the token, e.g. ci-payments; recorded in the audit log.")],
    role: Annotated[str, typer.Option("--role", "-r", help="reader, writer or admin.")],
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Limit a writer to these namespaces (repeat).", show_default=False),
    ] = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Create a token and print its secret on stdout (once: only its hash is stored)."""
    settings = settings_for(store, actor)
    who, _ = principal(settings)
    with opened(settings) as st:
        secret, record = create_token(st, name, role, namespace or [], principal=who)
    if fmt is Format.json:
        print_json({"name": record.name, "role": record.role, "namespaces": list(record.namespaces), "secret": secret})
        return
    limits = f", namespaces {', '.join(record.namespaces)}" if record.namespaces else ""
    err().print(
        f"token {record.name!r} created (role {record.role}{limits}). Copy the secret now; it is not shown again:",
        highlight=False,
    )
    print(secret)


@app.command("list")
@handle_errors
def list_cmd(
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Include revoked tokens.")] = False,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """List tokens (names, roles, namespaces; never secrets)."""
    settings = settings_for(store)
    with opened(settings) as st:
        tokens = active_tokens(st, include_revoked=show_all)
    if fmt is Format.json:
        print_json(
            [
                {
                    "name": t.name,
                    "role": t.role,
                    "namespaces": list(t.namespaces),
                    "created_at": t.created_at.isoformat(),
                    "created_by": t.created_by,
                    "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                }
                for t in tokens
            ]
        )
        return
    if not tokens:
        out().print("no tokens; create one with `lineage token create NAME --role reader`")
        return
    table = Table("name", "role", "namespaces", "created", "by", "revoked")
    for t in tokens:
        table.add_row(
            t.name,
            t.role,
            ", ".join(t.namespaces) or "all",
            t.created_at.strftime("%Y-%m-%d %H:%M"),
            t.created_by,
            t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "",
        )
    print_table(out(), table)


@app.command("revoke")
@handle_errors
def revoke_cmd(
    name: Annotated[str, typer.Argument(help="The token's name.")],
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Revoke a token: it stops working at once (the record stays, for the audit trail)."""
    settings = settings_for(store, actor)
    who, _ = principal(settings)
    with opened(settings) as st:
        revoke_token(st, name, principal=who)
        revoked = [t for t in active_tokens(st, include_revoked=True) if t.name == name and t.revoked_at]
    if fmt is Format.json:
        last = max(revoked, key=lambda t: t.revoked_at or t.created_at) if revoked else None
        print_json({"name": name, "revoked": True, "revoked_by": who,
                    "revoked_at": last.revoked_at.isoformat() if last and last.revoked_at else None})
        return
    out().print(f"token {name!r} revoked")
