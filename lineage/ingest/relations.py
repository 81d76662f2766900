"""One relation, one dataset: how importers decide that two names denote the same table or files.

Producers name the same warehouse relation in several spellings: dbt seeds and the sources that
read them (``raw.customers`` loaded by a seed, read through ``source('raw', 'customers')``),
quoted and unquoted identifiers (``"analytics"."orders"``), upper- and lower-case on
case-insensitive warehouses, storage URIs with and without a trailing slash. Lineage breaks at
every such seam, so every importer (dbt, OpenLineage, and any later one) resolves names here:

- :func:`relation_name` builds ``database.schema.identifier`` from parts, without identifier quotes;
- :func:`canonical_name` rewrites a dotted name the same way (quotes inside a part keep its dots);
- :func:`relation_key` / :func:`location_key` give the comparison key of a relation or a storage
  location: the same key means the same dataset;
- :class:`RelationIndex` remembers which resource first claimed a key, so later names for the
  same relation resolve to that resource's dataset.

Keys compare case-insensitively (Postgres folds unquoted identifiers to lower case, Snowflake to
upper case); names keep the spelling of the resource that claimed the relation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")

_QUOTES = {'"': '"', "`": "`", "[": "]"}
#: Storage schemes that name the same objects (Hadoop's S3 connectors).
_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3"}


def split_relation(name: str) -> list[str]:
    """The dotted parts of a relation name, identifier quotes removed (``"a.b".c`` is two parts)."""
    parts: list[str] = []
    current: list[str] = []
    closing: str | None = None
    for ch in name.strip():
        if closing is not None:
            if ch == closing:
                closing = None
            else:
                current.append(ch)
        elif ch in _QUOTES:
            closing = _QUOTES[ch]
        elif ch == ".":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def relation_name(*parts: object) -> str:
    """``database.schema.identifier`` from the parts that are present, without identifier quotes."""
    out: list[str] = []
    for part in parts:
        if part is None or str(part).strip() == "":
            continue
        out += split_relation(str(part))
    return ".".join(out)


def canonical_name(name: str) -> str:
    """A dotted relation name without identifier quotes; names that are not relations are kept."""
    if not any(q in name for q in _QUOTES):
        return name
    parts = split_relation(name)
    return ".".join(parts) if parts else name


def relation_key(namespace: str, name: str) -> tuple[str, str]:
    """The comparison key of a relation: same key, same dataset."""
    return namespace.strip().rstrip("/").casefold(), ".".join(p.casefold() for p in split_relation(name))


def location_key(uri: str) -> str:
    """The comparison key of a storage location (``s3a://Bucket/path/`` and ``s3://bucket/path``)."""
    parts = urlsplit(uri.strip())
    if not parts.scheme:
        return uri.strip().rstrip("/")
    scheme = _SCHEME_ALIASES.get(parts.scheme.lower(), parts.scheme.lower())
    return urlunsplit((scheme, parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


@dataclass(slots=True)
class RelationIndex(Generic[T]):
    """Which resource claimed each relation first; later names of the same relation resolve to it."""

    _owners: dict[tuple[str, str], T] = field(default_factory=dict)

    def claim(self, namespace: str, name: str, owner: T) -> T:
        """Record ``owner`` for the relation unless one is known; return the relation's owner."""
        return self._owners.setdefault(relation_key(namespace, name), owner)

    def owner(self, namespace: str, name: str) -> T | None:
        return self._owners.get(relation_key(namespace, name))

    def claim_all(self, items: Iterable[tuple[str, str, T]]) -> None:
        for namespace, name, owner in items:
            self.claim(namespace, name, owner)
