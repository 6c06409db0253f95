"""Dead-letter topics: look at what failed and why, and send it back once fixed."""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaConsumer

from einvoice.bus import make_producer
from einvoice.topics import partitions_of

REPLAY_GROUP = "einvoice-dlq-replay"


async def show(bootstrap: str, topic: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` records from the start of a DLQ topic (reads without committing)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[dict[str, Any]] = []
        while len(out) < limit and not await _at_end(consumer, ends):
            batch = await consumer.getmany(timeout_ms=1000, max_records=limit - len(out))
            for records in batch.values():
                out.extend(json.loads(r.value) for r in records)
        return out[:limit]
    finally:
        await consumer.stop()


async def replay(bootstrap: str, topic: str, limit: int) -> int:
    """Re-publish up to `limit` not-yet-replayed DLQ records to their original topics."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=REPLAY_GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = make_producer(bootstrap, "einvoice-dlq-replay")
    await consumer.start()
    await producer.start()
    count = 0
    try:
        while count < limit:
            batch = await consumer.getmany(timeout_ms=2000, max_records=limit - count)
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    dead = json.loads(record.value)
                    value = dead["value"].encode() if dead.get("value") is not None else None
                    key = dead["key"].encode() if dead.get("key") else None
                    await producer.send_and_wait(dead["topic"], value, key=key)
                    count += 1
            await consumer.commit()
        return count
    finally:
        await producer.stop()
        await consumer.stop()


async def _at_end(consumer: AIOKafkaConsumer, ends: dict) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True
