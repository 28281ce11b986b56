"""Dead letters: list, show and replay the messages the consumers and the projector gave up on.

    recast-dlq list [--topic job.planned]          one line per dead letter: id, consumer, job, event, error
    recast-dlq show job.planned.dlq:0:12           the whole dead letter as JSON
    recast-dlq replay job.planned.dlq:0:12 ...     publish those messages' events to their topics again
    recast-dlq replay --all [--topic ...]          every dead letter not replayed by --all before

A dead letter's id is `<dlq topic>:<partition>:<offset>`. Replaying publishes the original event (same event id,
keyed by its job) to the topic it came from: a consumer that dead-lettered it never committed its claim, so it
handles it afresh; one that has handled it since skips it as a duplicate. `--all` remembers where it stopped (the
consumer group `recast-dlq-replay` commits the offsets it replayed), so running it twice replays nothing twice.
Reads the RECAST_* settings (RECAST_KAFKA_BOOTSTRAP).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from typing import Any

from recast_common.events import Topics
from recast_common.settings import Settings

REPLAY_GROUP = "recast-dlq-replay"


@dataclass
class DeadLetter:
    topic: str  # the DLQ topic
    partition: int
    offset: int
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def source_topic(self) -> str:
        return str(self.body.get("topic") or self.topic.removesuffix(".dlq"))

    def event(self) -> dict[str, Any] | None:
        """The original message: the decoded event, or the raw text when it was undecodable JSON."""
        if isinstance(self.body.get("event"), dict):
            return self.body["event"]
        try:
            decoded = json.loads(self.body.get("raw") or "")
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None

    def line(self) -> str:
        event = self.event() or {}
        error = (str(self.body.get("error", "")).strip().splitlines() or [""])[-1][:160]
        return "\t".join([self.id, str(self.body.get("consumer", "?")), str(event.get("job_id", "-")),
                          str(event.get("type", "-")), error])


def dlq_topics(topic: str | None = None) -> list[str]:
    return [Topics.dlq(topic)] if topic else [Topics.dlq(t) for t in Topics.ALL]


def parse_id(text: str) -> tuple[str, int, int]:
    topic, partition, offset = text.rsplit(":", 2)
    return topic, int(partition), int(offset)


def _decode(value: bytes | None) -> dict[str, Any]:
    try:
        body = json.loads(value or b"{}")
    except ValueError:
        return {"raw": (value or b"").decode("utf-8", "replace"), "error": "dead letter is not JSON"}
    return body if isinstance(body, dict) else {"raw": json.dumps(body)}


async def read_all(settings: Settings, topics: list[str], group: str | None = None,
                   idle_ms: int = 1500) -> tuple[list[DeadLetter], Any]:
    """Every dead letter of `topics` (from the group's committed offsets when a group is given, else from the
    beginning); returns them and the consumer (still open: the caller commits and stops it)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=settings.kafka_bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                client_id="recast-dlq")
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=idle_ms, max_records=1000)
            if not batches:
                break
            for tp, messages in batches.items():
                letters.extend(DeadLetter(tp.topic, tp.partition, m.offset, _decode(m.value)) for m in messages)
    except BaseException:
        await consumer.stop()
        raise
    return sorted(letters, key=lambda d: (d.topic, d.partition, d.offset)), consumer


async def list_letters(settings: Settings, topic: str | None = None) -> list[DeadLetter]:
    letters, consumer = await read_all(settings, dlq_topics(topic))
    await consumer.stop()
    return letters


async def find(settings: Settings, ids: list[str]) -> list[DeadLetter]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    wanted = [parse_id(i) for i in ids]
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                client_id="recast-dlq")
    await consumer.start()
    found = []
    try:
        for topic, partition, offset in wanted:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, offset)
            message = await asyncio.wait_for(consumer.getone(), 10)
            if message.offset != offset:
                raise LookupError(f"no dead letter {topic}:{partition}:{offset}")
            found.append(DeadLetter(topic, partition, offset, _decode(message.value)))
    finally:
        await consumer.stop()
    return found


async def publish_again(settings: Settings, letters: list[DeadLetter]) -> list[str]:
    """Publish each letter's original event to its source topic; returns the ids replayed (undecodable ones are
    skipped: replaying them could only dead-letter them again)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=False, acks="all",
                                client_id="recast-dlq")
    await producer.start()
    replayed = []
    try:
        for letter in letters:
            event = letter.event()
            if event is None or "type" not in event:
                print(f"skipped {letter.id}: its message is not an event", file=sys.stderr)
                continue
            headers = [("content-type", b"application/json"), ("replayed-from", letter.id.encode())]
            if event.get("event_id"):
                headers.append(("event_id", str(event["event_id"]).encode()))
            key = str(event["job_id"]).encode() if event.get("job_id") else None
            await producer.send_and_wait(letter.source_topic, json.dumps(event).encode(), key=key, headers=headers)
            replayed.append(letter.id)
    finally:
        await producer.stop()
    return replayed


async def replay_all(settings: Settings, topic: str | None = None) -> list[str]:
    letters, consumer = await read_all(settings, dlq_topics(topic), group=REPLAY_GROUP)
    try:
        replayed = await publish_again(settings, letters)
        await consumer.commit()  # only after every one was published: a crash replays them again, never skips
    finally:
        await consumer.stop()
    return replayed


async def _main(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.command == "list":
        letters = await list_letters(settings, args.topic)
        for letter in letters:
            print(letter.line())
        print(f"{len(letters)} dead letter(s)", file=sys.stderr)
        return 0
    if args.command == "show":
        for letter in await find(settings, args.ids):
            print(json.dumps({"id": letter.id, **letter.body}, indent=2))
        return 0
    if args.all:
        replayed = await replay_all(settings, args.topic)
    elif args.ids:
        replayed = await publish_again(settings, await find(settings, args.ids))
    else:
        print("name dead letter ids, or --all", file=sys.stderr)
        return 2
    for letter_id in replayed:
        print(f"replayed {letter_id}")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-dlq", description="List, show and replay dead letters")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every dead letter, one per line")
    listing.add_argument("--topic", help="only the dead letters of this topic (e.g. job.planned)")
    show = commands.add_parser("show", help="dead letters in full (JSON)")
    show.add_argument("ids", nargs="+", help="<dlq topic>:<partition>:<offset>")
    replay = commands.add_parser("replay", help="publish dead letters' events to their topics again")
    replay.add_argument("ids", nargs="*")
    replay.add_argument("--all", action="store_true", help="every dead letter not replayed by --all before")
    replay.add_argument("--topic", help="with --all: only this topic's dead letters")
    sys.exit(asyncio.run(_main(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
