"""Classification labels: names, the dotted hierarchy, and the column convention.

A classification is a lower-case dotted name; each dot opens a narrower class, so ``pii.email`` is a
kind of ``pii``. A node carrying ``pii.email`` therefore matches a question about ``pii``, and a
node that removes ``pii`` also stops ``pii.email``.

Classifications are stored as ``tag`` annotation values. A classification of one column of a
dataset is stored as ``<classification>@column:<column>``, e.g. ``pii.email@column:email``; the
dataset then carries the classification, and the explanation says which column it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lineage.errors import ValidationError
from lineage.model import NodeKind, NodeRecord

COLUMN_MARK = "@column:"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$")


@dataclass(frozen=True, slots=True, order=True)
class TagRef:
    """One tag value split into its classification and, for a column tag, the column."""

    classification: str
    column: str | None = None

    @property
    def value(self) -> str:
        return format_tag(self.classification, self.column)


def parse_tag(value: str) -> TagRef:
    """Split a stored tag value; tolerant of values written by other tools (no validation)."""
    if COLUMN_MARK in value:
        label, column = value.split(COLUMN_MARK, 1)
        if label and column:
            return TagRef(label, column)
    return TagRef(value)


def format_tag(classification: str, column: str | None = None) -> str:
    return f"{classification}{COLUMN_MARK}{column}" if column else classification


def check_classification(name: str) -> str:
    """Validate a classification name for writing; raise ValidationError saying what is wrong."""
    if not _NAME.match(name):
        raise ValidationError(
            f"classification {name!r} is not a lower-case dotted name such as 'pii' or 'pii.email' "
            "(letters, digits, '_' and '-' between dots)"
        )
    return name


def ancestors(classification: str) -> list[str]:
    """The classification and every broader one: ``pii.email.work`` -> itself, ``pii.email``, ``pii``."""
    parts = classification.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def covers(general: str, specific: str) -> bool:
    """Whether ``specific`` is ``general`` or a narrower class of it."""
    return specific == general or specific.startswith(general + ".")


def covered_by_any(generals: Iterable[str], specific: str) -> list[str]:
    return sorted(g for g in generals if covers(g, specific))


def columns_of(node: NodeRecord) -> list[str] | None:
    """The dataset's column names when its schema is known, else None.

    Accepts the shapes ingestion writes: ``columns: [name, ...]`` or ``[{name: ...}, ...]``,
    ``schema: [...]`` of the same, or an OpenLineage schema facet ``schema: {fields: [...]}``.
    """
    if node.kind is not NodeKind.DATASET:
        return None
    for key in ("columns", "schema"):
        raw: Any = node.properties.get(key)
        if isinstance(raw, dict):
            raw = raw.get("fields")
        if isinstance(raw, list):
            names = [c if isinstance(c, str) else c.get("name") for c in raw if isinstance(c, str | dict)]
            return [n for n in names if isinstance(n, str)]
    return None


def check_column(node: NodeRecord, column: str) -> None:
    """Refuse a column tag on a node that has no columns, or on a column its known schema lacks."""
    if node.kind is not NodeKind.DATASET:
        raise ValidationError(f"only datasets have columns; {node.id} is a {node.kind.value}")
    if not column.strip() or len(column) > 150:
        raise ValidationError(f"column name {column!r} must be 1 to 150 non-blank characters")
    known = columns_of(node)
    if known is not None and column not in known:
        raise ValidationError(
            f"{node.id} has no column {column!r}; its schema lists {', '.join(known) or 'no columns'}"
        )
