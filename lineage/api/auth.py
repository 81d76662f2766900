"""Who is calling: the bearer token of a request, resolved once per request.

A token's principal is reused for a second per process (see :mod:`lineage.api.principals`), so a
busy client costs one store lookup per second rather than one per request.
"""

from __future__ import annotations

from starlette.requests import Request

from lineage.api.context import Context, Services, timed_call
from lineage.errors import BackendUnavailableError, LineageError
from lineage.governance.access import Principal, authenticate, hash_secret, parse_bearer


def services_of(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise BackendUnavailableError("the server is starting or stopping; retry shortly")
    return services


async def resolve_principal(services: Services, header: str | None) -> tuple[Principal | None, LineageError | None]:
    """(principal, None) for a valid token, (None, None) without one, (None, error) otherwise.

    The error is raised by the first resolver that needs the caller, so introspection and the
    IDE work without a token while every data field reports the same clear error.
    """
    try:
        secret = parse_bearer(header)
        if secret is None:
            return None, None
        key = hash_secret(secret)
        principal = services.principals.get(key)
        if principal is None:
            principal = await timed_call(services.metrics, authenticate, services.store, secret)
            services.principals.put(key, principal)
        return principal, None
    except LineageError as exc:
        return None, exc


async def get_context(request: Request) -> Context:
    """The Strawberry context getter (a FastAPI dependency)."""
    services = services_of(request)
    principal, error = await resolve_principal(services, request.headers.get("authorization"))
    return Context(services, principal, error)
