"""Optional parts of the package (pip extras) and the error that names the one to install.

The core (models, SQLite store, CLI, remote client) needs no server or Neo4j stack; commands that do
import them lazily, and a missing module becomes :class:`MissingExtraError` naming the extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lineage.errors import MissingExtraError

DISTRIBUTION = "lineage-engine"

#: Top-level modules each extra brings, by extra name.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "server": ("fastapi", "starlette", "strawberry", "graphql", "uvicorn", "prometheus_client"),
    "neo4j": ("neo4j",),
    "mlflow": ("mlflow",),
    "feast": ("feast",),
}


def extra_for(module: str | None) -> str | None:
    """The extra that provides ``module`` (a dotted name), or None when it is not an optional module."""
    top = (module or "").split(".")[0]
    return next((extra for extra, modules in EXTRA_MODULES.items() if top in modules), None)


def missing_extra(exc: ModuleNotFoundError, what: str) -> MissingExtraError | None:
    """The error to show for ``exc`` raised while ``what`` was being loaded, if an extra explains it."""
    extra = extra_for(exc.name)
    if extra is None:
        return None
    return MissingExtraError(
        f"{what} needs the '{extra}' extra ({exc.name} is not installed): "
        f"pip install '{DISTRIBUTION}[{extra}]'",
        details={"extra": extra, "module": exc.name},
    )


@contextmanager
def requires(what: str) -> Iterator[None]:
    """Turn a missing optional module met inside the block into :class:`MissingExtraError`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, what)
        if error is None:
            raise
        raise error from None
