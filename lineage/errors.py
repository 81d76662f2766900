"""The one error hierarchy of the engine.

Every layer raises these. Interfaces map them, and only them, to HTTP statuses, GraphQL
``extensions.code`` values and CLI exit codes, so a given failure looks the same everywhere.
Codes are stable: clients may branch on them.
"""

from __future__ import annotations

from typing import Any


class LineageError(Exception):
    """Root of every error the engine raises on purpose."""

    code: str = "INTERNAL"
    #: CLI exit code: 2 bad input or usage, 1 a check found a problem, 3 backend unavailable.
    exit_code: int = 2
    http_status: int = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


# -- bad input ---------------------------------------------------------------------------------


class BadInputError(LineageError):
    """The request itself is wrong; fixing the input fixes the error."""

    code = "BAD_INPUT"
    http_status = 400


class ValidationError(BadInputError):
    """A value breaks a rule of the domain model (missing field, malformed id, bad kind)."""


class SchemaViolationError(BadInputError):
    """An edge is not allowed between these kinds by the lineage schema."""


class UnknownReferenceError(BadInputError):
    """An edge refers to a node that is neither stored nor part of the same batch."""


class CycleError(BadInputError):
    """A batch would make a version derive from itself."""


class MalformedRequestError(BadInputError):
    """The request could not be parsed (malformed JSON, YAML or GraphQL)."""


# -- state -------------------------------------------------------------------------------------


class NotFoundError(LineageError):
    """The id names nothing in the store (as of the requested time)."""

    code = "NOT_FOUND"
    http_status = 404


class ConflictError(LineageError):
    """The request contradicts what the store already holds (e.g. retracting twice)."""

    code = "CONFLICT"
    http_status = 409


class LimitExceededError(LineageError):
    """A request is larger or deeper than the configured limits allow."""

    code = "LIMIT_EXCEEDED"
    http_status = 413


# -- access ------------------------------------------------------------------------------------


class UnauthenticatedError(LineageError):
    """No valid credentials were presented."""

    code = "UNAUTHENTICATED"
    http_status = 401


class ForbiddenError(LineageError):
    """The credentials are valid but their role does not allow this action."""

    code = "FORBIDDEN"
    http_status = 403


# -- backend and integrity ---------------------------------------------------------------------


class BackendUnavailableError(LineageError):
    """The store cannot be reached or opened. Retry later or check the store URL."""

    code = "BACKEND_UNAVAILABLE"
    exit_code = 3
    http_status = 503


class IntegrityError(LineageError):
    """A check found that recorded data is not what it should be (e.g. a broken audit chain)."""

    code = "INTEGRITY"
    exit_code = 1
    http_status = 500


class CheckFailedError(LineageError):
    """A policy or verification check ran and found violations."""

    code = "CHECK_FAILED"
    exit_code = 1
    http_status = 200


class MissingExtraError(LineageError):
    """The command needs an optional part of the package that is not installed (an extra)."""

    code = "MISSING_EXTRA"
    http_status = 500
