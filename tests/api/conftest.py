"""Fixtures for the GraphQL API tests: a seeded store per backend, tokens of every role, and an
HTTP client talking to the ASGI app (lifespan included).

The seed is the demo graph plus a few nodes in the namespaces the authorisation tests write to.
On SQLite it is built once per session and copied per test; on Neo4j it is registered per test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lineage.api import create_app
from lineage.demo import build_demo_batch
from lineage.governance.access import create_token
from lineage.model import parse_batch
from lineage.settings import Settings
from lineage.storage import GraphStore, open_store

#: label -> (token name, role, namespaces)
TOKENS: dict[str, tuple[str, str, list[str]]] = {
    "admin": ("ops-admin", "admin", []),
    "writer": ("ci-sandbox", "writer", ["sandbox"]),
    "writer_all": ("ci-all", "writer", []),
    "other": ("ci-elsewhere", "writer", ["elsewhere"]),
    "reader": ("dashboards", "reader", []),
}
SEED_PRINCIPAL = "user:seed"
SANDBOX = "dataset:sandbox/scratch@1"
SANDBOX_TAGGED = "dataset:sandbox/tagged@1"
ELSEWHERE = "dataset:elsewhere/other@1"


def _extra_batch() -> Any:
    return parse_batch(
        {
            "nodes": [
                {"kind": "Dataset", "namespace": "sandbox", "name": "scratch", "version": "1", "owners": ["team-a"]},
                {"kind": "Dataset", "namespace": "sandbox", "name": "tagged", "version": "1"},
                {"kind": "Dataset", "namespace": "elsewhere", "name": "other", "version": "1"},
            ]
        }
    )


def seed(store: GraphStore) -> dict[str, str]:
    """Register the demo graph and the sandbox nodes, create the tokens; return label -> secret."""
    store.register(build_demo_batch(), principal=SEED_PRINCIPAL, source="test")
    store.register(_extra_batch(), principal=SEED_PRINCIPAL, source="test")
    store.annotate(SANDBOX_TAGGED, "tag", add=["pii"], principal=SEED_PRINCIPAL, source="test")
    secrets = {}
    for label, (name, role, namespaces) in TOKENS.items():
        secrets[label], _ = create_token(store, name, role, namespaces, principal=SEED_PRINCIPAL)
    return secrets


def neo4j_options() -> dict[str, Any]:
    return {
        "neo4j_user": os.environ.get("NEO4J_USER", "neo4j"),
        "neo4j_password": os.environ.get("NEO4J_PASSWORD"),
        "neo4j_database": os.environ.get("NEO4J_DATABASE"),
    }


def app_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"store": url, "mode": "development", "anonymous_read": True}
    if not url.startswith("sqlite"):
        values.update(neo4j_options())
    values.update(overrides)
    return Settings(**values)


@dataclass
class Seeded:
    url: str
    secrets: dict[str, str]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("template") / "lineage.db"
    store = open_store(f"sqlite:///{path}")
    try:
        secrets = seed(store)
    finally:
        store.close()
    return path, secrets


@pytest.fixture
def seeded(backend: str, store_url: str, sqlite_template: tuple[Path, dict[str, str]]) -> Seeded:
    if backend == "sqlite":
        template, secrets = sqlite_template
        shutil.copyfile(template, store_url.removeprefix("sqlite:///"))
        return Seeded(store_url, dict(secrets))
    settings = app_settings(store_url)
    store = open_store(
        store_url,
        user=settings.neo4j_user,
        password=settings.neo4j_password.get_secret_value() if settings.neo4j_password else None,
        database=settings.neo4j_database,
    )
    try:
        return Seeded(store_url, seed(store))
    finally:
        store.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert self.status == 200, self.body
        assert not self.errors, self.errors
        return self.data


@dataclass
class Api:
    client: httpx.AsyncClient
    app: FastAPI
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> GraphStore:
        store: GraphStore = self.app.state.services.store
        return store

    def headers(self, who: str | None) -> dict[str, str]:
        if who is None:
            return {}
        secret = self.secrets.get(who, who)
        return {"Authorization": f"Bearer {secret}"}

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, who: str | None = None
    ) -> Reply:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        response = await self.client.post("/graphql", json=payload, headers=self.headers(who))
        return Reply(response.status_code, response.json())


async def open_api(settings: Settings, secrets: dict[str, str]) -> AsyncIterator[Api]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, app, secrets)


@pytest.fixture
async def api(seeded: Seeded) -> AsyncIterator[Api]:
    """The app over the seeded store, in development mode with anonymous reads on."""
    async for a in open_api(app_settings(seeded.url), seeded.secrets):
        yield a
