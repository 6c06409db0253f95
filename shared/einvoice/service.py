"""Process lifecycle shared by every service: logging, metrics, signals, clean shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import tracemalloc
from collections.abc import Awaitable, Callable

from einvoice.log import configure_logging, get_logger
from einvoice.memory import MemoryReport, trim_periodically
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
