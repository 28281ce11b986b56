"""The gateway's cache of verified API keys: found by the whole key's digest only, forgotten after its TTL or
at a revocation, and never refilled by a verification that began before a revocation."""
from __future__ import annotations

from gateway.core.keys import hash_key
from gateway.key_cache import KeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_verified_key_is_found_by_its_own_digest_only():
    cache: KeyCache[str] = KeyCache(ttl=5.0)
    alice, bob = "rk_alice_" + "a" * 30, "rk_alice_" + "b" * 30  # the same prefix: only the digest tells them apart
    cache.put(hash_key(alice), "alice", cache.generation)
    assert cache.get(hash_key(alice)) == "alice"
    assert cache.get(hash_key(bob)) is None


def test_an_entry_expires_after_the_ttl():
    clock = Clock()
    cache: KeyCache[str] = KeyCache(ttl=5.0, clock=clock)
    cache.put("d", "alice", cache.generation)
    clock.now += 4.9
    assert cache.get("d") == "alice"
    clock.now += 0.1
    assert cache.get("d") is None and len(cache) == 0


def test_a_revocation_forgets_every_key_and_drops_verifications_begun_before_it():
    cache: KeyCache[str] = KeyCache(ttl=5.0)
    cache.put("d", "alice", cache.generation)
    begun = cache.generation  # a verification reads api_keys here...
    cache.clear()  # ...a key is revoked meanwhile...
    cache.put("e", "bob", begun)  # ...and its answer, perhaps stale, is not kept
    assert cache.get("d") is None and cache.get("e") is None
    cache.put("e", "bob", cache.generation)
    assert cache.get("e") == "bob"


def test_a_zero_ttl_keeps_nothing_and_the_size_is_bounded():
    off: KeyCache[str] = KeyCache(ttl=0)
    off.put("d", "alice", off.generation)
    assert off.get("d") is None
    small: KeyCache[int] = KeyCache(ttl=5.0, max_entries=3)
    for n in range(5):
        small.put(str(n), n, small.generation)
    assert len(small) == 3 and small.get("0") is None and small.get("4") == 4
