"""Dead-letter topics: look at what failed and why, and send selected records back once the
cause is fixed.

A dead letter (einvoice.bus.dlq_record) carries the reason, the service, the attempts, and the
original record (topic, partition, offset, key, value). It is named by where it sits in its
dead-letter topic: `<dlq topic>:<partition>:<offset>`.

Replay is idempotent at two levels:
- every replayed dead letter is marked on the compacted `dlq.replayed` topic, and a replay
  skips what is marked (unless told `again`); the mark is written after the record was
  re-published, so a replay that dies in between re-publishes it on the next run;
- which is harmless, because a replay re-publishes the original record unchanged (same key,
  same event id), and every handler is idempotent: an invoice is issued, rendered and mailed
  once, however often its event arrives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from einvoice import events
from einvoice.bus import make_producer
from einvoice.kafka_admin import partitions_of

REPLAYED_TOPIC = events.DLQ_REPLAYED


@dataclass(frozen=True)
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    record: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        return str(self.record.get("reason", "?"))

    @property
    def key(self) -> str | None:
        return self.record.get("key")


def dlq_topics() -> list[str]:
    return sorted(t for t in events.TOPIC_PARTITIONS if t.endswith(".dlq"))


async def _read_all(bootstrap: str, topic: str, limit: int | None = None) -> list[Any]:
    """Every record of `topic` from its beginning to its current end (nothing committed)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[Any] = []
        while (limit is None or len(out) < limit) and not await _at_end(consumer, ends):
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            for records in batch.values():
                out.extend(
                    r for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)]
                )
        return out[:limit] if limit is not None else out
    finally:
        await consumer.stop()


async def dead_letters(bootstrap: str, topics: list[str], limit: int = 1000) -> list[DeadLetter]:
    """Up to `limit` dead letters of each topic, oldest first."""
    found = []
    for topic in topics:
        for r in await _read_all(bootstrap, topic, limit):
            try:
                record = json.loads(r.value)
            except (TypeError, ValueError):
                record = {"reason": "(not a dead letter: undecodable)", "value": None}
            found.append(DeadLetter(topic, r.partition, r.offset, record))
    return found


async def show(bootstrap: str, topic: str, limit: int) -> list[dict[str, Any]]:
    """The dead letters' contents (reason, original record), oldest first."""
    return [d.record for d in await dead_letters(bootstrap, [topic], limit)]


async def replayed(bootstrap: str) -> dict[str, dict[str, Any]]:
    """Dead letter ref -> when it was replayed and where to (the latest mark wins)."""
    marks: dict[str, dict[str, Any]] = {}
    for r in await _read_all(bootstrap, REPLAYED_TOPIC):
        if r.key is None:
            continue
        ref = r.key.decode()
        if r.value is None:
            marks.pop(ref, None)
        else:
            marks[ref] = json.loads(r.value)
    return marks


@dataclass
class Selection:
    """Which dead letters to replay: by ref, by the original record's key, or by a phrase of
    the reason; `everything` takes them all."""

    refs: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    reason: str | None = None
    everything: bool = False

    def __bool__(self) -> bool:
        return bool(self.refs or self.keys or self.reason or self.everything)

    def matches(self, letter: DeadLetter) -> bool:
        if self.everything:
            return True
        short_ref = f"{letter.partition}:{letter.offset}"
        return (
            letter.ref in self.refs
            or short_ref in self.refs
            or (letter.key is not None and letter.key in self.keys)
            or (self.reason is not None and self.reason.lower() in letter.reason.lower())
        )


@dataclass
class Replay:
    replayed: list[DeadLetter] = field(default_factory=list)
    skipped: list[tuple[DeadLetter, str]] = field(default_factory=list)  # and why


async def replay(
    bootstrap: str,
    topic: str,
    selection: Selection,
    *,
    again: bool = False,
    dry_run: bool = False,
    progress: Callable[[DeadLetter], None] | None = None,
) -> Replay:
    """Re-publish the selected dead letters of `topic` to the topics they came from."""
    if not selection:
        raise ValueError("select what to replay (refs, keys, a reason, or everything)")
    marks = await replayed(bootstrap)
    result = Replay()
    chosen = []
    for letter in await dead_letters(bootstrap, [topic], limit=1_000_000):
        if not selection.matches(letter):
            continue
        if letter.ref in marks and not again:
            result.skipped.append((letter, f"already replayed at {marks[letter.ref]['at']}"))
        elif not letter.record.get("topic") or letter.record.get("value") is None:
            result.skipped.append((letter, "holds no original record to replay"))
        else:
            chosen.append(letter)
    if dry_run or not chosen:
        result.replayed = chosen if dry_run else []
        return result
    producer = make_producer(bootstrap, "einvoice-dlq-replay")
    await producer.start()
    try:
        for letter in chosen:
            original = letter.record
            key = original["key"].encode() if original.get("key") else None
            await producer.send_and_wait(original["topic"], original["value"].encode(), key=key)
            mark = {"at": datetime.now(UTC).isoformat(), "to": original["topic"]}
            await producer.send_and_wait(
                REPLAYED_TOPIC, json.dumps(mark).encode(), key=letter.ref.encode()
            )
            result.replayed.append(letter)
            if progress:
                progress(letter)
    finally:
        await producer.stop()
    return result


async def _at_end(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True
