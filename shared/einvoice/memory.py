"""Giving freed heap memory back to the operating system.

CPython frees objects into its own arenas and glibc's heap; under a steady load of many
short-lived objects (Kafka records, parsed events, BSON documents) the process keeps the
freed pages, and RSS creeps up although live memory does not (`make bench`, 100,000
invoices: read-tracker's traced Python memory stayed near 23 MiB while RSS rose from 116 to
134 MiB). A collection followed by glibc's `malloc_trim` returns those pages, so RSS shows
what the process really holds.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import tracemalloc
from typing import Any

TRIM_INTERVAL_SECONDS = 60.0


def trim_heap() -> None:
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc: nothing to trim
        pass


async def trim_periodically(stop: asyncio.Event, interval: float = TRIM_INTERVAL_SECONDS) -> None:
    """Trim every `interval` seconds until `stop` is set (a collection takes milliseconds)."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            trim_heap()


class MemoryReport:
    """With `EINVOICE_TRACEMALLOC=<frames>`, `kill -USR2 <pid>` logs where the memory
    Python allocated grew most since the previous signal (or since the start): a debugging
    aid for a service whose RSS grows, at the cost of slower allocations while it is on."""

    def __init__(self, log: Any, top: int = 25) -> None:
        self.log = log
        self.top = top
        self.previous = tracemalloc.take_snapshot()

    def dump(self) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        growth = snapshot.compare_to(self.previous, "traceback")[: self.top]
        self.previous = snapshot
        current, peak = tracemalloc.get_traced_memory()
        self.log.info(
            "memory growth since the last report",
            traced_mib=round(current / 2**20, 1),
            peak_mib=round(peak / 2**20, 1),
            top=[
                {
                    "kib": round(stat.size_diff / 1024, 1),
                    "blocks": stat.count_diff,
                    "where": [f"{f.filename}:{f.lineno}" for f in stat.traceback][-4:],
                }
                for stat in growth
            ],
        )
