"""Typed wrappers for ``@strawberry.field(...)`` and ``@strawberry.mutation(...)`` with arguments.

Called with keyword arguments only, Strawberry's decorators are typed as returning ``Any``, which
strict mypy reports as untyped decorators; these keep the resolver's own signature visible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

F = TypeVar("F", bound=Callable[..., Any])


def field(description: str, *, name: str | None = None) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.field(description=description, name=name))


def mutation(description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.mutation(description=description))
