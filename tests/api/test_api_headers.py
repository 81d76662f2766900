"""Security headers: every response says nosniff and no-referrer; every HTML page carries a
Content-Security-Policy that forbids inline and foreign scripts and framing."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from lineage.demo import CORRUPTED
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


async def test_html_report_has_a_strict_policy(api: Api) -> None:
    response = await api.client.get(f"/reports/impact/{quote(CORRUPTED)}.html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = _directives(response.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'none'"]
    assert "<script" not in response.text  # the policy holds: the report needs no script


@pytest.mark.parametrize("path", ["/healthz", "/reports/impact/nothing.json", "/graphql?query=%7B__typename%7D"])
async def test_every_response_says_nosniff(api: Api, path: str) -> None:
    response = await api.client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in response.headers or response.headers["content-type"].startswith(
        "text/html"
    )


async def test_errors_from_the_body_limit_carry_the_headers_too(api: Api) -> None:
    limit = api.app.state.services.settings.max_body_bytes
    body = b"x" * (limit + 1)
    response = await api.client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_graphiql_is_served_under_the_strict_policy(api: Api) -> None:
    for path in ("/graphql", "/graphiql", "/"):
        response = await api.client.get(path, headers={"accept": "text/html"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        csp = _directives(response.headers["content-security-policy"])
        assert csp["script-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"], path
        assert csp["connect-src"] == ["'self'"] and csp["default-src"] == ["'none'"], path
