"""Namespace scopes for OpenLineage events: the same rule as a GraphQL ``register`` of the batch an
event maps to.

An event is mapped into a plan (nodes, edges, retractions) inside its write transaction; before
anything of it is written, a writer limited to namespaces must own every node the plan would
create or change (properties, event time, owners), every node it would retract, and at least one
end of every edge it links or unlinks. Nodes an event only reads (an input dataset recorded by
someone else, unchanged) need no scope: reading across namespaces is what lineage is for. One
element out of scope refuses the whole event with FORBIDDEN naming it. The check runs in the
mapping layer, so single events, batches, replays and imports under a scoped principal all pass it.
"""

from __future__ import annotations

from typing import TypeAlias

from lineage.governance.access import Principal, check_namespaces
from lineage.ingest.openlineage_runs import Plan
from lineage.model.ids import parse_node_id
from lineage.storage.base import WriteTx

#: Who an event is written for: an audit principal name, or a principal whose scope is enforced.
Author: TypeAlias = str | Principal

ACTION = "send OpenLineage events"


def author_id(author: Author) -> str:
    """What the audit log records for this author."""
    return author.id if isinstance(author, Principal) else author


def is_scoped(author: Author) -> bool:
    """Whether the author's writes are limited to namespaces."""
    return isinstance(author, Principal) and not author.is_admin and bool(author.namespaces)


def check_scope(tx: WriteTx, plan: Plan, author: Author) -> None:
    """Raise ForbiddenError unless ``author`` may make every change of ``plan`` (see module doc)."""
    if not isinstance(author, Principal) or not is_scoped(author):
        return
    specs = list(plan.nodes.values())
    stored = tx.nodes([s.id for s in specs]) if specs else {}
    with_owners = [s.id for s in specs if s.owners and s.id in stored]
    owners = tx.annotations(with_owners, "owner") if with_owners else {}
    touched: list[tuple[str, str]] = []
    for spec in specs:
        old = stored.get(spec.id)
        if old is None:
            touched.append((f"{spec.id} (would be created)", spec.namespace))
            continue
        changed = (
            {**old.properties, **spec.properties} != old.properties
            or (spec.event_time or old.event_time) != old.event_time
            or bool(set(spec.owners) - owners.get(spec.id, set()))
        )
        if changed:
            touched.append((f"{spec.id} (would be changed)", spec.namespace))
    touched += [(f"{nid} (would be retracted)", _namespace(nid)) for nid in plan.retract_nodes]
    edges = [
        (f"edge {src} -{kind.value}-> {dst}", _namespace(src), _namespace(dst))
        for src, kind, dst in [*plan.edges, *plan.retract_edges]
    ]
    check_namespaces(author, touched, edges, action=ACTION)


def _namespace(node_id: str) -> str:
    return parse_node_id(node_id).namespace
