"""API keys this gateway process has verified, kept for a few seconds so that a read does not query api_keys.

An entry is found by the sha256 of the whole key (never its prefix alone), so a cached principal is only ever
returned for the exact key that was verified: one client's key cannot reach another's entry. Only keys that
verified are kept (an unknown key is asked of the database every time: a new key works at once).

A revocation clears the cache of the process that made it at once and, through a Postgres NOTIFY on
KEYS_CHANNEL sent in the revoking transaction, every other gateway process's as soon as it is delivered. Should
that notification be lost (the listening connection down), an entry still expires after `ttl` seconds: that is
the documented bound on a revoked key being accepted (RECAST_API_KEY_CACHE_SECONDS). A verification that was
under way when the cache was cleared is not kept (`generation`): it may have read the key before the revocation.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

KEYS_CHANNEL = "recast_api_keys"

P = TypeVar("P")


class KeyCache(Generic[P]):
    def __init__(self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, P]] = OrderedDict()
        self.generation = 0  # bumped by clear(); put() names the generation its lookup began in

    def get(self, digest: str) -> P | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        expires, principal = entry
        if self.clock() >= expires:
            del self._entries[digest]
            return None
        return principal

    def put(self, digest: str, principal: P, generation: int) -> None:
        if self.ttl <= 0 or generation != self.generation:
            return
        self._entries[digest] = (self.clock() + self.ttl, principal)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1

    def __len__(self) -> int:
        return len(self._entries)
