"""Process lifecycle shared by every service: logging, metrics, signals, clean shutdown."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from einvoice.log import configure_logging, get_logger
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
        log.info("service starting", metrics_port=settings.metrics_port)
        await main(stop)
        log.info("service stopped")

    asyncio.run(runner())
