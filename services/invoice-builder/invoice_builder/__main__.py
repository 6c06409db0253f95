"""invoice-builder: validates requested invoices, computes VAT and issues them with their
FA(3) XML."""

from __future__ import annotations

import asyncio
from functools import partial

from einvoice import events
from einvoice.mongo import mongo_client, service_db
from einvoice.service import run_service
from einvoice.storage import object_store
from einvoice.tenants import TenantDirectory
from einvoice.worker import consume
from invoice_builder.adapters import MongoInvoices
from invoice_builder.config import BuilderSettings
from invoice_builder.handlers import Deps, on_invoice_requested
from invoice_builder.retail import RetailDeps, on_retail_reserved, warsaw_today
from invoice_builder.topics import TOPICS

SERVICE = TOPICS.service


async def main(settings: BuilderSettings, stop: asyncio.Event) -> None:
    client = mongo_client(settings)
    store = object_store(settings)
    await store.ensure_bucket()
    tenants = TenantDirectory(settings.kafka_bootstrap)
    await tenants.start()
    try:
        invoices = MongoInvoices(service_db(client, SERVICE)["invoices"])
        await invoices.setup()
        retail = RetailDeps(invoices=invoices, tenants=tenants, today=warsaw_today, store=store)
        handlers = {
            events.INVOICE_REQUESTED: partial(
                on_invoice_requested, deps=Deps(invoices, store, tenants=tenants)
            ),
            events.RETAIL_RESERVED: partial(on_retail_reserved, deps=retail),
        }
        await consume(settings, TOPICS, handlers, stop)
    finally:
        await tenants.stop()
        await store.close()
        await client.close()


def run() -> None:
    settings = BuilderSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
