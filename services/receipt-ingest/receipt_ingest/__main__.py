"""receipt-ingest: stores every receipt the tills push, claimable by its code."""

from __future__ import annotations

import asyncio
from functools import partial

from einvoice import events
from einvoice.mongo import mongo_client
from einvoice.receipts import receipts_collection
from einvoice.service import run_service
from einvoice.worker import consume
from receipt_ingest.adapters import MongoReceipts
from receipt_ingest.config import IngestSettings
from receipt_ingest.handlers import Deps, on_receipt_scanned

SERVICE = "receipt-ingest"


async def main(settings: IngestSettings, stop: asyncio.Event) -> None:
    client = mongo_client(settings)
    try:
        receipts = MongoReceipts(receipts_collection(client))
        await receipts.setup()
        deps = Deps(receipts=receipts)
        handlers = {events.RECEIPT_SCANNED: partial(on_receipt_scanned, deps=deps)}
        await consume(settings, SERVICE, handlers, stop)
    finally:
        await client.close()


def run() -> None:
    settings = IngestSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
