"""The gateway's read caches: /health and /readyz answer from checks run at most once per TTL, and a job's
script is read from S3 once per content."""
from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from gateway.api.routes import health, probes
from gateway.checks import BackingChecks, CachedCheck
from gateway.script_cache import ScriptCache


class CountingChecks(BackingChecks):
    """The real caching around checks that count their calls instead of reaching Postgres, Kafka and S3."""

    def __init__(self, ttl: float, broker_up: bool = True):
        super().__init__(settings=None, sessionmaker=None, storage=None, ttl=ttl)
        self.calls = {"database": 0, "broker": 0, "storage": 0, "testers": 0}
        self.broker_up = broker_up

    async def _database(self) -> bool:
        self.calls["database"] += 1
        return True

    async def _broker(self) -> bool:
        self.calls["broker"] += 1
        await asyncio.sleep(0.01)
        return self.broker_up

    async def _storage(self) -> bool:
        self.calls["storage"] += 1
        return True

    async def _testers(self) -> list:
        self.calls["testers"] += 1
        return []


def app_with(checks: BackingChecks) -> FastAPI:
    app = FastAPI(title="Recast", version="0.1.0")
    app.state.checks = checks
    app.include_router(health.router)
    app.include_router(probes.router)
    return app


def test_health_and_readyz_calls_within_the_ttl_share_one_check_of_each_service():
    checks = CountingChecks(ttl=60)
    with TestClient(app_with(checks)) as client:
        answers = [client.get("/health") for _ in range(20)] + [client.get("/readyz") for _ in range(20)]
    assert all(a.status_code == 200 for a in answers)
    assert answers[0].json()["status"] == "healthy" and answers[0].json()["broker"] is True
    assert checks.calls == {"database": 1, "broker": 1, "storage": 1, "testers": 1}


def test_health_says_degraded_from_the_cached_check_of_a_broker_that_is_down():
    with TestClient(app_with(CountingChecks(ttl=60, broker_up=False))) as client:
        body = client.get("/health").json()
        ready = client.get("/readyz")
    assert body["status"] == "degraded" and body["broker"] is False and body["database"] is True
    assert ready.status_code == 503 and ready.headers["Retry-After"]


async def test_an_old_result_is_served_while_one_refresh_runs_and_then_replaced():
    now = [0.0]
    release = asyncio.Event()
    values = iter([1, 2])

    async def check() -> int:
        await release.wait()
        return next(values)

    cached = CachedCheck(check, ttl=2.0, max_stale=10.0, clock=lambda: now[0])
    release.set()
    assert await cached.get() == 1
    release.clear()
    now[0] = 5.0  # past the TTL, within max_stale: the old result while the refresh waits
    assert await asyncio.gather(*(cached.get() for _ in range(10))) == [1] * 10
    assert cached.runs == 2  # ten callers, one refresh
    release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert await cached.get() == 2 and cached.runs == 2


async def test_a_result_too_old_to_serve_makes_callers_wait_for_the_refresh():
    now = [0.0]
    values = iter([True, False])

    async def check() -> bool:
        return next(values)

    cached = CachedCheck(check, ttl=2.0, max_stale=5.0, clock=lambda: now[0])
    assert await cached.get() is True
    now[0] = 6.0
    assert await cached.get() is False


async def test_a_script_is_loaded_once_per_key_and_digest():
    loads: list[str] = []

    async def load(key: str) -> bytes:
        loads.append(key)
        return f"# script at {key}\n".encode()

    cache = ScriptCache()
    first = await cache.get("c/j/train-1/attempt-1/script.py", "aa", load)
    again = await cache.get("c/j/train-1/attempt-1/script.py", "aa", load)
    assert first == again == "# script at c/j/train-1/attempt-1/script.py\n"
    await cache.get("c/j/train-1/attempt-1/script.py", "bb", load)  # another content under that key
    assert len(loads) == 2


async def test_the_script_cache_drops_the_least_recently_used_past_its_size():
    async def load(key: str) -> bytes:
        return b"x" * 40

    cache = ScriptCache(max_bytes=100)
    for key in ("a", "b", "c"):
        await cache.get(key, None, load)
    assert len(cache) == 2


async def test_a_cached_script_is_a_json_string_of_the_file():
    text = 'print("naïve\\tcafé")\n# "quoted" \\ back\n'

    async def load(key: str) -> bytes:
        return text.encode()

    cache = ScriptCache()
    encoded = await cache.get_json("c/j/train-1/attempt-1/script.py", "aa", load)
    assert json.loads(encoded) == text == await cache.get("c/j/train-1/attempt-1/script.py", "aa", load)
