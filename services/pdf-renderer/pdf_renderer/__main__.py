"""pdf-renderer: renders issued invoices to PDF in a process pool and stores them in S3."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from einvoice import events
from einvoice.service import run_service
from einvoice.storage import object_store
from einvoice.tenants import TenantDirectory
from einvoice.worker import consume
from invoice_pdf.drawn import render_for, warm_up
from invoice_pdf.ksef import KsefMark
from pdf_renderer.config import RendererSettings
from pdf_renderer.handlers import Deps, on_invoice_issued, on_invoice_registered
from pdf_renderer.topics import TOPICS

SERVICE = TOPICS.service


async def main(settings: RendererSettings, stop: asyncio.Event) -> None:
    store = object_store(settings)
    await store.ensure_bucket()
    tenants = TenantDirectory(settings.kafka_bootstrap)
    await tenants.start()
    loop = asyncio.get_running_loop()
    try:
        with ProcessPoolExecutor(
            max_workers=settings.render_processes, initializer=warm_up
        ) as pool:

            async def render(
                invoice: events.InvoiceIssued,
                branding: events.Branding | None,
                /,
                ksef: KsefMark | None = None,
            ) -> bytes:
                return await loop.run_in_executor(pool, render_for, invoice, branding, ksef)

            # Every worker started and warmed up before the first invoice (the pool would
            # start them one by one as work arrives): a shopper's first invoice does not
            # wait for a process to start, and memory is at its working size from the start.
            await asyncio.gather(
                *(loop.run_in_executor(pool, os.getpid) for _ in range(settings.render_processes))
            )
            deps = Deps(store=store, render=render, tenants=tenants)
            handlers = {
                events.INVOICE_ISSUED: partial(on_invoice_issued, deps=deps),
                events.INVOICE_REGISTERED: partial(on_invoice_registered, deps=deps),
            }
            await consume(
                settings, TOPICS, handlers, stop, concurrency=settings.render_processes * 2
            )
    finally:
        await tenants.stop()
        await store.close()


def run() -> None:
    settings = RendererSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
