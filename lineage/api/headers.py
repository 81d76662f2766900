"""Security headers on every response, and a strict Content-Security-Policy on every HTML page.

Reports and pages served by the API load no script from anywhere but the server itself and run no
inline script, so HTML gets ``script-src 'self'``; styles may be inline (reports embed SVG with
style attributes). Every response gets ``X-Content-Type-Options: nosniff`` (no guessing a JSON
body is HTML) and ``Referrer-Policy: no-referrer`` (node ids in URLs stay on the server). The web
UI and GraphiQL are served from the package (fonts inlined as ``data:`` in vendored styles) and
live under the same policy; only the OpenAPI docs of development mode load a CDN bundle and start
with an inline script, so they get their own, looser policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The policy of every HTML response the server renders itself.
HTML_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: The OpenAPI docs (development mode only): their bundle comes from a CDN and starts with an inline script.
DEV_TOOLS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://unpkg.com https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://unpkg.com https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "font-src 'self' data: https://unpkg.com https://cdn.jsdelivr.net; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


@dataclass(frozen=True, slots=True)
class HeaderPolicy:
    """Which Content-Security-Policy an HTML response on a path gets."""

    html: str = HTML_POLICY
    #: (path prefix, policy) pairs that override ``html``; the first match wins.
    overrides: tuple[tuple[str, str], ...] = ()

    def csp_for(self, path: str) -> str:
        for prefix, policy in self.overrides:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return policy
        return self.html


Headers = list[tuple[bytes, bytes]]


def security_headers(headers: Iterable[tuple[bytes, bytes]], path: str, policy: HeaderPolicy) -> Headers:
    """The response headers with the security headers added (existing values are kept)."""
    out = list(headers)
    present = {k.lower() for k, _ in out}
    html = any(k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in out)
    for key, value in ALWAYS:
        if key not in present:
            out.append((key, value))
    if html:
        if b"content-security-policy" not in present:
            out.append((b"content-security-policy", policy.csp_for(path).encode()))
        if b"x-frame-options" not in present:
            out.append((b"x-frame-options", b"DENY"))
    return out


class SecurityHeaders:
    """ASGI middleware adding :func:`security_headers` to every HTTP response."""

    def __init__(self, app: ASGIApp, policy: HeaderPolicy | None = None) -> None:
        self.app = app
        self.policy = policy or HeaderPolicy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": security_headers(message.get("headers", ()), path, self.policy)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
