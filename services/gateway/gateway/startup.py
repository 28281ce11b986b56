"""Start a background service even when Postgres or the broker come up after it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def start_with_retry(
    start: Callable[[], Awaitable[None]],
    cleanup: Callable[[], Awaitable[None]],
    stopping: asyncio.Event,
    what: str,
    max_delay: float = 10.0,
) -> bool:
    """Call `start` until it succeeds (True) or `stopping` is set (False), backing off between tries."""
    delay = 0.5
    while not stopping.is_set():
        try:
            await start()
            return True
        except Exception as exc:  # noqa: BLE001 - any failure here means "not reachable yet"
            log.warning(
                "%s could not start yet (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc, delay
            )
            try:
                await cleanup()
            except Exception:  # noqa: BLE001
                pass
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                pass
            delay = min(max_delay, delay * 2)
    return False
