"""The consume-handle-produce loop every service runs, written once.

At-least-once: a batch's offsets are committed only after every handler finished and every
event it produced was acknowledged by all in-sync replicas. Handlers are idempotent, so a
redelivered batch (after a crash or a rebalance) repeats no effect.

Failures:
- an undecodable record, an unknown schema version, or a `PermanentError` goes to
  `<topic>.dlq` with the reason, and the partition moves on;
- an infrastructure error (`TransientError`, connection loss) is retried with capped backoff
  for as long as it lasts: the dependency is down for every record alike;
- any other exception is retried a few times, then dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from einvoice import events
from einvoice.log import get_logger
from einvoice.metrics import (
    CONSUMER_LAG,
    EVENTS_CONSUMED,
    EVENTS_PRODUCED,
    HANDLER_RETRIES,
    HANDLER_SECONDS,
)

log = get_logger(__name__)


class PermanentError(Exception):
    """The event can never be handled as it is: dead-letter it with this reason."""


class TransientError(Exception):
    """A dependency is unavailable: retry until it is back."""


TRANSIENT = (TransientError, ConnectionFailure, ConnectionError, TimeoutError, KafkaError)


@dataclass(frozen=True)
class Outgoing:
    """A record to produce once the batch's handlers are done."""

    topic: str
    key: str
    value: bytes

    @classmethod
    def of(cls, event: events.Envelope, key: str) -> Outgoing:
        return cls(events.topic_for(event.type, event.lane), key, encode(event))


EventHandler = Callable[[events.Envelope], Awaitable[Iterable[Outgoing]]]


@dataclass(frozen=True)
class RawHandler:
    """For topics whose records are not envelopes (dead-letter topics): gets the record."""

    handle: Callable[[ConsumerRecord], Awaitable[Iterable[Outgoing]]]


Handler = EventHandler | RawHandler


@dataclass
class LoopConfig:
    service: str
    group_id: str
    topics: list[str]
    max_records: int = 200
    concurrency: int = 16
    bug_retries: int = 3
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    # Topics whose dead letters this service writes. A topic has one owner for that (its
    # primary consumer); a bystander (a projection) only logs and counts what it skips, so
    # one bad record is not dead-lettered once per consumer group. None: every topic.
    dead_letters_for: frozenset[str] | None = None


def emit(
    event_type: str,
    payload: events.EventModel,
    *,
    key: str,
    cause: events.Envelope,
    tenant_id: str | None = None,
    correlation_id: str | None = None,
    discriminator: str = "",
) -> Outgoing:
    """An event caused by `cause`, on the topic of the same name."""
    env = events.envelope(
        event_type,
        payload,
        tenant_id=tenant_id or cause.tenant_id,
        correlation_id=correlation_id or cause.correlation_id,
        discriminator=discriminator,
        cause=cause,
    )
    return Outgoing.of(env, key)


def decode(record: ConsumerRecord) -> events.Envelope:
    """Parse a record's value into an envelope, or raise PermanentError with the reason."""
    raw = record.value
    if raw is None:
        raise PermanentError("empty record value")
    if len(raw) > events.MAX_EVENT_BYTES:
        raise PermanentError(f"record of {len(raw)} bytes exceeds {events.MAX_EVENT_BYTES}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PermanentError(f"value is not JSON: {exc}") from exc
    try:
        env = events.Envelope.model_validate(data)
    except ValidationError as exc:
        raise PermanentError(f"invalid envelope: {_summarise(exc)}") from exc
    if env.schema_version > events.SCHEMA_VERSION:
        raise PermanentError(f"unknown schema_version {env.schema_version}")
    if env.type != events.type_of_topic(record.topic):
        raise PermanentError(f"event type {env.type!r} does not belong on {record.topic!r}")
    if env.lane != events.INTERACTIVE and events.is_interactive_topic(record.topic):
        env = env.model_copy(update={"lane": events.INTERACTIVE})  # the topic decides
    return env


def _summarise(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)


def encode(event: events.Envelope) -> bytes:
    return event.model_dump_json().encode()


def dlq_record(record: ConsumerRecord, reason: str, service: str, attempts: int) -> bytes:
    value = record.value.decode("utf-8", "replace") if record.value is not None else None
    return json.dumps(
        {
            "reason": reason,
            "service": service,
            "attempts": attempts,
            "failed_at": datetime.now(UTC).isoformat(),
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode("utf-8", "replace") if record.key else None,
            "value": value,
        }
    ).encode()


# How long the broker holds a fetch that finds nothing new. Records that arrive meanwhile
# answer it at once (fetch_min_bytes is 1), so this adds no latency; it only sets how
# often an idle consumer asks again: with aiokafka's 500 ms, the idle consumers (every
# service's interactive lane and tenant directory during a batch) cost Kafka most of its
# idle CPU (docs/capacity.md). After a rebalance, the first fetch may wait that long once.
FETCH_MAX_WAIT_MS = 3000


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=1024 * 1024,
    )


async def publish(producer: AIOKafkaProducer, outgoing: Iterable[Outgoing], service: str) -> None:
    """Send events and wait until every one is acknowledged."""
    pending = []
    for out in outgoing:
        fut = await producer.send(out.topic, out.value, key=out.key.encode())
        pending.append((out.topic, fut))
    for topic, fut in pending:
        await fut
        EVENTS_PRODUCED.labels(service, topic).inc()


@dataclass
class ConsumerLoop:
    """Runs one handler per topic over a consumer group until `stop` is set."""

    config: LoopConfig
    handlers: dict[str, Handler]
    producer: AIOKafkaProducer
    bootstrap: str
    _consumer: AIOKafkaConsumer | None = field(default=None, init=False)

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The consumer `run` started (the batch and lag steps run only inside `run`)."""
        if self._consumer is None:
            raise RuntimeError("the consumer loop has not started")
        return self._consumer

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.config
        self._consumer = AIOKafkaConsumer(
            *cfg.topics,
            bootstrap_servers=self.bootstrap,
            group_id=cfg.group_id,
            client_id=cfg.service,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=2 * 1024 * 1024,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        await self._consumer.start()
        log.info("consumer started", topics=cfg.topics, group=cfg.group_id)
        try:
            while not stop.is_set():
                batch = await self._consumer.getmany(timeout_ms=500, max_records=cfg.max_records)
                if batch:
                    await self._handle_batch(batch, stop)
                await self._record_lag()
        finally:
            await self._consumer.stop()
            log.info("consumer stopped")

    async def _handle_batch(
        self, batch: dict[TopicPartition, list[ConsumerRecord]], stop: asyncio.Event
    ) -> None:
        # One key's records stay in order; different keys run concurrently.
        by_key: dict[tuple[str, int, bytes | None], list[ConsumerRecord]] = defaultdict(list)
        for tp, records in batch.items():
            for record in records:
                by_key[(tp.topic, tp.partition, record.key)].append(record)
        limit = asyncio.Semaphore(self.config.concurrency)

        async def run_key(records: list[ConsumerRecord]) -> None:
            # A key's events go out as soon as its records are handled (the next stage
            # starts on them while this batch goes on); the offsets are committed only
            # once every key's events were acknowledged.
            async with limit:
                for record in records:
                    out = await self._handle_record(record, stop)
                    if out:
                        await publish(self.producer, out, self.config.service)

        await asyncio.gather(*(run_key(r) for r in by_key.values()))
        # A rebalance while the batch ran may have moved partitions to another replica: commit
        # only what this one still owns (the new owner redelivers the rest).
        owned = self.consumer.assignment()
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items() if tp in owned}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError):
            # A rebalance took the partitions away; the new owner redelivers, handlers are
            # idempotent, so nothing is lost or doubled.
            log.warning("commit failed after rebalance; batch will be redelivered")

    async def _handle_record(self, record: ConsumerRecord, stop: asyncio.Event) -> list[Outgoing]:
        handler = self.handlers[record.topic]
        if isinstance(handler, RawHandler):
            return await self._with_retries(record, partial(handler.handle, record), {}, stop)
        try:
            event = decode(record)
        except PermanentError as exc:
            return self._dead_letter(record, str(exc), attempts=0)
        bound = {
            "event_id": event.event_id,
            "tenant_id": event.tenant_id,
            "correlation_id": event.correlation_id,
            "key": _text(record.key),
        }
        return await self._with_retries(record, partial(handler, event), bound, stop)

    async def _with_retries(
        self,
        record: ConsumerRecord,
        call: Callable[[], Awaitable[Iterable[Outgoing]]],
        bound: dict[str, Any],
        stop: asyncio.Event,
    ) -> list[Outgoing]:
        service, topic = self.config.service, record.topic
        attempt, failures, delay = 0, 0, self.config.backoff_initial
        while True:
            attempt += 1
            try:
                with HANDLER_SECONDS.labels(service, topic).time():
                    outgoing = list(await call())
                EVENTS_CONSUMED.labels(service, topic, "ok").inc()
                return outgoing
            except PermanentError as exc:
                log.warning("event rejected to DLQ", reason=str(exc), **bound)
                return self._dead_letter(record, str(exc), attempts=attempt)
            except ValidationError as exc:  # a payload that breaks its schema never heals
                reason = f"invalid payload: {_summarise(exc)}"
                log.warning("event rejected to DLQ", reason=reason, **bound)
                return self._dead_letter(record, reason, attempts=attempt)
            except TRANSIENT as exc:
                HANDLER_RETRIES.labels(service, topic, type(exc).__name__).inc()
                log.warning(
                    "dependency unavailable, retrying", error=repr(exc), attempt=attempt, **bound
                )
            except Exception as exc:  # a bug or an unforeseen input: retry a little, then DLQ
                failures += 1
                HANDLER_RETRIES.labels(service, topic, type(exc).__name__).inc()
                log.exception("handler failed", attempt=attempt, **bound)
                if failures > self.config.bug_retries:
                    return self._dead_letter(record, f"handler error: {exc!r}", attempts=attempt)
            if stop.is_set():
                raise asyncio.CancelledError("stopping with the record unhandled")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.backoff_max)

    def _dead_letter(self, record: ConsumerRecord, reason: str, attempts: int) -> list[Outgoing]:
        where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
        owned = self.config.dead_letters_for
        if record.topic.endswith(".dlq") or (owned is not None and record.topic not in owned):
            # A dead letter that cannot be handled stays where it is; another service owns
            # the dead letters of a topic this one only observes.
            log.warning("skipping unprocessable record", reason=reason, **where)
            EVENTS_CONSUMED.labels(self.config.service, record.topic, "skipped").inc()
            return []
        log.warning("dead-lettering record", reason=reason, **where)
        EVENTS_CONSUMED.labels(self.config.service, record.topic, "dlq").inc()
        value = dlq_record(record, reason, self.config.service, attempts)
        return [Outgoing(events.dlq_topic(record.topic), _text(record.key) or "", value)]

    async def _record_lag(self) -> None:
        consumer = self.consumer
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            position = await consumer.position(tp)
            CONSUMER_LAG.labels(self.config.service, tp.topic, tp.partition).set(
                max(0, high - position)
            )


def _text(value: bytes | None) -> str | None:
    return value.decode("utf-8", "replace") if value is not None else None
