"""Wiring of a consuming service: a producer, the shared loop, and clean shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

from einvoice.bus import ConsumerLoop, Handler, LoopConfig, make_producer
from einvoice.settings import Settings


async def consume(
    settings: Settings,
    service: str,
    handlers: dict[str, Handler],
    stop: asyncio.Event,
    **loop_options: Any,
) -> None:
    """Run the service's handlers over its consumer group until `stop` is set."""
    producer = make_producer(settings.kafka_bootstrap, service)
    await producer.start()
    try:
        config = LoopConfig(
            service=service, group_id=service, topics=list(handlers), **loop_options
        )
        loop = ConsumerLoop(config, handlers, producer, settings.kafka_bootstrap)
        await loop.run(stop)
    finally:
        await producer.stop()
