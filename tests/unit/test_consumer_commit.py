"""A handled message commits its own partition only (FastStream's ack would commit every assigned partition,
which Tansu stores as one S3 object each)."""
from __future__ import annotations

from types import SimpleNamespace

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from faststream.message import AckStatus
from recast_common.consumer import commit_own_partition


class RecordingConsumer(AIOKafkaConsumer):
    def __init__(self, fail: bool = False) -> None:  # no client: only commit() is called
        self.commits: list[dict | None] = []
        self.fail = fail

    async def commit(self, offsets=None) -> None:
        if self.fail:
            raise KafkaConnectionError("broker away")
        self.commits.append(offsets)


def message(consumer: object, committed: AckStatus | None = None) -> SimpleNamespace:
    raw = SimpleNamespace(topic="job.coded", partition=2, offset=41)
    return SimpleNamespace(raw_message=raw, consumer=consumer, committed=committed)


async def test_only_the_messages_partition_is_committed_and_the_message_counts_as_acked():
    consumer = RecordingConsumer()
    handled = message(consumer)
    await commit_own_partition(handled)
    assert consumer.commits == [{TopicPartition("job.coded", 2): 42}]
    assert handled.committed == AckStatus.ACKED  # FastStream's ack then commits nothing more


async def test_a_failed_commit_leaves_the_ack_to_faststream():
    handled = message(RecordingConsumer(fail=True))
    await commit_own_partition(handled)
    assert handled.committed is None


async def test_a_message_already_settled_or_without_a_kafka_consumer_is_left_alone():
    consumer = RecordingConsumer()
    await commit_own_partition(message(consumer, committed=AckStatus.NACKED))
    await commit_own_partition(message(object()))  # e.g. FastStream's test client
    assert consumer.commits == []
