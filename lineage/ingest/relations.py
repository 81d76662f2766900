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
  same relation resolve to that resource's dataset;
- :func:`location_name` names a storage location as OpenLineage does, and :class:`RelationResolver`
  finds the namespace the store already uses for a relation (for tools such as MLflow and Feast,
  which name tables without their warehouse).

Keys compare case-insensitively (Postgres folds unquoted identifiers to lower case, Snowflake to
upper case); names keep the spelling of the resource that claimed the relation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from lineage.model import NodeKind
from lineage.storage.base import GraphStore

T = TypeVar("T")

_QUOTES = {'"': '"', "`": "`", "[": "]"}
#: Storage schemes that name the same objects (Hadoop's S3 connectors).
_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3"}


def _strict_parts(name: str) -> list[str] | None:
    """Dotted parts when every quote encloses a whole part (``"a.b".c``); None otherwise."""
    parts: list[str] = []
    current: list[str] = []
    closing: str | None = None
    quoted = False  # the current part was quoted and closed: only a dot may follow
    for ch in name.strip():
        if closing is not None:
            if ch == closing:
                closing, quoted = None, True
            else:
                current.append(ch)
        elif ch == ".":
            parts.append("".join(current).strip())
            current, quoted = [], False
        elif quoted:
            return None
        elif ch in _QUOTES:
            if current:
                return None
            closing = _QUOTES[ch]
        else:
            current.append(ch)
    if closing is not None:
        return None
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def split_relation(name: str) -> list[str]:
    """The dotted parts of a relation name, identifier quotes removed (``"a.b".c`` is two parts).

    A name whose quotes do not enclose whole parts (``file[1].csv``) is split on dots as it is.
    """
    parts = _strict_parts(name)
    if parts is None:
        return [p for p in name.strip().split(".") if p]
    return parts


def relation_name(*parts: object) -> str:
    """``database.schema.identifier`` from the parts that are present, without identifier quotes."""
    out: list[str] = []
    for part in parts:
        if part is None or str(part).strip() == "":
            continue
        out += split_relation(str(part))
    return ".".join(out)


def canonical_name(name: str) -> str:
    """A dotted relation name without identifier quotes; anything else (paths, URIs, names whose
    quotes do not enclose whole parts) is kept exactly as it is."""
    if not any(q in name for q in _QUOTES) or "/" in name:
        return name
    parts = _strict_parts(name)
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


# -- names for datasets other tools describe (MLflow dataset sources, Feast data sources) --------

#: Object stores whose URI authority is a bucket (or container): OpenLineage names them
#: ``scheme://bucket`` and the object key.
BUCKET_SCHEMES = frozenset({"s3", "gs", "gcs", "abfs", "abfss", "wasb", "wasbs"})


@dataclass(frozen=True, slots=True)
class DatasetName:
    namespace: str
    name: str


def location_name(location: str) -> DatasetName | None:
    """The OpenLineage (namespace, name) of a storage location; None when it is not one.

    ``s3://bucket/key`` is namespace ``s3://bucket`` and name ``key`` (also ``gs``, ``abfss``,
    ...; ``s3a``/``s3n`` are ``s3``); a local path or ``file:///path`` is namespace ``file`` and
    name ``/path``; any other ``scheme://host[:port]/path`` is namespace ``scheme://host[:port]``
    and name ``path``. The location is first brought to its :func:`location_key` form.
    """
    text = location.strip()
    if not text:
        return None
    if text.startswith("/"):
        return DatasetName("file", str(PurePosixPath(text)))
    if "://" not in text:
        return None
    parts = urlsplit(location_key(text))
    if parts.scheme == "file":
        return DatasetName("file", str(PurePosixPath(parts.path or "/")))
    if not parts.netloc:
        return None
    return DatasetName(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or "/")


@dataclass(slots=True)
class RelationResolver:
    """The dataset a tool's source names, resolved against what the store already holds.

    A relation (``database.schema.table``) keeps its name; its namespace (the warehouse) is rarely
    known to the tool, so when the store holds datasets whose name has the same :func:`relation_key`,
    their namespace and spelling are used (several namespaces: the first in sorted order, listed in
    :attr:`ambiguous`); otherwise ``fallback``. A location is named by :func:`location_name`.
    """

    store: GraphStore
    fallback: str
    _found: dict[str, DatasetName] = field(default_factory=dict)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)

    def relation(self, relation: str) -> DatasetName:
        name = relation_name(relation) or relation
        if name in self._found:
            return self._found[name]
        key = relation_key("", name)[1]
        hits = self.store.search(name, kinds=(NodeKind.DATASET,), limit=200)
        same = sorted({(n.namespace, n.name) for n in hits if relation_key("", n.name)[1] == key})
        if len({ns for ns, _ in same}) > 1:
            self.ambiguous[name] = sorted({ns for ns, _ in same})
        found = DatasetName(*same[0]) if same else DatasetName(self.fallback, name)
        self._found[name] = found
        return found

    def resolve(self, *, relation: str | None = None, location: str | None = None) -> DatasetName | None:
        """The dataset a source names: its relation first (tables), else its location; None if neither."""
        if relation and relation_name(relation):
            return self.relation(relation)
        if location:
            return location_name(location)
        return None
