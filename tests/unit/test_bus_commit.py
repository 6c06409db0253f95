"""The loop commits only partitions it still owns after a rebalance during a batch."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from einvoice import events
from einvoice.bus import ConsumerLoop, LoopConfig
from tests.support.builders import FakeRecord, rendered_event


class FakeConsumer:
    def __init__(self, owned: set[TopicPartition]) -> None:
        self.owned = owned
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        from aiokafka.errors import IllegalStateError

        if set(offsets) - self.owned:
            raise IllegalStateError("Partition is not assigned")
        self.commits.append(offsets)


class NoProducer:
    async def send(self, *args, **kwargs):  # pragma: no cover - nothing is produced here
        raise AssertionError("nothing to produce")


def batch_of(*partitions: int) -> dict[TopicPartition, list[FakeRecord]]:
    value = rendered_event().model_dump_json().encode()
    return {
        TopicPartition(events.PDF_RENDERED, p): [
            FakeRecord(events.PDF_RENDERED, value, partition=p, offset=10)
        ]
        for p in partitions
    }


async def handled(event: events.Envelope) -> list:
    return []


def new_loop() -> ConsumerLoop:
    config = LoopConfig("t", "t", [events.PDF_RENDERED])
    return ConsumerLoop(config, {events.PDF_RENDERED: handled}, NoProducer(), "")


async def test_after_losing_a_partition_mid_batch_only_the_owned_ones_are_committed() -> None:
    loop = ConsumerLoop(
        LoopConfig("t", "t", [events.PDF_RENDERED]),
        {events.PDF_RENDERED: handled},
        NoProducer(),
        "",
    )
    kept = TopicPartition(events.PDF_RENDERED, 1)
    loop._consumer = FakeConsumer({kept})
    await loop._handle_batch(batch_of(1, 5), asyncio.Event())
    assert loop._consumer.commits == [{kept: 11}]


async def test_after_losing_every_partition_nothing_is_committed_and_nothing_breaks() -> None:
    loop = ConsumerLoop(
        LoopConfig("t", "t", [events.PDF_RENDERED]),
        {events.PDF_RENDERED: handled},
        NoProducer(),
        "",
    )
    loop._consumer = FakeConsumer(set())
    await loop._handle_batch(batch_of(5), asyncio.Event())
    assert loop._consumer.commits == []
