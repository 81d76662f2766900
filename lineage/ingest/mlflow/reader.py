"""Reading a tracking server or local store through the official MLflow client, failures translated.

The client comes from ``mlflow-skinny`` (``pip install 'lineage-engine[mlflow]'``), imported only
when an import runs. A missing client is :class:`~lineage.errors.MissingExtraError`.
Every call goes through :func:`translated`: a tracking store that cannot be
reached, opened or read becomes :class:`~lineage.errors.BackendUnavailableError` (exit code 3)
naming the URI; an unknown experiment is bad input (exit code 2). Local stores are checked before
the client sees them, because MLflow creates a store where none exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from lineage.errors import BackendUnavailableError, LineageError, ValidationError
from lineage.extras import missing_extra

T = TypeVar("T")
PAGE = 200
#: MLflow error codes that mean the request, not the server, is wrong.
BAD_REQUEST_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "BAD_REQUEST"})
#: Codes an older tracking server answers for an API it does not have (logged models before 3.0).
MISSING_API_CODES = frozenset({"ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED", "FEATURE_DISABLED"})


def redacted(uri: str) -> str:
    """The URI without a password or token, as it may be printed and recorded."""
    parts = urlsplit(uri)
    if parts.password is None and not (parts.username and parts.scheme.startswith("http")):
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def canonical_uri(uri: str) -> str:
    """Local stores with absolute paths, so the same store gets the same label from any directory."""
    text = uri.strip()
    if text.split(":", 1)[0] in ("databricks", "databricks-uc"):
        return text  # a Databricks workspace profile, not a path
    if text.startswith(("http://", "https://")):
        return text.rstrip("/")
    if text.startswith("sqlite:///"):
        path = text.removeprefix("sqlite:///")
        return f"sqlite:///{Path(path).resolve()}" if path and path != ":memory:" else text
    if text.startswith("file:"):
        return f"file://{Path(urlsplit(text).path).resolve()}"
    if "://" not in text:
        return f"file://{Path(text).resolve()}"
    return text


def check_local(uri: str) -> None:
    """A local tracking store must exist: MLflow would create an empty one instead of failing."""
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        if not path.is_file():
            raise BackendUnavailableError(f"MLflow tracking store {uri}: no database file at {path}")
    elif uri.startswith("file://"):
        path = Path(urlsplit(uri).path)
        if not path.is_dir():
            raise BackendUnavailableError(f"MLflow tracking store {uri}: no directory at {path}")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


@contextmanager
def translated(uri: str) -> Iterator[None]:
    """Client failures as the engine's errors, naming the (redacted) tracking URI."""
    try:
        yield
    except LineageError:
        raise
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, "reading MLflow")
        if error is not None:
            raise error from None
        raise ValidationError(  # a module the store behind this URI needs, e.g. sqlalchemy and alembic for sqlite
            f"MLflow tracking store {redacted(uri)}: the MLflow client needs {exc.name} for it (pip install {exc.name})"
        ) from None
    except Exception as exc:
        code = getattr(exc, "error_code", None)
        if code in BAD_REQUEST_CODES:
            raise ValidationError(f"MLflow tracking store {redacted(uri)}: {_first_line(exc)}") from None
        raise BackendUnavailableError(
            f"MLflow tracking store {redacted(uri)} cannot be read: {type(exc).__name__}: {_first_line(exc)}"
        ) from None


def missing_api(exc: BaseException) -> bool:
    return getattr(exc, "error_code", None) in MISSING_API_CODES


class MlflowReader:
    """The calls the importer makes, paged; entities are the client's own objects."""

    def __init__(self, tracking_uri: str, registry_uri: str | None = None) -> None:
        self.uri = canonical_uri(tracking_uri)
        registry = canonical_uri(registry_uri) if registry_uri else self.uri
        with translated(self.uri):
            from mlflow import MlflowClient

            check_local(self.uri)
            self.client: Any = MlflowClient(tracking_uri=self.uri, registry_uri=registry)
            self.client.search_experiments(max_results=1)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with translated(self.uri):
            return fn(*args, **kwargs)

    def _pages(self, fn: Callable[..., Any], **kwargs: Any) -> Iterator[list[Any]]:
        token: str | None = None
        while True:
            with translated(self.uri):
                page = fn(page_token=token, **kwargs)
            yield list(page)
            token = getattr(page, "token", None)
            if not token:
                return

    def experiments(self, names: list[str]) -> list[Any]:
        """The named experiments (each must exist), or every active one."""
        if names:
            found = []
            for name in names:
                exp = self.call(self.client.get_experiment_by_name, name)
                if exp is None:
                    raise ValidationError(f"--experiment {name!r}: no such experiment in {redacted(self.uri)}")
                found.append(exp)
            return found
        from mlflow.entities import ViewType

        out: list[Any] = []
        for page in self._pages(self.client.search_experiments, view_type=ViewType.ACTIVE_ONLY, max_results=PAGE):
            out += page
        return sorted(out, key=lambda e: str(e.experiment_id))

    def experiment(self, experiment_id: str) -> Any:
        return self.call(self.client.get_experiment, experiment_id)

    def run(self, run_id: str) -> Any | None:
        """The run, or None when it no longer exists (deleted and garbage-collected)."""
        try:
            return self.client.get_run(run_id)
        except Exception as exc:
            if getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                return None
            with translated(self.uri):
                raise

    def runs(self, experiment_id: str, since_ms: int | None, page: int = PAGE) -> Iterator[list[Any]]:
        """Active runs started at or after ``since_ms``, oldest first, in pages."""
        from mlflow.entities import ViewType

        filt = f"attributes.start_time >= {int(since_ms)}" if since_ms is not None else ""
        yield from self._pages(
            self.client.search_runs,
            experiment_ids=[experiment_id],
            filter_string=filt,
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=page,
            order_by=["attributes.start_time ASC"],
        )

    def logged_models(self, experiment_id: str, run_ids: list[str]) -> list[Any] | None:
        """Logged models made by these runs; None when the server has no logged-model API (MLflow 2)."""
        if not run_ids:
            return []
        quoted = ", ".join("'" + r.replace("'", "") + "'" for r in run_ids)
        out: list[Any] = []
        token: str | None = None
        while True:
            try:
                page = self.client.search_logged_models(
                    experiment_ids=[experiment_id],
                    filter_string=f"source_run_id IN ({quoted})",
                    max_results=PAGE,
                    page_token=token,
                )
            except Exception as exc:
                if missing_api(exc):
                    return None
                with translated(self.uri):
                    raise
            out += list(page)
            token = getattr(page, "token", None)
            if not token:
                return out

    def logged_model(self, model_id: str) -> Any | None:
        try:
            return self.client.get_logged_model(model_id)
        except Exception as exc:
            if missing_api(exc) or getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                return None
            with translated(self.uri):
                raise

    def registered_models(self) -> Iterator[Any]:
        for page in self._pages(self.client.search_registered_models, max_results=PAGE):
            yield from page

    def versions(self, name: str) -> list[Any]:
        escaped = name.replace("'", "\\'")
        out: list[Any] = []
        for page in self._pages(self.client.search_model_versions, filter_string=f"name = '{escaped}'"):
            out += page
        return sorted(out, key=lambda v: int(v.version))
