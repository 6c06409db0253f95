"""receipt-ingest: stores every receipt the tills push, claimable by its code."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial

from einvoice import events
from einvoice.mongo import mongo_client, service_db
from einvoice.readmodels.receipts import receipts_collection
from einvoice.service import run_service
from einvoice.tenants import TenantDirectory
from einvoice.worker import consume
from receipt_ingest.adapters import MongoReceipts, MongoReservations
from receipt_ingest.config import IngestSettings
from receipt_ingest.handlers import Deps, on_receipt_scanned
from receipt_ingest.retail import RetailDeps, on_invoice_rejected, on_retail_requested
from receipt_ingest.topics import TOPICS

SERVICE = TOPICS.service


async def main(settings: IngestSettings, stop: asyncio.Event) -> None:
    client = mongo_client(settings)
    tenants = TenantDirectory(settings.kafka_bootstrap)
    await tenants.start()
    try:
        receipts = MongoReceipts(receipts_collection(client))
        await receipts.setup()
        reservations = MongoReservations(
            receipts_collection(client), service_db(client, SERVICE)["refusals"]
        )
        retail = RetailDeps(receipts=reservations, tenants=tenants, now=lambda: datetime.now(UTC))
        handlers = {
            events.RECEIPT_SCANNED: partial(on_receipt_scanned, deps=Deps(receipts=receipts)),
            events.RETAIL_REQUESTED: partial(on_retail_requested, deps=retail),
            events.INVOICE_REJECTED: partial(on_invoice_rejected, deps=retail),
        }
        await consume(settings, TOPICS, handlers, stop)
    finally:
        await tenants.stop()
        await client.close()


def run() -> None:
    settings = IngestSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
