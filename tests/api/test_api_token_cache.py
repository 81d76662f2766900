"""A token's principal is reused for a short time per server process: a revocation through this
process takes effect at once, one made elsewhere (the CLI, another worker) within that time, and
unknown or revoked tokens are never remembered."""

from __future__ import annotations

import time

import anyio
import pytest

from lineage.api.principals import TOKEN_CACHE_SECONDS, PrincipalCache
from lineage.governance.access import ANONYMOUS, create_token, revoke_token
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


async def test_revoked_elsewhere_stops_working_within_the_cache_time(api: Api) -> None:
    secret, _ = create_token(api.store, "elsewhere", "reader", principal="admin")
    assert (await api.gql("{ viewer { name } }", who=secret)).ok()["viewer"]["name"] == "elsewhere"
    revoke_token(api.store, "elsewhere", principal="admin")  # as the CLI or another worker would
    await anyio.sleep(TOKEN_CACHE_SECONDS)
    refused = await api.gql("{ viewer { name } }", who=secret)
    assert refused.codes == ["UNAUTHENTICATED"]
    assert "revoked" in refused.errors[0]["message"]


async def test_revoked_through_this_server_stops_working_at_once(api: Api) -> None:
    secret, _ = create_token(api.store, "here", "reader", principal="admin")
    for _ in range(3):
        assert (await api.gql("{ viewer { name } }", who=secret)).ok()["viewer"]["name"] == "here"
    (await api.gql('mutation { revokeToken(name: "here") { name } }', who="admin")).ok()
    assert (await api.gql("{ viewer { name } }", who=secret)).codes == ["UNAUTHENTICATED"]


async def test_unknown_tokens_are_not_remembered(api: Api) -> None:
    for _ in range(2):
        reply = await api.gql("{ viewer { name } }", who="lin_not-a-token")
        assert reply.codes == ["UNAUTHENTICATED"]
    assert api.app.state.services.principals._entries == {}


def test_cache_entries_expire_and_stay_bounded() -> None:
    cache = PrincipalCache(ttl=0.05, size=3)
    for i in range(5):
        cache.put(f"k{i}", ANONYMOUS)
    assert [k for k in ("k0", "k1", "k2", "k3", "k4") if cache.get(k)] == ["k2", "k3", "k4"]
    time.sleep(0.06)
    assert cache.get("k4") is None
    off = PrincipalCache(ttl=0)
    off.put("k", ANONYMOUS)
    assert off.get("k") is None
