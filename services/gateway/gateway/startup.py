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


# Keys published in this repository or its examples, and placeholders: anyone could use them.
KNOWN_ADMIN_KEYS = frozenset({
    "recast-admin-dev-key", "change-me", "changeme", "change_me", "admin", "secret", "password", "test", "dev",
    "recast", "apikey", "api-key",
})
MIN_ADMIN_KEY_LENGTH = 16


class UnsafeAdminKey(RuntimeError):
    """The gateway refuses to start with an admin key anyone could know (outside RECAST_DEV_MODE)."""


def check_admin_key(admin_api_key: str, dev_mode: bool) -> None:
    """Refuse a default, placeholder or short admin key unless dev mode is explicitly on. An empty key is fine:
    it means no environment admin (admins are then only API keys created with admin=true)."""
    if dev_mode or not admin_api_key:
        return
    if admin_api_key.strip().lower() in KNOWN_ADMIN_KEYS or admin_api_key.strip().upper().startswith("CHANGE"):
        raise UnsafeAdminKey(
            "RECAST_ADMIN_API_KEY is a known default or placeholder: set a random key "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or RECAST_DEV_MODE=1 for a "
            "development machine"
        )
    if len(admin_api_key) < MIN_ADMIN_KEY_LENGTH:
        raise UnsafeAdminKey(f"RECAST_ADMIN_API_KEY is shorter than {MIN_ADMIN_KEY_LENGTH} characters: set a random "
                             "key, or RECAST_DEV_MODE=1 for a development machine")
