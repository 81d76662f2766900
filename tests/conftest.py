"""Shared fixtures. ``store`` runs a test once per backend: the embedded SQLite store and Neo4j.

Neo4j tests talk to a real server over Bolt at ``NEO4J_URI`` (``tools/neo4j-local`` starts one
without Docker). Outside CI they skip with a one-line reason when no server is configured; in CI
(``CI=true``) a missing server is an error, so the Neo4j suite can never be skipped silently there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lineage.storage import GraphStore, open_store

SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def neo4j_uri() -> str | None:
    uri = os.environ.get("NEO4J_URI")
    if uri:
        return uri
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI requires a real Neo4j: set NEO4J_URI (see tools/neo4j-local)")
    pytest.skip("Neo4j not configured: set NEO4J_URI or start tools/neo4j-local/neo4j-local.sh start")
    return None


def _open_neo4j() -> GraphStore:
    uri = neo4j_uri()
    assert uri is not None
    store = open_store(uri, user=os.environ.get("NEO4J_USER", "neo4j"),
                       password=os.environ.get("NEO4J_PASSWORD"), database=os.environ.get("NEO4J_DATABASE"))
    wipe = getattr(store, "wipe", None)
    if wipe is not None:
        wipe()
    return store


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> str:
    """A fresh, empty store URL for the backend (Neo4j: the shared server, wiped)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'lineage.db'}"
    _open_neo4j().close()
    uri = neo4j_uri()
    assert uri is not None
    return uri


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh, empty store of each backend."""
    st = open_store(f"sqlite:///{tmp_path / 'lineage.db'}") if backend == "sqlite" else _open_neo4j()
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[GraphStore]:
    st = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def shared_fixtures() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("shared fixtures folder (../shared/fixtures) not present")
    return SHARED_FIXTURES


@pytest.fixture
def store_factory(backend: str, tmp_path: Path) -> Iterator[Callable[[], GraphStore]]:
    """A function returning a fresh, empty store of the backend on every call.

    For property-based tests, which need a new store per example (hypothesis runs many examples
    inside one test function, so the function-scoped ``store`` fixture cannot provide that).
    """
    opened: list[GraphStore] = []

    def fresh() -> GraphStore:
        while opened:
            opened.pop().close()
        if backend == "sqlite":
            st = open_store(f"sqlite:///{tmp_path / f'lineage-{uuid.uuid4().hex}.db'}")
        else:
            st = _open_neo4j()
        opened.append(st)
        return st

    try:
        yield fresh
    finally:
        for st in opened:
            st.close()
