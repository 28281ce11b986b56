"""recast-dlq lists and shows dead letters, and replays one (or all not replayed before) to its topic: the
original event, same id, keyed by its job."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from recast_common.events import JobSubmitted, Topics


def dlq(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recast_common.dlq", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


async def dead_letter(settings, event: JobSubmitted) -> None:
    """What a consumer writes when it gives up on a message (recast_common.consumer.Consumer.dead_letter)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        body = {"topic": Topics.JOB_SUBMITTED, "consumer": "profiler", "replica": "test",
                "error": "Traceback ...\nValueError: the profile could not be stored", "event": event.model_dump(
                    mode="json")}
        await producer.send_and_wait(Topics.dlq(Topics.JOB_SUBMITTED), json.dumps(body).encode(),
                                     key=event.job_id.encode())
    finally:
        await producer.stop()


async def published_again(settings, event_id: str, start: dict) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        batches = await consumer.getmany(timeout_ms=3000)
        return sum(json.loads(m.value).get("event_id") == event_id for ms in batches.values() for m in ms)
    finally:
        await consumer.stop()


async def end_offsets(settings, topic: str) -> dict:
    from aiokafka import TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def test_dead_letters_are_listed_shown_and_replayed_once(stack):
    env = stack.process_env()
    job = uuid.uuid4().hex
    event = JobSubmitted(job_id=job, client_id="c", input_key=f"c/{job}/i.csv", expected_key=f"c/{job}/e.csv")
    await dead_letter(stack.settings, event)

    listed = await asyncio.to_thread(dlq, env, "list", "--topic", Topics.JOB_SUBMITTED)
    assert listed.returncode == 0, listed.stderr
    ours = [line for line in listed.stdout.splitlines() if job in line]
    assert len(ours) == 1
    letter_id, consumer, job_id, kind, error = ours[0].split("\t")
    assert (consumer, job_id, kind) == ("profiler", job, "job.submitted")
    assert "could not be stored" in error

    shown = await asyncio.to_thread(dlq, env, "show", letter_id)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["event"]["event_id"] == event.event_id

    start = await end_offsets(stack.settings, Topics.JOB_SUBMITTED)
    replayed = await asyncio.to_thread(dlq, env, "replay", letter_id)
    assert replayed.returncode == 0 and f"replayed {letter_id}" in replayed.stdout, replayed.stderr
    assert await published_again(stack.settings, event.event_id, start) == 1

    first = await asyncio.to_thread(dlq, env, "replay", "--all", "--topic", Topics.JOB_SUBMITTED)
    second = await asyncio.to_thread(dlq, env, "replay", "--all", "--topic", Topics.JOB_SUBMITTED)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert f"replayed {letter_id}" in first.stdout
    assert letter_id not in second.stdout
    assert await published_again(stack.settings, event.event_id, start) == 2
