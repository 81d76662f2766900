"""Settings, read from flags, ``LINEAGE_*`` environment variables and defaults.

Built by :func:`load_settings` and passed down; nothing is created at import time. A plain pydantic
model filled from the environment by :func:`load_settings` (``LINEAGE_<FIELD>``, any case): every
field is a scalar, so pydantic's own coercion ("true", "8000") is all the parsing needed, and the CLI
does not pay for importing pydantic-settings on every start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic import ValidationError as PydanticValidationError

DEFAULT_STORE = "sqlite:///lineage.db"
ENV_PREFIX = "LINEAGE_"


class Settings(BaseModel):
    # Built on first validation: a command given text settings only (store, actor) builds none.
    model_config = ConfigDict(extra="ignore", defer_build=True)

    store: str = Field(default=DEFAULT_STORE, description="Store URL: sqlite:///path.db, neo4j:// or bolt://")
    actor: str | None = Field(default=None, description="Principal recorded for writes.")
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = None
    neo4j_database: str | None = None
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite durability: 'full' syncs every commit to disk before it returns; 'normal' "
        "(write-ahead log) survives a crashed or killed process but may lose the last commits on power loss.",
    )
    max_batch: int = Field(default=200_000, ge=1)
    max_depth: int = Field(default=100, ge=1, description="Deepest traversal a request may ask for.")
    max_nodes: int = Field(default=1_000_000, ge=1, description="Most nodes one traversal may reach.")
    # server
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    mode: Literal["development", "production"] = "production"
    anonymous_read: bool | None = Field(
        default=None, description="Allow reads without a token; default: only when serving on loopback."
    )
    graphiql: bool | None = Field(
        default=None, description="Serve GraphiQL at /graphiql and /graphql; default: only in development mode."
    )
    max_body_bytes: int = 10 * 1024 * 1024
    max_query_depth: int = 12
    max_page_size: int = 500
    max_work_seconds: float = Field(
        default=5.0, gt=0, description="Wall time one API request may spend traversing, across all its fields."
    )
    max_work_paths: int = Field(default=2_000, ge=1, description="Paths one API request may build.")
    response_cache_mib: float = Field(
        default=64,
        ge=0,
        description="Memory per server worker for answers to repeated read queries, dropped at every new "
        "audit entry (0: off).",
    )
    openlineage_ack: Literal["mapped", "landed"] = Field(
        default="mapped",
        description="When the OpenLineage endpoint answers: 'mapped' (201) once the event is in the graph; "
        "'landed' (202) once it is durably kept in the intake file, mapped in the background by a process "
        "of its own in large groups (what high event rates need; reads lag by a group).",
    )
    openlineage_intake: str | None = Field(
        default=None,
        description="The intake file for openlineage_ack=landed (default: the SQLite store's path plus "
        "'.intake'; required for a Neo4j store).",
    )
    openlineage_intake_max: int = Field(
        default=100_000, ge=1, description="Most events waiting in the intake; past it, senders wait (then 503)."
    )


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``LINEAGE_*`` variables that name a setting, by field name (names are case-insensitive)."""
    env = os.environ if environ is None else environ
    fields = Settings.model_fields
    found: dict[str, str] = {}
    for key, value in env.items():
        if key[: len(ENV_PREFIX)].upper() == ENV_PREFIX and (name := key[len(ENV_PREFIX) :].lower()) in fields:
            found[name] = value
    return found


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides on top.

    When every value given is text for a plain text setting (the usual command: a store URL and
    perhaps an actor), validation would keep each as it is; the settings are then made without
    building pydantic's validator, which costs a short command more than the rest of its set-up.
    """
    values = {**settings_from_env(), **{k: v for k, v in overrides.items() if v is not None}}
    if values.keys() <= _TEXT_FIELDS and all(type(v) is str for v in values.values()):
        return Settings.model_construct(**values)
    try:
        return Settings(**values)
    except PydanticValidationError as exc:
        from lineage.errors import ValidationError
        from lineage.model.batch import describe_errors

        first = str(exc.errors()[0]["loc"][0]) if exc.errors() else "settings"
        field = Settings.model_fields.get(first)
        secret = field is not None and "SecretStr" in str(field.annotation)
        shown = "" if secret else f" (got {values.get(first)!r})"  # never echo a secret
        raise ValidationError(
            f"invalid setting: {describe_errors(exc)}{shown}", details={"element": first, "rule": "setting"}
        ) from None


#: Settings whose type is plain text (``str`` or ``str | None``, no constraints): text stays as given.
_TEXT_FIELDS = frozenset(
    name
    for name, field in Settings.model_fields.items()
    if field.annotation in (str, str | None) and not field.metadata
)


def graphiql_enabled(settings: Settings) -> bool:
    """Whether the server offers GraphiQL: as configured, else only in development mode."""
    return settings.mode == "development" if settings.graphiql is None else settings.graphiql


def store_options(settings: Settings) -> dict[str, Any]:
    """Backend options derived from settings, for :func:`lineage.storage.open_store`."""
    if settings.store.startswith(("neo4j", "bolt")):
        return {
            "user": settings.neo4j_user,
            "password": settings.neo4j_password.get_secret_value() if settings.neo4j_password else None,
            "database": settings.neo4j_database,
        }
    return {"synchronous": settings.sqlite_synchronous}


def settings_env(settings: Settings) -> dict[str, str]:
    """Settings as ``LINEAGE_*`` variables, so every uvicorn worker builds the same app."""
    out: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        out[f"LINEAGE_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return out
