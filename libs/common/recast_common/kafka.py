"""Kafka helpers shared by every service: broker factory, topic setup, lag/membership status, publishing.

Written against Tansu (Kafka-compatible broker storing topics in S3). Two Tansu quirks shape this module:
idempotent producers fail (so `enable_idempotence` stays off and consumers are idempotent instead), and the
admin client's `list_consumer_group_offsets` cannot decode Tansu's reply, so lag is computed from a plain
consumer's `committed()` and the high watermark of a Fetch (Tansu's ListOffsets, behind `end_offsets()`, is
wrong).
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from recast_common.consumers import CONSUMERS
from recast_common.events import Event, Topics
from recast_common.settings import Settings
from recast_common.tracing import inject_headers

log = logging.getLogger(__name__)

JSON_HEADERS = {"content-type": "application/json"}

# Which topics each consumer group reads (recast_common.consumers); lag is summed over these.
# /queue/status and `recast-stack queue-status` report these groups.
GROUP_TOPICS: dict[str, tuple[str, ...]] = {c.group: c.topics for c in CONSUMERS}


def all_topic_names() -> list[str]:
    """Every pipeline topic and its dead-letter topic."""
    return [*Topics.ALL, *(Topics.dlq(t) for t in Topics.ALL)]


def group_timing(session_timeout_ms: int) -> dict[str, int]:
    """Session timeout and heartbeat interval of a consumer group member (RECAST_CONSUMER_SESSION_TIMEOUT_MS).

    Tansu answers a JoinGroup only after about two thirds of the session timeout (3 s: 2 s). A member killed
    without leaving stays the group's leader until its session expires, and a newcomer that joins before then
    waits a whole round more (7-8 s with 3 s sessions): a restarted consumer therefore rejoins as the member its
    predecessor left (recast_common.membership), which Tansu lets straight back in. Handlers run their CPU work
    off the event loop (a thread, the planner's process pool), so heartbeats keep well within the session.
    Static membership (group.instance.id) does not help on Tansu: its joins take 5-6 s longer, and LeaveGroup
    of the dead member is unsafe (a group forming around a removed leader never forms)."""
    return {"session_timeout_ms": session_timeout_ms, "heartbeat_interval_ms": max(100, session_timeout_ms // 3)}


class _ConcurrentStartBroker(KafkaBroker):
    """FastStream's broker starts its subscribers one after the other, and each start waits for the group to
    assign partitions: a service with two message loops (the tester) waited for two joins in a row. This one
    starts them all at once (FastStream 0.7's BrokerUsecase.start, gathered)."""

    async def start(self) -> None:
        await self.connect()
        await asyncio.gather(*(subscriber.start() for subscriber in self.subscribers))
        for publisher in self.publishers:
            await publisher.start()
        self.running = True


def make_broker(settings: Settings, **kw: Any) -> KafkaBroker:
    """A FastStream KafkaBroker for the configured bootstrap servers (never idempotent: Tansu refuses it).

    Every publish waits for all in-sync replicas (acks=all): with min.insync.replicas 2 on the cluster's topics
    (deploy/k8s/kafka-topics.yaml) an acknowledged event survives the loss of a broker.
    """
    kw.setdefault("enable_idempotence", False)
    kw.setdefault("acks", "all")
    kw.setdefault("request_timeout_ms", 20_000)
    return _ConcurrentStartBroker(settings.kafka_bootstrap, **kw)


def subscriber_options(group: str, session_timeout_ms: int | None = None, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments every pipeline subscriber should use: its service's group, start from the earliest
    offset when the group is new (FastStream's default "latest" silently skips earlier events), and commit
    only after the handler finished (at-least-once). A handler that still raises (say the DLQ publish failed)
    is nacked: the message comes back instead of being committed unhandled."""
    options: dict[str, Any] = {
        "group_id": group,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        **group_timing(session_timeout_ms or Settings.model_fields["consumer_session_timeout_ms"].default),
    }
    options.update(overrides)
    return options


def event_payload(event: Event) -> bytes:
    return event.model_dump_json().encode()


async def publish_event(
    producer_or_broker: KafkaBroker | AIOKafkaProducer, event: Event, wait: bool = True, partition: int | None = None
) -> asyncio.Future | None:
    """Publish one event to the topic named by its type, keyed by its partition key (the job id, so that a
    job's events stay ordered; a chunk of a large inference run by chunk, so that chunks spread), to the
    partition the key hashes to unless `partition` says which.

    Waits for the broker's acknowledgement, unless `wait` is False: then the event is only queued in the producer
    (sent with the next batch, in order with the producer's other messages to its partition) and the future of
    its acknowledgement is returned. Works with a started FastStream KafkaBroker or aiokafka producer.
    """
    key = event.partition_key().encode()
    headers = inject_headers({**JSON_HEADERS, "event_id": event.event_id})  # + traceparent when tracing
    if isinstance(producer_or_broker, KafkaBroker):
        sent = await producer_or_broker.publish(
            event.model_dump(mode="json"), topic=event.type, key=key, partition=partition, headers=headers,
            no_confirm=not wait,
        )
        return None if wait else sent
    send = producer_or_broker.send_and_wait if wait else producer_or_broker.send
    sent = await send(
        event.type,
        value=event_payload(event),
        key=key,
        partition=partition,
        headers=[(name, value.encode()) for name, value in headers.items()],
    )
    return None if wait else sent


def _admin(settings: Settings, timeout_ms: int = 10_000) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=timeout_ms, client_id="recast-admin"
    )


async def ensure_topics(settings: Settings, topics: list[str] | None = None) -> list[str]:
    """Create every pipeline topic (and its `.dlq`) that does not exist yet; returns the names created.

    Idempotent and safe to race with another caller. Existing topics are left as they are, even when their
    partition count differs from settings.topic_partitions.
    """
    wanted = topics if topics is not None else all_topic_names()
    admin = _admin(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return []
        new = [NewTopic(t, num_partitions=settings.topic_partitions, replication_factor=1) for t in missing]
        try:
            response = await admin.create_topics(new)
        except TopicAlreadyExistsError:
            return []
        for topic_error in getattr(response, "topic_errors", []) or getattr(response, "topics", []):
            name, code = topic_error[0], topic_error[1]
            if code not in (0, TopicAlreadyExistsError.errno):
                raise KafkaError(f"creating topic {name} failed with error code {code}")
        return missing
    finally:
        await admin.close()


async def topic_partitions(settings: Settings, topics: list[str]) -> dict[str, int]:
    """Number of partitions of each existing topic among `topics`."""
    admin = _admin(settings)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
        return {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    finally:
        await admin.close()


async def ping(settings: Settings, timeout: float = 3.0) -> bool:
    """True when the broker answers a metadata request within `timeout` seconds."""
    admin = _admin(settings, timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.list_topics(), timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    finally:
        try:
            await admin.close()
        except Exception as exc:  # noqa: BLE001
            log.debug("closing the admin client after ping failed: %s", exc)


async def _group_members(admin: AIOKafkaAdminClient, group: str) -> list[str] | None:
    """Member ids of a group from DescribeGroups, or None when the broker cannot tell."""
    try:
        responses = await admin.describe_consumer_groups([group])
    except Exception as exc:  # noqa: BLE001 - membership is best effort
        log.debug("describe_consumer_groups(%s) failed: %s", group, exc)
        return None
    members: list[str] = []
    for response in responses:
        for described in response.to_object().get("groups", []):
            if described.get("group") != group or described.get("error_code", 0) != 0:
                continue
            members.extend(m["member_id"] for m in described.get("members", []))
    return members


def partition_lag(end_offset: int, committed: int | None, beginning: int) -> int:
    """Messages the group still has to handle on one partition (from the start if it never committed)."""
    position = committed if committed is not None else beginning
    return max(0, end_offset - position)


async def queue_status(
    settings: Settings, groups: list[str], group_topics: dict[str, tuple[str, ...]] | None = None
) -> dict[str, Any]:
    """Per consumer group: total lag, lag per topic, and members (best effort).

    Returns {group: {"lag": int, "topics": {topic: lag}, "members": int | None, "member_ids": [str]}}.
    A group's topics come from `group_topics` (default GROUP_TOPICS); for an unknown group every pipeline
    topic is inspected and only partitions it has committed on count. The end of every partition is read once
    for all groups (a Fetch per partition costs the broker a read of its storage); each group adds only its
    committed offsets.
    """
    mapping = group_topics or GROUP_TOPICS
    admin = _admin(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        described = await admin.describe_topics(sorted(existing))
        partitions_by_topic = {t["topic"]: [p["partition"] for p in t["partitions"]] for t in described}
        topics_of = {group: [t for t in (mapping[group] if group in mapping else Topics.ALL) if t in existing]
                     for group in groups}
        tps_of = {group: [TopicPartition(t, p) for t in topics for p in partitions_by_topic.get(t, [])]
                  for group, topics in topics_of.items()}
        committed_of = dict(zip(groups, await asyncio.gather(*(_committed(settings, g, tps_of[g]) for g in groups))))
        every_tp = sorted({tp for tps in tps_of.values() for tp in tps})
        beginning, end = await _partition_bounds(settings, every_tp, committed_of)
        result: dict[str, Any] = {}
        for group in groups:
            per_topic: dict[str, int] = {t: 0 for t in topics_of[group]}
            for tp in tps_of[group]:
                committed = committed_of[group][tp]
                if committed is None and group not in mapping:
                    continue
                per_topic[tp.topic] += partition_lag(end[tp], committed, beginning[tp])
            members = await _group_members(admin, group)
            result[group] = {
                "lag": sum(per_topic.values()),
                "topics": per_topic,
                "members": len(members) if members is not None else None,
                "member_ids": members or [],
            }
        return result
    finally:
        await admin.close()


async def _committed(settings: Settings, group: str, tps: list[TopicPartition]) -> dict[TopicPartition, int | None]:
    if not tps:
        return {}
    # A consumer that never subscribes does not join the group: it only reads the group's offsets.
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(zip(tps, await asyncio.gather(*(consumer.committed(tp) for tp in tps))))
    finally:
        await consumer.stop()


async def _partition_bounds(
    settings: Settings, tps: list[TopicPartition], committed_of: dict[str, dict[TopicPartition, int | None]],
    timeout: float = 10.0,
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """First offset and high watermark of each partition, read from the furthest committed position of any group
    (the fewest bytes to fetch)."""
    if not tps:
        return {}, {}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=50, max_partition_fetch_bytes=1024)
    await consumer.start()
    try:
        beginning = await consumer.beginning_offsets(tps)
        furthest: dict[TopicPartition, int | None] = {}
        for tp in tps:
            positions = [offsets[tp] for offsets in committed_of.values() if offsets.get(tp) is not None]
            furthest[tp] = max(positions) if positions else None
        end = await _high_watermarks(consumer, tps, furthest, beginning, timeout)
        return beginning, end
    finally:
        await consumer.stop()


async def _high_watermarks(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    committed: dict[TopicPartition, int | None],
    beginning: dict[TopicPartition, int],
    timeout: float,
) -> dict[TopicPartition, int]:
    """End offsets as reported by Fetch responses.

    Tansu (0.6, S3 storage) answers ListOffsets(latest) with a wrong offset (1 for every non-empty partition),
    so `end_offsets()` cannot be trusted; the high watermark in a Fetch response is right. Fetching from the
    committed position with a tiny byte limit keeps this cheap.
    """
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, committed[tp] if committed[tp] is not None else beginning[tp])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(consumer.highwater(tp) is None for tp in tps):
        if loop.time() > deadline:
            missing = [f"{tp.topic}/{tp.partition}" for tp in tps if consumer.highwater(tp) is None]
            raise TimeoutError(f"no high watermark for {missing}")
        await consumer.getmany(*tps, timeout_ms=100)
    return {tp: consumer.highwater(tp) for tp in tps}


def decode_event_value(value: bytes) -> dict[str, Any]:
    return json.loads(value)


async def topic_message_counts(settings: Settings, topics: list[str], timeout: float = 10.0) -> dict[str, int]:
    """Messages each existing topic among `topics` holds (high watermark minus first offset, summed over its
    partitions); e.g. the depth of the dead-letter topics."""
    admin = _admin(settings)
    await admin.start()
    try:
        existing = [t for t in topics if t in set(await admin.list_topics())]
        described = await admin.describe_topics(existing) if existing else []
    finally:
        await admin.close()
    tps = [TopicPartition(t["topic"], p["partition"]) for t in described if t["error_code"] == 0
           for p in t["partitions"]]
    if not tps:
        return {t: 0 for t in existing}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=50, max_partition_fetch_bytes=1024)
    await consumer.start()
    try:
        beginning = await consumer.beginning_offsets(tps)
        end = await _high_watermarks(consumer, tps, {tp: None for tp in tps}, beginning, timeout)
    finally:
        await consumer.stop()
    counts = {t: 0 for t in existing}
    for tp in tps:
        counts[tp.topic] += max(0, end[tp] - beginning[tp])
    return counts
