"""Fixtures of the integration tests (the real broker, no services)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from einvoice import events
from einvoice.bus import ConsumerLoop, LoopConfig, Outgoing, make_producer
from tests.support import eventually


@pytest.fixture
async def topic(stack: dict[str, str]):
    """A throwaway topic (2 partitions) and its DLQ; the event type equals the topic name."""
    name = f"it-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack["kafka_bootstrap"])
    await admin.start()
    await admin.create_topics([NewTopic(name, 2, 1), NewTopic(events.dlq_topic(name), 1, 1)])
    yield name
    await admin.delete_topics([name, events.dlq_topic(name)])
    await admin.close()


def rejected_event(topic: str, key: str) -> Outgoing:
    """An event for the throwaway topic, keyed and identified by `key` (its invoice id)."""
    payload = events.InvoiceRejected(invoice_id=key, batch_id="b", reasons=["x"])
    env = events.envelope(topic, payload, tenant_id="t", correlation_id="b")
    return Outgoing(topic, key, env.model_dump_json().encode())


async def run_loop(bootstrap: str, topic: str, group: str, handler, until, **options) -> None:
    """Run a consumer loop over `topic` with `handler` until `until()` is true (60 s at most),
    then stop it."""
    producer = make_producer(bootstrap, "it")
    await producer.start()
    stop = asyncio.Event()
    loop = ConsumerLoop(
        LoopConfig("it", group, [topic], bug_retries=1, backoff_initial=0.01, **options),
        {topic: handler},
        producer,
        bootstrap,
    )
    task = asyncio.create_task(loop.run(stop))
    try:
        await eventually(until, timeout=60, what="the loop to handle the records")
    finally:
        stop.set()
        await task
        await producer.stop()
