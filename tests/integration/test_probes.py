"""GET /livez answers while the process runs, whatever the backing services do; GET /readyz answers 503 (with
Retry-After) while Postgres or the broker is down, and 200 again once they are back."""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest


def poll(url: str, seconds: float) -> list[tuple[int, int]]:
    """(livez status, readyz status) every 0.3 s for `seconds`."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        live = httpx.get(f"{url}/livez", timeout=10).status_code
        ready = httpx.get(f"{url}/readyz", timeout=10)
        if ready.status_code == 503:
            assert ready.headers.get("Retry-After")
        seen.append((live, ready.status_code))
        time.sleep(0.3)
    return seen


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await asyncio.to_thread(httpx.get, f"{url}/readyz", timeout=10)).status_code == 200:
            return
        await asyncio.sleep(0.5)
    raise AssertionError("the gateway did not become ready again")


async def test_readiness_follows_the_database_and_broker_and_liveness_does_not(spawn_gateway, stack_handle):
    gateway = spawn_gateway()
    assert httpx.get(f"{gateway.url}/livez", timeout=10).status_code == 200
    await wait_ready(gateway.url)

    stack_handle.tansu.stop()
    try:
        seen = await asyncio.to_thread(poll, gateway.url, 4.0)
    finally:
        stack_handle.tansu.start()
        await stack_handle.tansu.wait_ready()
    assert all(live == 200 for live, _ in seen)
    assert any(ready == 503 for _, ready in seen), seen
    await wait_ready(gateway.url)

    if not stack_handle.pg.embedded:
        pytest.skip("the database half needs the embedded Postgres (the test crashes it)")
    crash = asyncio.create_task(stack_handle.crash_restart_postgres(4.0))
    seen = await asyncio.to_thread(poll, gateway.url, 3.0)
    await crash
    assert all(live == 200 for live, _ in seen)
    assert any(ready == 503 for _, ready in seen), seen
    await wait_ready(gateway.url)
