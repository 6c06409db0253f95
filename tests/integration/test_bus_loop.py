"""The shared consume-handle-produce loop against the real Kafka broker."""

from __future__ import annotations

import json
import uuid

import pytest

from einvoice import events
from einvoice.bus import Outgoing, PermanentError, make_producer, publish
from einvoice_tools.dlq import show
from tests.support import eventually
from tests.support.loop import rejected_event, run_loop

pytestmark = [pytest.mark.integration]


async def test_handles_commits_and_dead_letters(stack: dict[str, str], topic: str) -> None:
    bootstrap = stack["kafka_bootstrap"]
    producer = make_producer(bootstrap, "it")
    await producer.start()
    await publish(
        producer,
        [
            rejected_event(topic, "ok-1"),
            Outgoing(topic, "junk", b"\xff\xfe not json"),
            rejected_event(topic, "bad-1"),
            rejected_event(topic, "boom-1"),
            rejected_event(topic, "schema-1"),
            rejected_event(topic, "ok-2"),
        ],
        "it",
    )
    await producer.stop()
    seen: list[str] = []

    async def handler(event: events.Envelope) -> list[Outgoing]:
        key = event.payload["invoice_id"]
        seen.append(key)
        if key.startswith("bad"):
            raise PermanentError("amounts do not add up")
        if key.startswith("boom"):
            raise RuntimeError("a bug")
        if key.startswith("schema"):
            events.InvoiceIssued.model_validate({"invoice_id": key})
        return []

    async def handled() -> bool:
        return {"ok-1", "ok-2", "bad-1", "boom-1", "schema-1"} <= set(seen)

    group = f"it-{uuid.uuid4().hex[:6]}"
    await run_loop(bootstrap, topic, group, handler, handled)
    assert seen.count("boom-1") == 2, "a failing handler is retried (bug_retries=1) then DLQ'd"
    assert seen.count("bad-1") == 1, "a permanent error is not retried"
    assert seen.count("schema-1") == 1, "a payload breaking its schema is not retried"

    async def dead() -> list[dict] | None:
        records = await show(bootstrap, events.dlq_topic(topic), 10)
        return records if len(records) == 4 else None

    records = {r["key"]: r for r in await eventually(dead, timeout=30, what="4 DLQ records")}
    assert records["schema-1"]["reason"].startswith("invalid payload: batch_id: Field required")
    assert "not JSON" in records["junk"]["reason"]
    assert records["bad-1"]["reason"] == "amounts do not add up"
    assert "a bug" in records["boom-1"]["reason"]
    assert json.loads(records["bad-1"]["value"])["payload"]["invoice_id"] == "bad-1"

    # Offsets were committed: the same group gets nothing again.
    again: list[str] = []

    async def record(event: events.Envelope) -> list[Outgoing]:
        again.append(event.event_id)
        return []

    producer = make_producer(bootstrap, "it")
    await producer.start()
    await publish(producer, [rejected_event(topic, "ok-3")], "it")
    await producer.stop()
    await run_loop(bootstrap, topic, group, record, lambda: _async(len(again) >= 1))
    assert len(again) == 1


async def _async(value: bool) -> bool:
    return value


async def test_a_bystander_skips_bad_records_without_dead_lettering_them(
    stack: dict[str, str], topic: str
) -> None:
    bootstrap = stack["kafka_bootstrap"]
    producer = make_producer(bootstrap, "it")
    await producer.start()
    await publish(producer, [Outgoing(topic, "junk", b"nope"), rejected_event(topic, "ok-1")], "it")
    await producer.stop()
    seen: list[str] = []

    async def handler(event: events.Envelope) -> list[Outgoing]:
        seen.append(event.payload["invoice_id"])
        return []

    await run_loop(
        bootstrap,
        topic,
        f"it-{uuid.uuid4().hex[:6]}",
        handler,
        lambda: _async("ok-1" in seen),
        dead_letters_for=frozenset(),
    )
    assert await show(bootstrap, events.dlq_topic(topic), 10) == []
