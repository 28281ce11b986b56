"""Outbox relay (`python -m gateway.relay`): publishes committed outbox rows to Kafka, then marks them sent.

Claims a batch with SELECT ... FOR UPDATE SKIP LOCKED, so several relays share the work without publishing
one row twice (and, with a per-key advisory lock, without reordering one job's rows); the row lock is held
until the broker acknowledged and the row is marked sent in the same transaction. A crash between publish
and commit leaves the row unsent: it is published again (a duplicate, never a loss; consumers dedupe by
event_id). Woken by LISTEN/NOTIFY, polls as a backstop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from recast_common.db.outbox import NOTIFY_CHANNEL
from recast_common.db.session import asyncpg_dsn
from recast_common.logs import setup_logging
from recast_common.metrics import OUTBOX_FAILURES, OUTBOX_PUBLISHED, mark_ready, serve_metrics_from_env
from recast_common.settings import Settings
from recast_common.tracing import (
    context_from_headers,
    kafka_headers,
    mark_error,
    setup_tracing,
    shutdown_tracing,
    tracer,
)

from gateway.startup import start_with_retry

log = logging.getLogger("gateway.relay")

BATCH_SIZE = 100

# Rows are claimed in id order together with a transaction-scoped advisory lock on their key (job id): a relay
# skips every row whose key another relay holds, so one job's rows are never published out of order even
# when several relays run. The lock is taken before the row lock (LockRows sits above the filter).
CLAIM_SQL = """
SELECT id, topic, key, payload::text AS payload, trace_context::text AS trace_context FROM outbox
WHERE sent_at IS NULL AND pg_try_advisory_xact_lock(7418202, hashtext(key))
ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""
MARK_SENT_SQL = "UPDATE outbox SET sent_at = now(), claimed = claimed + 1 WHERE id = ANY($1::bigint[])"


@dataclass
class RelayStats:
    published: int = 0
    batches: int = 0


class Relay:
    def __init__(self, settings: Settings, batch_size: int = BATCH_SIZE):
        self.settings = settings
        self.batch_size = batch_size
        self.stats = RelayStats()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        dsn = asyncpg_dsn(self.settings.database_url)
        self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_idempotence=False,  # Tansu rejects idempotent producers
            acks="all",
            linger_ms=5,
            request_timeout_ms=20_000,
            client_id="recast-relay",
        )
        await self._producer.start()
        await self._listen(dsn)

    async def _listen(self, dsn: str) -> None:
        try:
            self._listener = await asyncpg.connect(dsn, timeout=10)
            await self._listener.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        except Exception as exc:  # noqa: BLE001 - polling still delivers, only later
            log.warning("LISTEN %s failed, polling only: %s", NOTIFY_CHANNEL, exc)
            self._listener = None

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        await self.close()

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        if self._producer is not None:
            await self._producer.stop()
        if self._pool is not None:
            await self._pool.close()
        self._listener = self._producer = self._pool = None

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def relay_batch(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        assert self._pool is not None and self._producer is not None
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(CLAIM_SQL, self.batch_size)
            if not rows:
                return 0
            spans = [_publish_span(row) for row in rows]  # each continues the trace of the request behind it
            try:
                pending = []
                for row, span in zip(rows, spans):
                    with trace.use_span(span, end_on_exit=False):
                        pending.append(await self._producer.send(
                            row["topic"],
                            value=row["payload"].encode(),
                            key=row["key"].encode(),
                            headers=kafka_headers(_headers(row["payload"])),
                        ))
                await asyncio.gather(*pending)  # every row acknowledged by the broker before it is marked
            except Exception as exc:
                for span in spans:
                    span.record_exception(exc)
                    mark_error(span, str(exc))
                raise
            finally:
                for span in spans:
                    span.end()
            await conn.execute(MARK_SENT_SQL, [row["id"] for row in rows])
        self.stats.published += len(rows)
        for row in rows:
            OUTBOX_PUBLISHED.labels(row["topic"]).inc()
        self.stats.batches += 1
        return len(rows)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                while not self._stopping.is_set() and await self.relay_batch() == self.batch_size:
                    pass
            except Exception as exc:  # noqa: BLE001 - keep relaying after a broker or DB hiccup
                log.warning("relay batch failed, retrying: %s", exc)
                OUTBOX_FAILURES.inc()
                await asyncio.sleep(1.0)
            self._wake.clear()
            if self._listener is not None and self._listener.is_closed():
                await self._listen(asyncpg_dsn(self.settings.database_url))
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.relay_poll_seconds)
            except TimeoutError:
                pass


def _headers(payload: str) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    try:
        event_id = json.loads(payload).get("event_id")
    except ValueError:
        event_id = None
    if event_id:
        headers["event_id"] = str(event_id)
    return headers


def _publish_span(row: asyncpg.Record) -> trace.Span:
    carrier = json.loads(row["trace_context"]) if row["trace_context"] else None
    return tracer().start_span(f'{row["topic"]} publish', context=context_from_headers(carrier),
                               kind=SpanKind.PRODUCER,
                               attributes={"messaging.system": "kafka", "messaging.destination.name": row["topic"],
                                           "messaging.kafka.message.key": row["key"], "recast.outbox.id": row["id"]})


async def serve(settings: Settings) -> None:
    relay = Relay(settings)
    serve_metrics_from_env()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, relay.request_stop)
    if not await start_with_retry(relay.start, relay.close, relay._stopping, "relay"):
        return
    log.info("relay started (broker %s)", settings.kafka_bootstrap)
    mark_ready()
    try:
        await relay.run()
    finally:
        await relay.stop()
        log.info("relay stopped after publishing %d events", relay.stats.published)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-relay", description="Publish the Postgres outbox to Kafka")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    setup_logging("relay", args.log_level)
    setup_tracing("relay")
    try:
        asyncio.run(serve(Settings()))
    finally:
        shutdown_tracing()


if __name__ == "__main__":
    main()
