"""Neo4j URLs and driver errors: credentials kept out of messages, errors translated in one place."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit, urlunsplit

import neo4j.exceptions as nex

from lineage.errors import BackendUnavailableError, ConflictError, LineageError, ValidationError


def split_url(url: str) -> tuple[str, str | None, str | None]:
    """(URL for the driver, user, password): credentials may ride in the URL as ``user:pw@host``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return clean, user, password


def redact(url: str) -> str:
    """The URL as it may be shown: any password in it replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}" if "@" in rest else url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, parts.fragment))


def quiet_driver_logs() -> None:
    """Keep the driver's own log records (``Unable to retrieve routing information``) off stderr.

    Without a handler anywhere, Python prints WARNING and above through its last-resort handler,
    so a refused connection would print a stray line before the engine's one-line error. A
    NullHandler on the ``neo4j`` logger stops that; an application that configures logging still
    receives the records through its own handlers.
    """
    logger = logging.getLogger("neo4j")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


@contextmanager
def map_exceptions(url: str, secrets: Sequence[str] = ()) -> Iterator[None]:
    """Translate Neo4j driver errors into the engine's errors; the one place that knows them.

    Messages name the URL (already redacted) and never a password: any secret that a driver
    message might echo is masked too.
    """

    def clean(text: str) -> str:
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return " ".join(text.split())  # driver messages span lines; an error is one line

    try:
        yield
    except LineageError:
        raise
    except nex.AuthError as exc:
        raise BackendUnavailableError(
            f"Neo4j at {url} refused the credentials: {clean(exc.message or str(exc))}. "
            "Check LINEAGE_NEO4J_USER and LINEAGE_NEO4J_PASSWORD.",
            details={"url": url},
        ) from None
    except nex.ConstraintError as exc:
        raise ConflictError(f"Neo4j at {url} refused a write: {clean(exc.message or str(exc))}") from None
    except (nex.ServiceUnavailable, nex.SessionExpired, nex.ConnectionPoolError) as exc:
        raise BackendUnavailableError(
            f"Neo4j at {url} is unavailable: {clean(str(exc))}", details={"url": url}
        ) from None
    except nex.TransientError as exc:
        raise BackendUnavailableError(
            f"Neo4j at {url} is busy or unavailable, retries exhausted: {clean(exc.message or str(exc))}",
            details={"url": url},
        ) from None
    except nex.ClientError as exc:
        if exc.code and exc.code.startswith(("Neo.ClientError.Database.", "Neo.ClientError.Security.")):
            raise BackendUnavailableError(
                f"Neo4j at {url}: {clean(exc.message or str(exc))}", details={"url": url}
            ) from None
        raise
    except nex.DatabaseError as exc:
        raise BackendUnavailableError(
            f"Neo4j at {url} failed: {clean(exc.message or str(exc))}", details={"url": url}
        ) from None
    except nex.ConfigurationError as exc:
        raise ValidationError(f"cannot use Neo4j URL {url}: {clean(str(exc))}") from None
