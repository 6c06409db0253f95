"""Running the shared consume loop against the real broker, for the integration tests: an
event for a throwaway topic, and a loop run until a condition holds."""

from __future__ import annotations

import asyncio

from einvoice import events
from einvoice.bus import ConsumerLoop, LoopConfig, Outgoing, make_producer
from tests.support import eventually


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
