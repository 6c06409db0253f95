"""Process lifecycle shared by every service: logging, metrics, signals, clean shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from einvoice.log import configure_logging, get_logger
from einvoice.memory import trim_periodically
from einvoice.metrics import serve_metrics
from einvoice.settings import Settings

Main = Callable[[asyncio.Event], Awaitable[None]]


def run_service(name: str, settings: Settings, main: Main) -> None:
    """Run `main(stop)` until SIGINT/SIGTERM sets `stop`; `main` then finishes its work."""
    configure_logging(name, settings.log_level)
    serve_metrics(settings.metrics_port, settings.metrics_host)
    log = get_logger(name)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if frames := int(os.environ.get("EINVOICE_TRACEMALLOC", "0") or 0):
            tracemalloc.start(frames)
            loop.add_signal_handler(signal.SIGUSR2, MemoryReport(log).dump)
        log.info("service starting", metrics_port=settings.metrics_port)
        trimming = asyncio.create_task(trim_periodically(stop))
        try:
            await main(stop)
        finally:
            stop.set()
            await trimming
        log.info("service stopped")

    asyncio.run(runner())


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
