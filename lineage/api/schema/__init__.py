"""The GraphQL schema, built from code; ``graphql/schema.graphql`` is its exported SDL."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import IgnoreContext
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from graphql import ASTValidationRule, GraphQLError
from lineage.api.errors import CachedParse, ErrorCodes
from lineage.api.execution import DirectExecution
from lineage.api.guard import GuardedValidation
from lineage.api.limits import MAX_ALIASES, MAX_TOKENS
from lineage.api.metrics import OperationMetrics
from lineage.api.schema.governance import GovernanceQuery
from lineage.api.schema.mutation import Mutation
from lineage.api.schema.query import Query
from lineage.api.schema.types import KIND_TYPES


class LineageSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are coded and, when unexpected, logged once by :class:`ErrorCodes`."""


def _introspection(context: IgnoreContext) -> bool:
    return context.field_name.startswith("__")


#: Distinct documents whose parse and validation results are kept (clients repeat a few documents).
DOCUMENT_CACHE = 512


def build_schema(max_query_depth: int = 12) -> LineageSchema:
    """The schema with its document limits. Extensions run outermost first: metrics see coded errors.

    The depth and alias limits are Strawberry's own validation rules (what ``QueryDepthLimiter`` and
    ``MaxAliasesLimiter`` install), created once here rather than once per request, so that
    Strawberry's ``ValidationCache`` can key on them and a repeated document is parsed and
    validated only once.
    """
    rules: list[type[ASTValidationRule]] = [aliases_rule(MAX_ALIASES), depth_rule(max_query_depth, _introspection)]
    extensions: list[Any] = [
        OperationMetrics,
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        CachedParse,
        lambda: AddValidationRules(rules),
        lambda: GuardedValidation(maxsize=DOCUMENT_CACHE),
    ]
    query = merge_types("Query", (Query, GovernanceQuery))
    return LineageSchema(
        query=query,
        mutation=Mutation,
        types=list(KIND_TYPES.values()),
        extensions=extensions,
        execution_context_class=DirectExecution,
    )


def export_sdl() -> str:
    """The schema as SDL text, as committed in ``graphql/schema.graphql``."""
    return strawberry.printer.print_schema(build_schema()).rstrip("\n") + "\n"
