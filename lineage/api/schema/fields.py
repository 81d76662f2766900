"""Typed wrappers for ``@strawberry.field(...)`` and ``@strawberry.mutation(...)`` with arguments.

Called with keyword arguments only, Strawberry's decorators are typed as returning ``Any``, which
strict mypy reports as untyped decorators; these keep the resolver's own signature visible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

F = TypeVar("F", bound=Callable[..., Any])


def field(description: str, *, name: str | None = None) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.field(description=description, name=name))


def mutation(description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.mutation(description=description))


def selects(info: strawberry.Info[Any, Any], name: str) -> bool:
    """Whether the current field's selection asks for the subfield ``name`` (its GraphQL name),
    directly or through fragments: lets a resolver read up front, in one store call, what a
    subfield would otherwise fetch on its own.

    Reads the document's syntax tree (Strawberry's ``info.selected_fields`` converts the whole
    selection below the field, arguments included, on every call)."""
    raw = info._raw_info
    fragments = raw.fragments
    seen: set[str] = set()

    def within(selection_set: SelectionSetNode | None) -> bool:
        if selection_set is None:
            return False
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == name:
                    return True
            elif isinstance(selection, InlineFragmentNode):
                if within(selection.selection_set):
                    return True
            elif isinstance(selection, FragmentSpreadNode):
                spread = selection.name.value
                fragment = fragments.get(spread)
                if spread not in seen and fragment is not None:
                    seen.add(spread)
                    if within(fragment.selection_set):
                        return True
        return False

    return any(within(node.selection_set) for node in raw.field_nodes)
