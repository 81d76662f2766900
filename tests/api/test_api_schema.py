"""The committed schema matches the code, and every example operation is valid and runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphql import build_schema, parse, validate
from lineage.api.schema import export_sdl
from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "graphql" / "schema.graphql"
EXAMPLES = sorted((ROOT / "graphql" / "queries").glob("*.graphql"))


def example_variables(text: str) -> dict[str, Any]:
    """The JSON after a ``# variables:`` comment line, spread over the following comment lines."""
    lines = text.splitlines()
    if "# variables:" not in lines:
        return {}
    start = lines.index("# variables:") + 1
    body = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        body.append(line[1:])
    value: dict[str, Any] = json.loads("\n".join(body))
    return value


def test_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == export_sdl(), (
        "graphql/schema.graphql is out of date: run `lineage schema export`"
    )


def test_examples_exist_for_the_main_operations() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"impact", "provenance", "diff", "audit", "register"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_valid_against_the_schema(path: Path) -> None:
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    errors = validate(schema, parse(path.read_text(encoding="utf-8")))
    assert not errors, [e.message for e in errors]
    example_variables(path.read_text(encoding="utf-8"))


@pytest.mark.anyio
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_example_runs_against_the_demo_graph(api: Api, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    who = "admin" if text.lstrip("# \n").find("mutation") >= 0 and "\nmutation " in text else None
    reply = await api.gql(text, example_variables(text), who=who)
    data = reply.ok()
    assert data and all(value is not None for value in data.values())
