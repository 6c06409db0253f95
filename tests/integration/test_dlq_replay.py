"""Dead letters on the real broker: listed with their reasons (`einvoice dlq list`), and
replayed by selection once the cause is fixed; a record replayed once is skipped the next
time, and what a replay sends back is handled once."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections import Counter

import pytest

from einvoice import events
from einvoice.bus import Outgoing, make_producer, publish
from einvoice_tools import dlq
from tests.support import PYTHON, ROOT
from tests.support.loop import rejected_event, run_loop

pytestmark = [pytest.mark.integration]


class Service:
    """A consumer whose handler has a bug until `fixed`; its effect is idempotent (one
    entry per invoice), and it counts how often it was called."""

    def __init__(self) -> None:
        self.fixed = False
        self.calls: Counter[str] = Counter()
        self.effects: dict[str, str] = {}

    async def handle(self, event: events.Envelope) -> list[Outgoing]:
        key = event.payload["invoice_id"]
        self.calls[key] += 1
        if not self.fixed:
            raise RuntimeError(f"renderer bug on {key}")
        self.effects.setdefault(key, event.event_id)
        return []

    async def run_until(self, bootstrap: str, topic: str, group: str, done) -> None:
        await run_loop(bootstrap, topic, group, self.handle, done)


async def test_dead_letters_are_listed_and_replayed_once_by_selection(
    stack: dict[str, str], topic: str
) -> None:
    bootstrap = stack["kafka_bootstrap"]
    producer = make_producer(bootstrap, "it")
    await producer.start()
    await publish(producer, [rejected_event(topic, k) for k in ("k1", "k2", "k3")], "it")
    await producer.stop()
    service = Service()
    group = f"it-{uuid.uuid4().hex[:6]}"
    dead_topic = events.dlq_topic(topic)

    async def three_dead() -> list | None:
        found = await dlq.dead_letters(bootstrap, [dead_topic])
        return found if len(found) == 3 else None

    await service.run_until(bootstrap, topic, group, three_dead)
    letters = {d.key: d for d in await dlq.dead_letters(bootstrap, [dead_topic])}
    assert all("renderer bug on" in d.reason for d in letters.values())

    done = await asyncio.to_thread(
        subprocess.run,
        [str(PYTHON), "-m", "einvoice_tools.cli", "dlq", "list", topic, "--bootstrap", bootstrap],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    listed = done.stdout
    assert letters["k1"].ref in listed and "renderer bug on k1" in listed
    assert "3 dead letter(s) in 1 topic(s)" in listed

    service.fixed = True  # the cause is fixed: send back k1 (by ref) and k2 (by key)
    chosen = dlq.Selection(refs={f"0:{letters['k1'].offset}"}, keys={"k2"})
    first = await dlq.replay(bootstrap, dead_topic, chosen)
    assert sorted(d.key for d in first.replayed) == ["k1", "k2"] and first.skipped == []

    async def two_handled() -> bool:
        return set(service.effects) == {"k1", "k2"}

    await service.run_until(bootstrap, topic, group, two_handled)

    # Everything now: k1 and k2 were replayed already and are skipped; k3 goes back.
    second = await dlq.replay(bootstrap, dead_topic, dlq.Selection(everything=True))
    assert [d.key for d in second.replayed] == ["k3"]
    assert sorted(d.key for d, why in second.skipped if "already replayed" in why) == ["k1", "k2"]

    async def all_handled() -> bool:
        return set(service.effects) == {"k1", "k2", "k3"}

    await service.run_until(bootstrap, topic, group, all_handled)
    # Each failed twice (bug_retries=1) before dead-lettering, then was handled exactly once.
    assert service.calls == Counter({"k1": 3, "k2": 3, "k3": 3})
    third = await dlq.replay(bootstrap, dead_topic, dlq.Selection(everything=True))
    assert third.replayed == [] and len(third.skipped) == 3
