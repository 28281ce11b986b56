"""Helpers shared by the pipeline, e2e, replica, hostile and LLM integration tests (no tests in here).

Events are observed straight on Kafka with a group-less consumer reading every partition from the beginning,
so a test sees exactly what the services published, whatever the projector made of it.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Self

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from recast_common.events import Event, Topics, parse_event
from recast_common.kafka import publish_event
from recast_common.settings import Settings
from recast_common.storage import Storage

API = "/api/v1"
TERMINAL_JOB_EVENTS = (Topics.JOB_SUCCEEDED, Topics.JOB_FAILED)


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


async def put_objects(settings: Settings, objects: dict[str, bytes]) -> None:
    async with Storage(settings) as storage:
        for key, data in objects.items():
            await storage.put_bytes(key, data)


async def get_object(settings: Settings, key: str) -> bytes:
    async with Storage(settings) as storage:
        return await storage.get_bytes(key)


async def publish(settings: Settings, *events: Event) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for event in events:
            await publish_event(producer, event)
    finally:
        await producer.stop()


class EventLog:
    """Reads topics from the beginning (no consumer group) and keeps every event, for assertions."""

    def __init__(self, settings: Settings, topics: Iterable[str]):
        self.settings = settings
        self.topics = list(topics)
        self.events: list[Event] = []
        self.raw: list[tuple[str, dict]] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Self:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await self._consumer.start()
        partitions = []
        for topic in self.topics:
            for _ in range(50):
                found = self._consumer.partitions_for_topic(topic)
                if found:
                    break
                await self._consumer._client.force_metadata_update()  # topic metadata may lag creation
                await asyncio.sleep(0.2)
            partitions += [TopicPartition(topic, p) for p in sorted(found or [])]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._consumer.stop()

    async def poll(self, timeout: float = 0.5) -> None:
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000), max_records=500)
        for tp, records in batches.items():
            for record in records:
                try:
                    self.events.append(parse_event(record.value))
                except Exception:  # noqa: BLE001 - DLQ payloads and foreign messages
                    try:
                        self.raw.append((tp.topic, json.loads(record.value)))
                    except ValueError:
                        self.raw.append((tp.topic, {"bytes": record.value}))

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float, what: str = "event") -> Event:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            if time.monotonic() > deadline:
                seen = [(e.type, e.job_id, e.attempt) for e in self.events[-30:]]
                raise AssertionError(f"no {what} within {timeout:.0f}s; last events: {seen}")
            await self.poll()

    def of_job(self, job_id: str, type_: str | None = None) -> list[Event]:
        return [e for e in self.events if e.job_id == job_id and (type_ is None or e.type == type_)]


def job_done(job_id: str) -> Callable[[Event], bool]:
    return lambda e: e.job_id == job_id and e.type in TERMINAL_JOB_EVENTS


# --- HTTP API -------------------------------------------------------------------------------------------------


def create_client(url: str, admin_key: str) -> tuple[str, str]:
    response = httpx.post(f"{url}{API}/admin/clients", json={"name": "pipeline tests"},
                          headers={"X-API-KEY": admin_key}, timeout=30)
    response.raise_for_status()
    body = response.json()
    return body["client_id"], body["api_key"]


def train(url: str, api_key: str, input_csv: str, expected_csv: str, header: str = "auto") -> dict[str, Any]:
    response = httpx.post(f"{url}{API}/train", headers={"X-API-KEY": api_key}, timeout=60,
                          json={"input_file": input_csv, "expected_output_file": expected_csv, "header": header})
    assert response.status_code == 202, response.text
    return response.json()


def wait_job(url: str, api_key: str, client_id: str, job_id: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{url}{API}/{client_id}/{job_id}", headers={"X-API-KEY": api_key}, timeout=30)
        response.raise_for_status()
        body = response.json()
        if body["status"] in ("succeeded", "needs_review", "failed"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} not finished within {timeout:.0f}s: {body}")
