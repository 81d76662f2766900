"""Governance commands: classifications (tag, untag, removes, show, reach), owners, approvals.

Every write is an audited annotation recorded under the principal of the command.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lineage.cli.common import (
    ActorOpt,
    AsOfOpt,
    Format,
    FormatOpt,
    StoreOpt,
    handle_errors,
    opened,
    out,
    parse_kinds,
    parse_time,
    principal,
    print_json,
    settings_for,
)
from lineage.governance.approvals import approvals_of, approve
from lineage.governance.classifications import (
    classification_reach,
    classify,
    declare_removes,
    effective_classifications,
    known_classifications,
)
from lineage.governance.owners import owner_value, owners_of, set_owners
from lineage.model import WriteResult
from lineage.report.tables import print_table

classify_app = typer.Typer(
    help="Classifications (pii, pii.email, gdpr, ...): set, remove, declare removal, explain, reach.",
    no_args_is_help=True,
)
owners_app = typer.Typer(help="Owners (people or teams, with a contact) of nodes.", no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(metavar="ID", help="Node id.")]
LabelsArg = Annotated[list[str], typer.Argument(metavar="CLASSIFICATION...", help="e.g. pii.email gdpr")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", "-r", help="Why; kept in the audit entry.", show_default=False)
]


def _written(result: WriteResult, fmt: Format, what: str) -> None:
    if fmt is Format.json:
        print_json(result.to_dict())
    elif result.changed:
        out().print(f"{what} (audit entry #{result.audit_seq})", highlight=False)
    else:
        out().print(f"nothing to change: {what.split(':', 1)[0]} already so", highlight=False)


@classify_app.command("tag")
@handle_errors
def tag_cmd(
    node_id: IdArg,
    labels: LabelsArg,
    column: Annotated[
        str | None, typer.Option("--column", "-c", help="Classify one column of a dataset.", show_default=False)
    ] = None,
    reason: ReasonOpt = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Classify a node (or one of its dataset columns); the classification flows downstream."""
    settings = settings_for(store, actor)
    who, source = principal(settings)
    with opened(settings) as st:
        result = classify(st, node_id, labels, column=column, principal=who, source=source, reason=reason)
    where = f"column {column} of {node_id}" if column else node_id
    _written(result, fmt, f"classified {where}: {', '.join(labels)}")


@classify_app.command("untag")
@handle_errors
def untag_cmd(
    node_id: IdArg,
    labels: LabelsArg,
    column: Annotated[str | None, typer.Option("--column", "-c", show_default=False)] = None,
    reason: ReasonOpt = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Remove classifications set directly on a node or column (inherited ones cannot be untagged)."""
    settings = settings_for(store, actor)
    who, source = principal(settings)
    with opened(settings) as st:
        result = classify(
            st, node_id, labels, column=column, remove=True, principal=who, source=source, reason=reason
        )
    _written(result, fmt, f"unclassified {node_id}: {', '.join(labels)}")


@classify_app.command("removes")
@handle_errors
def removes_cmd(
    node_id: IdArg,
    labels: LabelsArg,
    undo: Annotated[bool, typer.Option("--undo", help="Withdraw the declaration.")] = False,
    reason: ReasonOpt = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Declare that a run or dataset removes classifications (anonymisation, aggregation)."""
    settings = settings_for(store, actor)
    who, source = principal(settings)
    with opened(settings) as st:
        result = declare_removes(st, node_id, labels, undo=undo, principal=who, source=source, reason=reason)
    verb = "no longer removes" if undo else "removes"
    _written(result, fmt, f"{node_id} {verb}: {', '.join(labels)}")


@classify_app.command("show")
@handle_errors
def show_cmd(node_id: IdArg, as_of: AsOfOpt = None, fmt: FormatOpt = Format.text, store: StoreOpt = None) -> None:
    """Effective classifications of a node: where each was set and the path it arrived by."""
    with opened(settings_for(store)) as st:
        found = effective_classifications(st, node_id, as_of=parse_time(as_of))
    if fmt is Format.json:
        print_json(found.to_dict())
        return
    console = out()
    if not found.effective:
        console.print(f"{node_id} carries no classification", highlight=False)
    for e in found.effective:
        console.print(f"[bold]{e.classification}[/]  {'direct' if e.direct else 'inherited'}", highlight=False)
        console.print(f"  {e.origin.text()}", highlight=False)
        if not e.direct:
            console.print(f"  via {e.path_text()}", style="dim", highlight=False)
    for r in found.removed:
        console.print(f"[bold strike]{r.classification}[/]  removed", highlight=False)
        console.print(f"  {r.text()}", style="dim", highlight=False)


@classify_app.command("reach")
@handle_errors
def reach_cmd(
    label: Annotated[str, typer.Argument(metavar="CLASSIFICATION", help="e.g. pii (includes pii.email)")],
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only list these kinds.")] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """Every node a classification reaches, with kinds and owners, and where it was removed."""
    with opened(settings_for(store)) as st:
        found = classification_reach(st, label, as_of=parse_time(as_of), kinds=parse_kinds(kind))
    if fmt is Format.json:
        print_json(found.to_dict())
        return
    counts = ", ".join(f"{len(v)} {k}" for k, v in found.by_kind().items()) or "nothing"
    out().print(f"[bold]{label}[/] reaches {counts}", highlight=False)
    table = Table()
    for col in ("node", "kind", "classifications", "owners", "set on"):
        table.add_column(col, overflow="fold")
    for r in found.nodes:
        origins = sorted({e.origin.node for e in r.via})
        table.add_row(
            r.node.id,
            r.node.kind.value,
            ", ".join(sorted({e.classification for e in r.via})),
            ", ".join(r.node.owners) or "-",
            ", ".join(origins),
        )
    print_table(out(), table)
    for rm in found.removed:
        out().print(f"removed at {rm.removed_at}: {rm.text()}", style="dim", highlight=False)


@classify_app.command("list")
@handle_errors
def list_cmd(as_of: AsOfOpt = None, fmt: FormatOpt = Format.text, store: StoreOpt = None) -> None:
    """Every classification set somewhere, with its broader classes."""
    with opened(settings_for(store)) as st:
        labels = known_classifications(st, parse_time(as_of))
    if fmt is Format.json:
        print_json(labels)
    else:
        for label in labels:
            out().print(label, highlight=False)


# -- owners --------------------------------------------------------------------------------------


@owners_app.command("show")
@handle_errors
def owners_show_cmd(
    node_id: IdArg, as_of: AsOfOpt = None, fmt: FormatOpt = Format.text, store: StoreOpt = None
) -> None:
    """The owners recorded on a node (never inherited from neighbours)."""
    with opened(settings_for(store)) as st:
        node = st.get_node(node_id, parse_time(as_of))
    owners = owners_of(node)
    if fmt is Format.json:
        print_json({"node": node_id, "owners": [o.to_dict() for o in owners]})
        return
    if not owners:
        out().print(f"{node_id} has no owner", highlight=False)
    for o in owners:
        out().print(f"{o.name}" + (f"  <{o.contact}>" if o.contact and o.contact != o.name else ""), highlight=False)


def _owner_values(owners: list[str], contact: str | None) -> list[str]:
    if contact is not None and len(owners) != 1:
        raise typer.BadParameter("--contact goes with exactly one owner")
    return [owner_value(o, contact) for o in owners]


@owners_app.command("add")
@handle_errors
def owners_add_cmd(
    node_id: IdArg,
    owners: Annotated[list[str], typer.Argument(metavar="OWNER...", help="A team or person.")],
    contact: Annotated[
        str | None, typer.Option("--contact", help="E-mail, chat channel or pager of the owner.", show_default=False)
    ] = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Add owners to a node."""
    settings = settings_for(store, actor)
    who, source = principal(settings)
    values = _owner_values(owners, contact)
    with opened(settings) as st:
        result = set_owners(st, node_id, add=values, principal=who, source=source)
    _written(result, fmt, f"owners of {node_id}: added {', '.join(values)}")


@owners_app.command("remove")
@handle_errors
def owners_remove_cmd(
    node_id: IdArg,
    owners: Annotated[list[str], typer.Argument(metavar="OWNER...", help="Exactly as shown by `owners show`.")],
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Remove owners from a node."""
    settings = settings_for(store, actor)
    who, source = principal(settings)
    with opened(settings) as st:
        node = st.get_node(node_id)
        stored = {o.name: o.value for o in owners_of(node)} | {o.value: o.value for o in owners_of(node)}
        values = [stored.get(o, o) for o in owners]
        result = set_owners(st, node_id, remove=values, principal=who, source=source)
    _written(result, fmt, f"owners of {node_id}: removed {', '.join(values)}")


@owners_app.command("set")
@handle_errors
def owners_set_cmd(
    node_id: IdArg,
    owners: Annotated[list[str], typer.Argument(metavar="OWNER...")],
    contact: Annotated[str | None, typer.Option("--contact", show_default=False)] = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Replace a node's owners."""
    settings = settings_for(store, actor)
    who, source = principal(settings)
    values = _owner_values(owners, contact)
    with opened(settings) as st:
        result = set_owners(st, node_id, replace=values, principal=who, source=source)
    _written(result, fmt, f"owners of {node_id}: now {', '.join(values)}")


# -- approvals -----------------------------------------------------------------------------------


@handle_errors
def approve_cmd(
    node_id: Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID", help="The deployment the approval is for.")],
    classification: Annotated[
        str | None,
        typer.Option("--classification", "-c", help="Allow this classification (and narrower ones) to reach it.",
                     show_default=False),
    ] = None,
    reason: ReasonOpt = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="Withdraw the approval.")] = False,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Record (or revoke) an audited approval for a classification to reach a deployment.

    Without --classification, lists the approvals in force on the deployment.
    """
    settings = settings_for(store, actor)
    with opened(settings) as st:
        if classification is None:
            found = approvals_of(st, node_id, parse_time(as_of))
            if fmt is Format.json:
                print_json([a.to_dict() for a in found])
                return
            if not found:
                out().print(f"{node_id} has no approval in force", highlight=False)
            for a in found:
                out().print(
                    f"{a.value}  by {a.approved_by} at {a.approved_at.isoformat()} (audit #{a.audit_seq}): {a.reason}",
                    highlight=False,
                )
            return
        who, source = principal(settings)
        result = approve(st, node_id, classification, reason=reason or "", principal=who, source=source,
                         revoke=revoke)
    verb = "revoked approval" if revoke else "approved"
    _written(result, fmt, f"{verb}: {classification} may reach {node_id}")
