"""Wiring of a consuming service: a producer, the shared loop per lane, and clean shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from einvoice import events
from einvoice.bus import ConsumerLoop, Handler, LoopConfig, make_producer
from einvoice.contract import ServiceTopics
from einvoice.settings import Settings

# The interactive loop takes few records at a time: a shopper's event must not wait for a
# long batch to finish before the next poll.
INTERACTIVE_MAX_RECORDS = 20


def _interactive_variant(topic: str) -> str | None:
    """`pdf.rendered` -> `pdf.rendered.interactive`, `pdf.rendered.dlq` ->
    `pdf.rendered.interactive.dlq`; None for a topic without lanes."""
    base = topic.removesuffix(".dlq")
    if base not in events.LANED_TOPICS:
        return None
    return base + events.INTERACTIVE_SUFFIX + topic[len(base) :]


def split_lanes(
    handlers: Mapping[str, Handler],
) -> tuple[dict[str, Handler], dict[str, Handler]]:
    """The handlers per topic of the bulk loop and of the interactive loop."""
    bulk: dict[str, Handler] = {}
    interactive: dict[str, Handler] = {}
    for topic, handler in handlers.items():
        if topic.removesuffix(".dlq") in events.INTERACTIVE_TOPICS:
            interactive[topic] = handler
            continue
        bulk[topic] = handler
        if variant := _interactive_variant(topic):
            interactive[variant] = handler
    return bulk, interactive


def _with_lanes(topics: frozenset[str] | None) -> frozenset[str] | None:
    if topics is None:
        return None
    return topics | {v for t in topics if (v := _interactive_variant(t))}


async def consume(
    settings: Settings,
    topics: ServiceTopics,
    handlers: Mapping[str, Handler],
    stop: asyncio.Event,
    **loop_options: Any,
) -> None:
    """Run the service's handlers until `stop` is set: bulk topics in the consumer group
    `<service>`, the interactive lane in `<service>.interactive`, on one producer. The
    handlers must be for exactly the topics the service declares."""
    topics.check_handlers(handlers)
    service = topics.service
    bulk, interactive = split_lanes(handlers)
    owned = _with_lanes(topics.dead_letters_for)
    producer = make_producer(settings.kafka_bootstrap, service)
    await producer.start()
    try:
        loops = []
        for lane_handlers, group, extra in (
            (bulk, service, {}),
            (interactive, f"{service}.interactive", {"max_records": INTERACTIVE_MAX_RECORDS}),
        ):
            if not lane_handlers:
                continue
            config = LoopConfig(
                service=service,
                group_id=group,
                topics=list(lane_handlers),
                dead_letters_for=owned,
                **(loop_options | extra),
            )
            loops.append(ConsumerLoop(config, lane_handlers, producer, settings.kafka_bootstrap))
        # One loop failing ends the other (the service restarts whole).
        async with asyncio.TaskGroup() as tasks:
            for loop in loops:
                tasks.create_task(loop.run(stop))
    finally:
        await producer.stop()
