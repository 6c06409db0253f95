"""einvoice.memory: the periodic heap trim every service runs (RSS that shows live memory)."""

from __future__ import annotations

import asyncio

from einvoice import memory


async def test_trims_on_its_interval_and_ends_with_the_service(monkeypatch) -> None:
    trims = []
    monkeypatch.setattr(memory, "trim_heap", lambda: trims.append(1))
    stop = asyncio.Event()
    task = asyncio.create_task(memory.trim_periodically(stop, interval=0.01))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert len(trims) >= 3


def test_a_trim_returns_freed_memory_without_failing() -> None:
    garbage = [bytes(1000) for _ in range(10_000)]
    del garbage
    memory.trim_heap()  # glibc here; elsewhere a no-op
