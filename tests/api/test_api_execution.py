"""The server's GraphQL execution (lineage.api.execution) answers exactly as Strawberry's own.

Every read example of ``graphql/queries`` and a document selecting every plain field of every
node kind go over HTTP to two apps on the same store: one as served, one with Strawberry's
standard executor. The bodies must be equal, byte for byte. A small schema then checks, value by
value (hypothesis), that nulls, refused values, errors and enums complete as the standard
executor completes them.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import strawberry
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, is_leaf_type
from lineage.api.execution import DirectExecution
from lineage.api.schema import build_schema
from lineage.api.schema.types import KIND_TYPES
from tests.api.conftest import Api, Seeded, app_settings, open_api
from tests.api.test_api_schema import example_variables

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "graphql" / "queries").glob("*.graphql"))
IMPACT_ROOT = "dataset:raw/payments.transactions@2026-11-03"


def _plain_fields(type_name: str) -> list[str]:
    """Fields of a node type without arguments whose values are scalars, enums or lists of them."""
    gql_type = build_schema()._schema.get_type(type_name)
    assert isinstance(gql_type, GraphQLObjectType)
    out = []
    for name, definition in gql_type.fields.items():
        inner = definition.type
        while isinstance(inner, GraphQLNonNull | GraphQLList):
            inner = inner.of_type
        if is_leaf_type(inner) and not definition.args:
            out.append(name)
    return out


def _node_selection() -> str:
    fragments = " ".join(
        f"... on {t.__name__} {{ {' '.join(_plain_fields(t.__name__))} }}" for t in KIND_TYPES.values()
    )
    return f"id kind {fragments}"


#: Documents selecting every plain field of every node kind (each under the field-count limit).
EVERY_FIELD = {
    "every-field-nodes": f"""{{
      nodes(first: 200) {{ pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {_node_selection()} }} }} }}
    }}""",
    "every-field-impact-rows": f"""query Rows($id: ID!) {{
      impact(id: $id, first: 200) {{
        reached {{ totalCount pageInfo {{ hasNextPage endCursor }}
          edges {{ cursor distance production path {{ length steps {{ via nodeId node {{ id }} }} }}
                  node {{ {_node_selection()} downstream {{ id kind }} }} }} }}
      }}
    }}""",
    "every-field-impact-summary": f"""query Summary($id: ID!) {{
      impact(id: $id, first: 5) {{
        root {{ {_node_selection()} }} total truncated depth kinds counts {{ kind count }} asOf
        productionDeployments {{ distance production node {{ id kind }} path {{ length text nodeIds edgeTypes }} }}
        ownersToNotify {{ owner nodeIds production }}
      }}
      provenance(id: $id) {{ total counts {{ kind count }} groups {{ kind count items {{ distance node {{ id }} }} }} }}
    }}""",
}


DOCUMENTS = [
    *(
        pytest.param(p.read_text(), example_variables(p.read_text()), id=p.stem)
        for p in EXAMPLES
        if not p.read_text().lstrip("# \n").startswith("mutation") and "\nmutation " not in p.read_text()
    ),
    *(pytest.param(text, {"id": IMPACT_ROOT}, id=name) for name, text in EVERY_FIELD.items()),
]


@pytest.fixture
async def standard(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    """The same app with Strawberry's standard executor."""
    monkeypatch.setattr("lineage.api.schema.DirectExecution", StrawberryGraphQLCoreExecutionContext)
    async for a in open_api(app_settings(seeded.url), seeded.secrets):
        yield a


@pytest.mark.parametrize(("document", "variables"), DOCUMENTS)
async def test_same_bytes_as_strawberry_execution(
    api: Api, standard: Api, document: str, variables: dict[str, Any]
) -> None:
    payload = {"query": document, "variables": variables}
    served = await api.client.post("/graphql", json=payload, headers=api.headers("reader"))
    reference = await standard.client.post("/graphql", json=payload, headers=standard.headers("reader"))
    assert served.status_code == reference.status_code == 200
    assert json.loads(served.content).get("data"), served.text[:500]
    assert served.content == reference.content


# -- completion of single values ------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.interface
class Named:
    title: str | None

    @classmethod
    def resolve_type(cls, obj: Any, info: Any, abstract_type: Any) -> Any:
        if isinstance(obj, Named):
            return type(obj).__name__
        return getattr(obj, "type_name", None)


@strawberry.type
class Alpha(Named):
    weight: int

    @strawberry.field
    async def later(self) -> int:
        """An asynchronous field: its errors surface after the list around it is built."""
        if self.title == "boom":
            raise ValueError("boom")
        return 1


@strawberry.type
class Beta(Named):
    tags: list[str] | None


@strawberry.type
class Item:
    count: int
    label: str | None
    tags: list[str]
    maybe: list[int | None] | None
    colour: Colour
    colours: list[Colour] | None
    data: JSON | None
    named: Named | None = None
    nameds: list[Named | None] | None = None
    strict: list[Named] | None = None
    child: Item | None = None

    @strawberry.field
    def doubled(self) -> int:
        return self.count * 2

    @strawberry.field
    def shout(root) -> str:  # Strawberry passes the parent as `root`
        return str(root.label).upper()

    @strawberry.field
    def times(self, k: int = 2) -> int:
        """A field with an argument: Strawberry's resolver, inside a selection read directly."""
        return self.count * k


@strawberry.type
class Query:
    items: strawberry.Private[list[Any]]

    @strawberry.field
    def list(self) -> list[Item | None]:
        return self.items


NAMED = "title ... on Alpha { weight later } ... on Beta { tags }"
#: Nullable fields first: a null in a non-null field stops the rest of its object. Aliases, a
#: field selected twice (merged), a typename, a field with an argument and directives mixed in.
SELECTION = (
    f"named {{ {NAMED} }} nameds {{ {NAMED} }} strict {{ {NAMED} }} "
    "label maybe colours data again: label __typename ... on Item { label times(k: 3) } "
    "skipped: tags @skip(if: true) kept: data @include(if: true) "
    "count tags colour doubled shout"
)
QUERY = f"{{ list {{ {SELECTION} child {{ {SELECTION} }} }} }}"
SCHEMAS = {
    "direct": strawberry.Schema(query=Query, types=[Alpha, Beta], execution_context_class=DirectExecution),
    "standard": strawberry.Schema(query=Query, types=[Alpha, Beta]),
}
anything = st.one_of(
    st.none(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=3),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(list(Colour)),
    st.just(ValueError("broken value")),
    st.lists(st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=2), st.sampled_from(list(Colour))), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


class Loose:
    """An object with whatever attribute values (Strawberry reads attributes, not types)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def _named(choice: tuple[str, Any, Any]) -> Any:
    """A value for an interface field: a real object, one claiming a type it is not, or other."""
    kind, title, extra = choice
    if kind == "alpha":
        return Alpha(title=title, weight=extra)
    if kind == "beta":
        return Beta(title=title, tags=extra)
    if kind == "claims-alpha":
        return Loose(type_name="Alpha", title=title, weight=extra)
    if kind == "unknown-type":
        return Loose(type_name="Nope", title=title)
    return extra


def _item(values: dict[str, Any], child: Any) -> Loose:
    plain = {k: v for k, v in values.items() if k not in ("named", "nameds")}
    nameds = values["nameds"]
    return Loose(
        child=child,
        named=_named(values["named"]),
        nameds=None if nameds is None else [_named(n) for n in nameds],
        strict=None if nameds is None else [_named(n) for n in nameds],
        **plain,
    )


FIELDS = ("count", "label", "tags", "maybe", "colour", "colours", "data")
named = st.tuples(
    st.sampled_from(["alpha", "beta", "claims-alpha", "unknown-type", "other"]),
    st.one_of(st.just("boom"), anything),
    anything,
)
#: Non-null fields get valid values most of the time, so that the fields around them run.
VALID = {
    "count": st.integers(-5, 5),
    "tags": st.lists(st.text(max_size=2), max_size=2),
    "colour": st.sampled_from(list(Colour)),
}
values = st.fixed_dictionaries(
    {
        **{name: st.one_of(VALID[name], VALID[name], anything) if name in VALID else anything for name in FIELDS},
        "named": named,
        "nameds": st.one_of(st.none(), st.lists(named, max_size=3)),
    }
)


def _valid(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "count": 1, "label": "a", "tags": ["t"], "maybe": [1, None], "colour": Colour.RED, "colours": None,
        "data": {"k": 1}, "named": ("alpha", "x", 1), "nameds": [("beta", None, ["b"])],
    }  # fmt: skip
    row.update(changes)
    return row


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example([(_valid(), _valid())])
@example([(_valid(named=("claims-alpha", "x", 1), nameds=[("claims-alpha", "y", 2), ("alpha", "z", 3)]), None)])
@example([(_valid(named=("unknown-type", "x", 1), nameds=[("unknown-type", "y", 2), ("other", 1, None)]), None)])
@example([(_valid(named=("other", 1, ValueError("no"))), None), (_valid(nameds=[("other", 1, KeyError("no"))]), None)])
@example([(_valid(nameds=[("alpha", "x", "not an int"), ("beta", 5, [None])]), _valid(colour="RED"))])
@example([(_valid(nameds=[("alpha", "x", 1), ("alpha", "boom", 2)]), None)])
@given(st.lists(st.tuples(values, st.one_of(st.none(), values)), min_size=1, max_size=3))
def test_values_complete_as_strawberry_completes_them(rows: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> None:
    items = [_item(top, None if child is None else _item(child, None)) for top, child in rows]
    results = {}
    for name, schema in SCHEMAS.items():
        result = asyncio.run(schema.execute(QUERY, root_value=Query(items=items)))
        assert all(e.path for e in result.errors or []), result.errors  # executed, not refused
        results[name] = (
            result.data,
            [(e.message, e.path, e.locations) for e in result.errors or []],
        )
    assert results["direct"] == results["standard"]
