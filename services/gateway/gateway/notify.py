"""Postgres LISTEN/NOTIFY: wake requests waiting for a projected result (with polling as a backstop)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

import asyncpg
from recast_common.db.session import asyncpg_dsn

log = logging.getLogger(__name__)

INFERENCE_CHANNEL = "recast_inference"
JOB_CHANNEL = "recast_job"


class Notifications:
    """One dedicated connection LISTENing on a channel; `wait(key, timeout)` returns early when notified. The
    same connection also listens on the channels of `also`, calling each one's callback with the payload."""

    def __init__(self, database_url: str, channel: str, also: dict[str, Callable[[str], None]] | None = None):
        self.dsn = asyncpg_dsn(database_url)
        self.channel = channel
        self.also = also or {}
        self._conn: asyncpg.Connection | None = None
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def start(self) -> None:
        try:
            self._conn = await asyncpg.connect(self.dsn, timeout=10)
            await self._conn.add_listener(self.channel, self._on_notify)
            for channel, callback in self.also.items():
                await self._conn.add_listener(channel, lambda _c, _p, _ch, payload, call=callback: call(payload))
        except Exception as exc:  # the callers still poll, so this only costs latency
            log.warning("LISTEN %s unavailable, polling only: %s", self.channel, exc)
            self._conn = None

    async def stop(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close(timeout=5)
            except Exception:
                self._conn.terminate()
            self._conn = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def _on_notify(self, _conn, _pid, _channel, payload: str) -> None:
        for event in self._waiters.get(payload, ()):
            event.set()

    async def wait(self, key: str, timeout: float) -> bool:
        """Block up to `timeout` seconds for a NOTIFY with payload `key`. False on timeout."""
        event = asyncio.Event()
        self._waiters[key].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            self._waiters[key].discard(event)
            if not self._waiters[key]:
                self._waiters.pop(key, None)
