"""Owners: people or teams, with a contact, on any node; never inherited.

An owner is stored as an ``owner`` annotation (registration batches write them too). The value is a
name with an optional contact in angle brackets, ``team-payments <#payments-oncall>``; an e-mail
address alone is both name and contact. A node without owners has none: owners are not guessed from
neighbours, so "who to notify" lists only people who said they own something.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.errors import ValidationError
from lineage.model import NodeKind, NodeRecord, WriteResult
from lineage.storage.base import GraphStore, NodeFilter

_WITH_CONTACT = re.compile(r"^(?P<name>[^<>]+?)\s*<(?P<contact>[^<>]+)>$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    contact: str | None = None

    @property
    def value(self) -> str:
        if self.contact is None or self.contact == self.name:
            return self.name
        return f"{self.name} <{self.contact}>"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "contact": self.contact}


def parse_owner(value: str) -> Owner:
    """``team-x <x@acme.com>`` -> (team-x, x@acme.com); ``a@b.com`` -> (a@b.com, a@b.com); else no contact."""
    text = value.strip()
    match = _WITH_CONTACT.match(text)
    if match:
        return Owner(match["name"].strip(), match["contact"].strip())
    if _EMAIL.match(text):
        return Owner(text, text)
    return Owner(text)


def owner_value(name: str, contact: str | None = None) -> str:
    """The stored form of an owner; ValidationError when the name or contact is unusable."""
    name = name.strip()
    if not name or "<" in name or ">" in name:
        raise ValidationError(f"owner name {name!r} must be non-blank and must not contain '<' or '>'")
    if contact is not None:
        contact = contact.strip()
        if not contact or "<" in contact or ">" in contact:
            raise ValidationError(f"owner contact {contact!r} must be non-blank and must not contain '<' or '>'")
    value = Owner(name, contact).value
    if len(value) > 200:
        raise ValidationError(f"owner {value!r} is longer than 200 characters")
    return value


def owners_of(node: NodeRecord) -> list[Owner]:
    return sorted((parse_owner(v) for v in node.owners), key=lambda o: (o.name, o.contact or ""))


def set_owners(
    store: GraphStore,
    node_id: str,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    replace: Sequence[str] | None = None,
    principal: str,
    source: str = "api",
) -> WriteResult:
    """Add, remove or replace a node's owners (stored values, see :func:`owner_value`); audited."""
    store.get_node(node_id)
    values = [*add, *(replace or [])]
    for v in values:
        parsed = parse_owner(v)
        owner_value(parsed.name, parsed.contact)
    if replace is not None and not replace:
        raise ValidationError("replacing owners needs at least one owner; remove them one by one instead")
    return store.annotate(
        node_id, "owner", add=add, remove=remove, replace=replace, principal=principal, source=source
    )


@dataclass(slots=True)
class Notice:
    """One owner to notify: which reached nodes they own, and how many are production deployments."""

    owner: Owner
    nodes: list[str] = field(default_factory=list)
    production: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner.name,
            "contact": self.owner.contact,
            "nodes": self.nodes,
            "production": self.production,
        }


def notices(nodes: Iterable[tuple[NodeRecord, bool]]) -> list[Notice]:
    """Owners to notify for (node, is production) pairs: production impact first, then most nodes."""
    out: dict[Owner, Notice] = {}
    for node, production in nodes:
        for owner in owners_of(node):
            notice = out.setdefault(owner, Notice(owner))
            notice.nodes.append(node.id)
            if production:
                notice.production.append(node.id)
    return sorted(out.values(), key=lambda n: (not n.production, -len(n.nodes), n.owner.name))


def unowned(
    store: GraphStore,
    kinds: Sequence[NodeKind],
    *,
    as_of: datetime | None = None,
    namespaces: Sequence[str] = (),
    page: int = 1000,
) -> list[NodeRecord]:
    """Nodes of the kinds (in the namespaces, if given) with no owner as of the time, by id."""
    out: list[NodeRecord] = []
    spaces: list[str | None] = [*namespaces] or [None]
    for ns in spaces:
        after: str | None = None
        while True:
            batch = store.list_nodes(NodeFilter(kinds=tuple(kinds), namespace=ns), after, page, as_of)
            out.extend(n for n in batch if not n.owners)
            if len(batch) < page:
                break
            after = batch[-1].id
    return sorted(out, key=lambda n: n.id)
