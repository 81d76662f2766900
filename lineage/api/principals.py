"""Principals of recently seen tokens, per server process.

A token's principal is kept for :data:`TOKEN_CACHE_SECONDS` (keyed by the token's hash, as the store
keys it), so a busy client costs one store lookup per second rather than one per request. Revoking a
token through this process empties the cache at once; a revocation made through another process
(another server worker, the CLI) takes effect here within that time. Unknown and revoked tokens are
never kept: they are looked up, and refused, every time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lineage.governance.access import Principal

#: How long a looked-up token's principal is reused by one server process.
TOKEN_CACHE_SECONDS = 1.0
#: Most tokens remembered at once (beyond that, the oldest lookups are dropped first).
TOKEN_CACHE_SIZE = 1_024


@dataclass(slots=True)
class PrincipalCache:
    """Principals of recently seen valid tokens, by token hash, each for ``ttl`` seconds."""

    ttl: float = TOKEN_CACHE_SECONDS
    size: int = TOKEN_CACHE_SIZE
    _entries: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    def get(self, key: str) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.size:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            while len(self._entries) >= self.size:  # insertion order: the oldest lookup first
                del self._entries[next(iter(self._entries))]
        self._entries[key] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        self._entries.clear()
