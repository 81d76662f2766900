"""Typed wrappers for ``@strawberry.field(...)`` and ``@strawberry.mutation(...)`` with arguments.

Called with keyword arguments only, Strawberry's decorators are typed as returning ``Any``, which
strict mypy reports as untyped decorators; these keep the resolver's own signature visible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

F = TypeVar("F", bound=Callable[..., Any])


def field(description: str, *, name: str | None = None) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.field(description=description, name=name))


def mutation(description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.mutation(description=description))


def selects(info: strawberry.Info[Any, Any], name: str) -> bool:
    """Whether the current field's selection asks for the subfield ``name`` (its GraphQL name),
    directly or through fragments: lets a resolver read up front, in one store call, what a
    subfield would otherwise fetch on its own."""

    def within(selections: list[Selection]) -> bool:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if selection.name == name:
                    return True
            elif isinstance(selection, InlineFragment | FragmentSpread) and within(selection.selections):
                return True
        return False

    return any(isinstance(f, SelectedField) and within(f.selections) for f in info.selected_fields)
