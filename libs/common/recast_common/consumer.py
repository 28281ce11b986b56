"""Shared plumbing of the pipeline consumers (profiler, planner, coder, tester).

`build_app(name, topics, handle, settings)` returns a FastStream app with one subscriber in consumer group
`name` (earliest offsets, offsets committed only after handling); `build_loops_app(loops, settings)` runs
several such subscribers (a service with more than one message loop) on one broker. For every message it:

1. decodes the event (undecodable messages go straight to `<topic>.dlq`);
2. opens a database transaction and claims (name, event_id) in the inbox table: a redelivered event that was
   already handled is skipped; a concurrent duplicate waits on the row lock and is skipped after the commit;
   an event whose job row is gone or belongs to another submission is skipped too ("stale": no handler runs,
   nothing is written under the job's S3 prefix); when that happens while the handler runs, the files it wrote
   are deleted again and its outputs dropped (the job row is checked again after the handler, so whichever of
   the gateway's clean-up and the handler's writes comes last, no file outlives the job);
3. calls `handle(event, ctx)`, which returns the events to publish (and may call `ctx.progress(...)`: only a
   handling longer than settings.progress_delay_seconds, or one that produces no event, publishes progress), and
   commits those events with the claim;
4. publishes them keyed by job id, marks them published, then Kafka commits the offset.

A redelivery of an event whose outputs were committed but not all published (a crash or broker outage between
3 and 4) publishes the stored outputs again ("replayed") instead of running the handler anew: a search with a
deadline or a sandbox run could answer differently the second time, and downstream has already seen the first.

A handler exception rolls the claim back and is retried up to settings.consumer_max_retries times; after that
the message goes to `<topic>.dlq` with the error attached, its job (or inference run) is failed with that
error so that nobody waits for it, and the consumer moves on. A crash after publishing and before marking
yields the same events twice (at-least-once), never a loss; output event ids are derived from the input
event id so that downstream consumers and the projector drop those duplicates, and every output carries the
input's submission.

Every message is counted in recast_common.metrics (outcome, duration, handler errors); with RECAST_METRICS_PORT
set, the service serves them on that port at /metrics.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faststream import Context, FastStream
from faststream.kafka import KafkaBroker
from faststream.message import AckStatus

from recast_common.errors import is_transient
from recast_common.events import (
    REDRIVE_MARK,
    Event,
    InferenceChunkRequested,
    InferenceFailed,
    InferenceRequested,
    JobFailed,
    JobProgress,
    Topics,
    parse_event,
)
from recast_common.kafka import ensure_topics, make_broker, publish_event, subscriber_options
from recast_common.logs import bind, setup_logging
from recast_common.membership import member_listener
from recast_common.metrics import mark_ready, record_handler_error, record_message, serve_metrics_from_env
from recast_common.settings import Settings
from recast_common.tracing import consume_span, inject_headers, mark_error, setup_tracing, shutdown_tracing

if TYPE_CHECKING:
    from recast_common.storage import Storage

log = logging.getLogger("recast.consumer")

# A test aid: when set, every handled event is appended as one JSON line (replica, consumer, job, event).
HANDLED_LOG_ENV = "RECAST_HANDLED_LOG"
_MESSAGE = Context("message")  # FastStream injects the raw message (to learn its topic)
RETRY_BACKOFF_SECONDS = 0.5
OUTAGE_BACKOFF_MAX_SECONDS = 30.0


def replica_id() -> str:
    return os.environ.get("RECAST_REPLICA_ID") or f"{socket.gethostname()}:{os.getpid()}"


def derived_event_id(source_event_id: str, consumer: str, index: int) -> str:
    """Deterministic id of the index-th event a consumer emits for one input event (dedupes replays)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"recast:{consumer}:{source_event_id}:{index}").hex


@dataclass
class HandlerContext:
    """What a handler may use besides its event: settings, S3, and progress reporting."""

    consumer: str
    settings: Settings
    storage: Storage
    broker: KafkaBroker | None
    event: Event
    progress_sent: list[JobProgress] = field(default_factory=list)  # what was published, in order
    started: float = field(default_factory=time.monotonic)
    _latest: JobProgress | None = None
    _timer: asyncio.TimerHandle | None = None
    _sending: set[asyncio.Task] = field(default_factory=set)
    _finished: bool = False

    async def progress(self, stage: str, percent: int, message: str = "", attempt: int | None = None) -> None:
        """Report progress. Published (without waiting for the broker's acknowledgement) once the handling has run
        settings.progress_delay_seconds; before that only the latest report is kept, published then if the
        handling still runs (see `finish` if it ended). Progress is informative: a failure to publish it is only
        logged."""
        if self._finished:  # a late report (from a profiling thread) after the handling ended
            return
        event = JobProgress(
            job_id=self.event.job_id,
            client_id=self.event.client_id,
            attempt=attempt if attempt is not None else self.event.attempt,
            stage=stage,
            percent=max(0, min(100, int(percent))),
            message=message[:500],
            submission=self.event.submission,
        )
        wait = self.settings.progress_delay_seconds - (time.monotonic() - self.started)
        if wait <= 0:
            await self._publish(event)
            return
        self._latest = event
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._publish_latest)

    def _publish_latest(self) -> None:
        event, self._latest = self._latest, None
        if event is not None and not self._finished:
            task = asyncio.ensure_future(self._publish(event))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _publish(self, event: JobProgress) -> None:
        self.progress_sent.append(event)
        if self.broker is None:
            return
        try:
            sent = await publish_event(self.broker, event, wait=False)
        except Exception as exc:  # noqa: BLE001
            log.warning("progress event for job %s not published: %s", event.job_id, exc)
            return
        sent.add_done_callback(_log_unsent_progress)

    async def finish(self, outputs: list[Event] | None) -> None:
        """The handling ended with `outputs` (None: it failed). Progress not published yet is dropped when it
        produced events (they move the job on) or failed; published when it produced none (nothing else would
        tell, e.g. one chunk of a run done)."""
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
        latest, self._latest = self._latest, None
        if latest is not None and outputs == []:
            await self._publish(latest)


def _log_unsent_progress(sent: asyncio.Future) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        log.warning("a progress event was not published: %s", sent.exception())


Handler = Callable[[Event, HandlerContext], Awaitable[list[Event]]]


class DeadLetter(Exception):
    """Raised by a handler for a message that can never succeed: no retries, straight to the DLQ."""


def _with_derived_ids(events: list[Event], source: Event, consumer: str) -> list[Event]:
    """Derived event ids, and the input's submission on every output (handlers need not know about it)."""
    return [
        e.model_copy(update={"event_id": derived_event_id(source.event_id, consumer, i),
                             "submission": source.submission})
        for i, e in enumerate(events)
    ]


class _WriteRecorder:
    """The Storage a handler gets: the real one, remembering which keys it wrote."""

    def __init__(self, storage: Storage):
        self._storage = storage
        self.written: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    async def put_bytes(self, key: str, *args: Any, **kwargs: Any) -> None:
        self.written.append(key)
        await self._storage.put_bytes(key, *args, **kwargs)

    async def upload_file(self, key: str, *args: Any, **kwargs: Any) -> None:
        self.written.append(key)
        await self._storage.upload_file(key, *args, **kwargs)


async def _is_stale(session: Any, event: Event) -> bool:
    """True when the event's job was deleted or replaced by another submission (one indexed lookup).

    Events without a submission (older producers) cannot tell and are handled as before.
    """
    if event.submission is None:
        return False
    from sqlalchemy import select

    from recast_common.db.models import Job

    current = (await session.execute(select(Job.submission).where(Job.id == event.job_id))).first()
    return current is None or current.submission != event.submission


def _record_handled(consumer: str, event: Event, outputs: list[Event]) -> None:
    line = {
        "replica": replica_id(),
        "consumer": consumer,
        "job_id": event.job_id,
        "event_id": event.event_id,
        "type": event.type,
        "outputs": [o.type for o in outputs],
    }
    log.info("handled %s", json.dumps(line))
    path = os.environ.get(HANDLED_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


class Consumer:
    """One service's message loop logic, independent of FastStream so it can be driven directly."""

    def __init__(self, name: str, settings: Settings, handle: Handler):
        self.name = name
        self.settings = settings
        self.handle = handle
        self.broker: KafkaBroker | None = None
        self.storage: Storage | None = None
        self._sessions = None
        self._starting: asyncio.Future[None] | None = None
        self._loading: asyncio.Future[None] | None = None

    def start_soon(self, broker: KafkaBroker | None) -> None:
        """start() in the background: its imports and clients take a second or more, which overlaps the wait for
        the consumer group's join instead of preceding it; the first message waits for it (process())."""
        self._load()
        self._starting = asyncio.ensure_future(self.start(broker))

    def _load(self) -> asyncio.Future[None]:
        # SQLAlchemy, aiobotocore and a lazy handler's module take a second or more to import: in a thread, while
        # the loop joins the group
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(_import_clients, self.handle))
        return self._loading

    async def start(self, broker: KafkaBroker | None) -> None:
        await self._load()
        from recast_common.db import session_factory
        from recast_common.storage import Storage

        self.broker = broker
        self.storage = Storage(self.settings)
        await self.storage.__aenter__()
        self._sessions = session_factory(self.settings)
        await self._warm_up()

    async def _warm_up(self) -> None:
        """Open the first database connection now (while the group join waits at the broker), not for the first
        message. Best effort: a database that is away is waited for when a message needs it."""
        from sqlalchemy import text

        try:
            async with self._sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001
            log.info("%s: no database connection yet (%s)", self.name, exc)

    async def loaded(self) -> None:
        """Until the clients and the handler are imported (not the database connection): an import that failed
        raises here."""
        await asyncio.shield(self._load())

    async def stop(self) -> None:
        if self._starting is not None and not self._starting.done():  # stopped while starting
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
            self.storage = None  # its client may be half open: nothing to close cleanly
        if self.storage is not None:
            await self.storage.__aexit__(None, None, None)
            self.storage = None

    async def publish(self, event: Event, topic: str | None = None, marks: dict[str, Any] | None = None) -> None:
        """Publish one event to its topic (or `topic`, then keyed by its job id). `marks` are keys published beside
        the event's fields, as outbox.enqueue's (a stored output sent again in the sweeper's n-th re-drive carries
        events.REDRIVE_MARK for the next stage)."""
        if topic is None and not marks:
            await publish_event(self.broker, event)
            return
        key = event.partition_key() if topic is None else event.job_id
        await self.broker.publish(
            {**event.model_dump(mode="json"), **(marks or {})}, topic=topic or event.type, key=key.encode(),
            headers=inject_headers({"content-type": "application/json", "event_id": event.event_id}),
        )

    async def dead_letter(self, topic: str, body: Any, error: str) -> None:
        payload = {"topic": topic, "consumer": self.name, "error": error[-4000:], "replica": replica_id()}
        if isinstance(body, (bytes, bytearray)):
            payload["raw"] = bytes(body).decode("utf-8", "replace")
        else:
            payload["event"] = body
        key = None
        if isinstance(body, dict) and isinstance(body.get("job_id"), str):
            key = body["job_id"].encode()
        await self.broker.publish(payload, topic=Topics.dlq(topic), key=key, headers=inject_headers())
        log.error("%s: message on %s sent to the DLQ: %s", self.name, topic, error.splitlines()[-1:])

    async def process(self, topic: str, body: Any, headers: Any = None) -> str:
        """Handle one message; returns "handled", "duplicate", "replayed", "stale" or "dead-lettered" (and
        records metrics). Its log lines carry its job and event ids, its span continues the trace in `headers`."""
        if self._starting is not None:
            await self._starting  # a start that failed raises here: the message is nacked and comes back
        started = time.perf_counter()
        job_id, event_id = _ids_of(body)
        with bind(job_id=job_id, event_id=event_id), consume_span(
            topic, headers, self.name, {"recast.job_id": job_id, "recast.event_id": event_id}
        ) as span:
            result = await self._process(topic, body)
            span.set_attribute("recast.outcome", result)
            if result == "dead-lettered":
                mark_error(span, "dead-lettered")
        record_message(self.name, topic, result, time.perf_counter() - started)
        return result

    async def _process(self, topic: str, body: Any) -> str:
        from recast_common.db import inbox

        try:
            event = parse_event(body)
        except Exception as exc:  # noqa: BLE001 - undecodable: retrying cannot help
            await self.dead_letter(topic, body, f"undecodable event: {exc}")
            return "dead-lettered"
        redrive = body.get(REDRIVE_MARK) if isinstance(body, dict) else None
        retries = max(1, self.settings.consumer_max_retries)
        error = ""
        attempt = outages = 0
        while attempt < retries:
            attempt += 1
            try:
                async with self._sessions() as session, session.begin():
                    replay = not await inbox.claim(session, self.name, event.event_id)
                    if replay:
                        stored = await inbox.unpublished_outputs(session, self.name, event.event_id)
                        if stored is None and redrive is not None:
                            # the sweeper's copy of an event handled before: what came of it goes out again
                            # (same ids: whoever has them skips them, whoever missed them gets them)
                            stored = await inbox.stored_outputs(session, self.name, event.event_id)
                        if stored is None:
                            log.info("%s: duplicate event %s skipped", self.name, event.event_id)
                            return "duplicate"
                        outputs = [parse_event(output) for output in stored]
                    else:
                        if await _is_stale(session, event):
                            # The claim commits (a redelivery is a duplicate); no handler runs, nothing is written.
                            log.info("%s: event %s of job %s skipped: the job was deleted or replaced",
                                     self.name, event.event_id, event.job_id)
                            return "stale"
                        storage = _WriteRecorder(self.storage) if self.storage is not None else None
                        ctx = HandlerContext(self.name, self.settings, storage, self.broker, event)
                        try:
                            produced = await self.handle(event, ctx)
                        except BaseException:
                            await ctx.finish(None)
                            raise
                        await ctx.finish(produced)
                        outputs = _with_derived_ids(produced, event, self.name)
                        if await _is_stale(session, event):
                            # Deleted or replaced while the handler ran, and the gateway may have cleaned the
                            # job's prefix before these files were written: remove them, publish nothing.
                            await self._discard(storage, event)
                            return "stale"
                        await inbox.record_outputs(session, self.name, event.event_id,
                                                   [output.model_dump(mode="json") for output in outputs])
                marks = {REDRIVE_MARK: redrive} if replay and redrive is not None else None
                for output in outputs:
                    await self.publish(output, marks=marks)
                async with self._sessions() as session, session.begin():
                    await inbox.mark_published(session, self.name, event.event_id)
                if replay:
                    log.info("%s: event %s was handled before; its %d stored outputs were sent again%s",
                             self.name, event.event_id, len(outputs),
                             f" (re-drive {redrive})" if redrive is not None else "")
                    return "replayed"
                _record_handled(self.name, event, outputs)
                return "handled"
            except DeadLetter as exc:
                record_handler_error(self.name, topic, will_retry=False)
                error = f"{type(exc).__name__}: {exc}"
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                if is_transient(exc):
                    # Postgres, Kafka or S3 away: not the message's fault, so it keeps its retries and waits.
                    outages += 1
                    attempt -= 1
                    delay = min(OUTAGE_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS * 2 ** min(outages, 8))
                    record_handler_error(self.name, topic, will_retry=True)
                    log.warning("%s: infrastructure unavailable while handling %s (%s); retrying in %.1fs",
                                self.name, event.event_id, exc, delay)
                    await asyncio.sleep(delay)
                    continue
                record_handler_error(self.name, topic, will_retry=attempt < retries)
                error = traceback.format_exc()
                log.warning("%s: handling %s failed (try %d/%d): %s", self.name, event.event_id, attempt,
                            retries, error.strip().splitlines()[-1])
                if attempt < retries:
                    await asyncio.sleep(RETRY_BACKOFF_SECONDS * attempt)
        await self.dead_letter(topic, event.model_dump(mode="json"), error)
        await self._fail_downstream(event, error)
        return "dead-lettered"

    async def _discard(self, storage: _WriteRecorder | None, event: Event) -> None:
        # Stage keys are per submission (recast_common.stage_files), so these are this submission's files only.
        log.info("%s: job %s was deleted or replaced while %s was handled; its outputs are dropped",
                 self.name, event.job_id, event.event_id)
        if storage is None or not storage.written:
            return
        try:
            await self.storage.delete_keys(storage.written)
        except Exception as exc:  # noqa: BLE001 - the files are orphans either way; say which
            log.error("%s: could not delete %s of stale job %s: %s", self.name, storage.written, event.job_id, exc)

    async def _fail_downstream(self, event: Event, error: str) -> None:
        """End the job (or inference run) with the error, so that nobody waits for a dead-lettered message."""
        last_line = (error.strip().splitlines() or ["unknown error"])[-1][:500]
        reason = f"{self.name} could not handle {event.type}: {last_line}"
        common = {"job_id": event.job_id, "client_id": event.client_id, "attempt": event.attempt,
                  "submission": event.submission}
        if isinstance(event, (InferenceRequested, InferenceChunkRequested)):
            failure: Event = InferenceFailed(**common, run_id=event.run_id, reason=reason)
        elif event.type.startswith("job.") and event.type not in (Topics.JOB_SUCCEEDED, Topics.JOB_FAILED,
                                                                    Topics.JOB_PROGRESS):
            failure = JobFailed(**common, reason=reason, stage=self.name)
        else:
            return
        failure = failure.model_copy(update={"event_id": derived_event_id(event.event_id, self.name, 999)})
        try:
            await self.publish(failure)
        except Exception as exc:  # noqa: BLE001 - the DLQ entry already records the problem
            log.error("%s: could not publish the failure of job %s: %s", self.name, event.job_id, exc)


@dataclass(frozen=True)
class Loop:
    """One message loop of a service: a subscriber of Kafka group `group` (default `name`) over `topics`.

    `name` is the consumer's identity (inbox claims, derived event ids, metrics, logs); handler_budget_seconds
    is the longest one message may take (a search, a sandbox run): the member stays in its group that long
    (plus a margin) instead of being evicted as stuck.
    """

    name: str
    topics: tuple[str, ...]
    handle: Handler
    group: str | None = None
    handler_budget_seconds: float = 0.0
    subscriber_overrides: dict[str, Any] = field(default_factory=dict)


def build_app(
    name: str,
    topics: tuple[str, ...] | list[str],
    handle: Handler,
    settings: Settings | None = None,
    handler_budget_seconds: float = 0.0,
    **subscriber_overrides: Any,
) -> tuple[FastStream, Consumer]:
    """A FastStream app running one subscriber of group `name` over `topics`, handling through `handle`."""
    app, consumers = build_loops_app(
        [Loop(name, tuple(topics), handle, handler_budget_seconds=handler_budget_seconds,
              subscriber_overrides=subscriber_overrides)],
        settings,
    )
    return app, consumers[0]


def build_loops_app(loops: list[Loop], settings: Settings | None = None) -> tuple[FastStream, list[Consumer]]:
    """A FastStream app running one subscriber per loop on one broker; each loop handles its messages one at
    a time, independently of the others (a long message in one loop does not hold up the next)."""
    settings = settings or Settings()
    broker = make_broker(settings)
    consumers = [_subscribe(broker, loop, settings) for loop in loops]

    async def on_startup() -> None:
        try:
            if settings.create_topics:
                await ensure_topics(settings)
        except Exception as exc:  # noqa: BLE001 - the stack usually created them already
            log.warning("ensure_topics failed: %s", exc)
        # while the broker joins the groups; publishing only happens while handling, once it is connected
        for consumer in consumers:
            consumer.start_soon(broker)
        serve_metrics_from_env()  # only when RECAST_METRICS_PORT is set

    async def after_startup() -> None:
        # the groups are joined; a handler that cannot be imported ends the service here
        await asyncio.gather(*(consumer.loaded() for consumer in consumers))
        for loop in loops:
            log.info("%s replica %s consuming %s (group %s)", loop.name, replica_id(), ", ".join(loop.topics),
                     loop.group or loop.name)
        mark_ready()

    async def on_shutdown() -> None:
        mark_ready(False)
        for consumer in consumers:
            await consumer.stop()

    app = FastStream(broker, on_startup=[on_startup], after_startup=[after_startup], on_shutdown=[on_shutdown])
    return app, consumers


def _subscribe(broker: KafkaBroker, loop: Loop, settings: Settings) -> Consumer:
    overrides = dict(loop.subscriber_overrides)
    if loop.handler_budget_seconds:
        overrides.setdefault("max_poll_interval_ms", max(300_000, int((loop.handler_budget_seconds + 180) * 1000)))
    consumer = Consumer(loop.name, settings, loop.handle)
    topics = loop.topics
    group = loop.group or loop.name
    subscriber: Any = None
    listener = member_listener(settings, group, lambda: getattr(subscriber, "consumer", None))
    if listener is not None:
        overrides.setdefault("listener", listener)
    subscriber = broker.subscriber(*topics, **subscriber_options(group, settings.consumer_session_timeout_ms,
                                                                 **overrides))

    @subscriber
    async def on_message(body: Any, message: Any = _MESSAGE) -> None:
        topic = _topic_of(message) or (topics[0] if len(topics) == 1 else "unknown")
        await consumer.process(topic, body, _headers_of(message))
        await commit_own_partition(message)

    return consumer


async def commit_own_partition(message: Any) -> None:
    """Commit the offset after a handled message on its own partition only, before FastStream's ack.

    FastStream's ack is aiokafka's commit() without offsets, which commits the position of every assigned
    partition; Tansu stores each partition's offset as an object of its own, so a planner holding 8 partitions
    wrote 9 S3 objects per message (2 for one partition). Handling is sequential per subscriber, so the other
    partitions' positions are committed when their own messages are handled. Once committed the message counts
    as acked (FastStream's ack then does nothing); when this commit fails FastStream's own ack still runs."""
    raw, kafka = getattr(message, "raw_message", None), getattr(message, "consumer", None)
    if getattr(message, "committed", True) is not None or not isinstance(kafka, AIOKafkaConsumer) \
            or not hasattr(raw, "partition"):
        return
    try:
        await kafka.commit({TopicPartition(raw.topic, raw.partition): raw.offset + 1})
    except KafkaError as exc:  # a rebalance, the broker away: FastStream's ack (or the redelivery) settles it
        log.info("committing %s/%d@%d failed (%s); left to the ack", raw.topic, raw.partition, raw.offset, exc)
        return
    message.committed = AckStatus.ACKED


def _import_clients(handle: Handler) -> None:
    import recast_common.db
    import recast_common.storage  # noqa: F401

    load = getattr(handle, "load", None)  # recast_common.consumers.LazyHandler
    if load is not None:
        load()


def _ids_of(body: Any) -> tuple[str | None, str | None]:
    """The job and event ids of a message body, when it has them (for log lines and spans)."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = json.loads(body)
        except ValueError:
            return None, None
    if not isinstance(body, dict):
        return None, None
    job_id, event_id = body.get("job_id"), body.get("event_id")
    return (job_id if isinstance(job_id, str) else None), (event_id if isinstance(event_id, str) else None)


def _headers_of(message: Any) -> Any:
    headers = getattr(message, "headers", None)
    if headers:
        return headers
    return getattr(getattr(message, "raw_message", None), "headers", None)


def _topic_of(message: Any) -> str | None:
    raw = getattr(message, "raw_message", None)
    return getattr(raw, "topic", None)


def run_service(app: FastStream, service: str | None = None) -> None:
    """Run until SIGTERM/SIGINT (FastStream stops the subscriber, then the shutdown hooks run).

    `service` names the logs and traces (default: the package run with `python -m`)."""
    service = service or _main_package()
    setup_logging(service)
    setup_tracing(service)
    try:
        asyncio.run(app.run())
    finally:
        shutdown_tracing()


def _main_package() -> str:
    import sys

    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = getattr(spec, "name", None) or os.path.basename(sys.argv[0]) or "recast"
    return name.removesuffix(".__main__")
