"""Cheap checks that run before GraphQL validation, so that validation cost stays bounded and an
unauthenticated caller cannot make the server validate anything.

- When reads need a token, a request without a valid one is refused before validation (only a pure
  introspection document is let through, so tools can still load the schema).
- A document may select at most :data:`MAX_FIELDS` fields, counting each fragment spread as the
  fields it brings: one field repeated 1,200 times is 1,200 fields, and validating that many
  overlapping selections is quadratic.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import ValidationCache
from strawberry.schema.schema import validate_document

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from lineage.api.context import Context
from lineage.api.limits import MAX_CACHED_DOCUMENT
from lineage.errors import LimitExceededError, LineageError, UnauthenticatedError
from lineage.governance.access import require_read

#: Most fields one document may select, fragments expanded.
MAX_FIELDS = 500


def expanded_fields(document: DocumentNode, limit: int = MAX_FIELDS) -> int:
    """Fields the document selects with every fragment spread expanded; stops counting past ``limit``."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    sizes: dict[str, int] = {}

    def count(selection_set: SelectionSetNode | None, active: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += 1 + count(selection.selection_set, active)
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set, active)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in active:  # a fragment cycle: invalid, and unbounded
                    return limit + 1
                if name not in sizes:
                    fragment = fragments.get(name)
                    sizes[name] = count(fragment.selection_set, active | {name}) if fragment else 0
                total += sizes[name]
            if total > limit:
                return limit + 1
        return total

    total = 0
    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                total += count(definition.selection_set, frozenset())
            elif isinstance(definition, FragmentDefinitionNode) and definition.name.value not in sizes:
                total += count(definition.selection_set, frozenset({definition.name.value}))
            if total > limit:
                return limit + 1
    except RecursionError:
        return limit + 1
    return total


def _introspection_only(document: DocumentNode) -> bool:
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for selection in definition.selection_set.selections:
            if not (isinstance(selection, FieldNode) and selection.name.value.startswith("__")):
                return False
    return True


def refusal(context: object, document: DocumentNode | None) -> LineageError | None:
    """Why this document must not even be validated, or None."""
    if document is None:
        return None
    if isinstance(context, Context):
        if context.auth_error is not None:
            return context.auth_error
        if context.principal is None and not context.services.anonymous_read and not _introspection_only(document):
            try:
                require_read(None, False)
            except UnauthenticatedError as exc:
                return exc
    fields = expanded_fields(document)
    if fields > MAX_FIELDS:
        return LimitExceededError(
            f"the document selects more than {MAX_FIELDS} fields (fragments expanded); "
            "split it into several requests",
            details={"limit": MAX_FIELDS},
        )
    return None


class GuardedValidation(ValidationCache):
    """Strawberry's cached validation, preceded by :func:`refusal`. Documents longer than
    :data:`MAX_CACHED_DOCUMENT` are validated every time (the cache holds whole documents)."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        error = refusal(ec.context, ec.graphql_document)
        if error is None and ec.graphql_document is not None and len(ec.query or "") > MAX_CACHED_DOCUMENT:
            ec.pre_execution_errors = validate_document(ec.schema._schema, ec.graphql_document, ec.validation_rules)
            yield
            return
        if error is None:
            yield from super().on_validate()
            return
        ec.pre_execution_errors = [
            GraphQLError(error.message, original_error=error, extensions={"code": error.code})
        ]
        yield
