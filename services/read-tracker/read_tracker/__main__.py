"""read-tracker: the delivery status of every invoice and the confirmations of every open."""

from __future__ import annotations

import asyncio
from functools import partial

from einvoice import events, readmodels
from einvoice.bus import Handler, RawHandler
from einvoice.mongo import mongo_client
from einvoice.service import run_service
from einvoice.worker import consume
from read_tracker.adapters import MongoDeliveries, reverse_dns
from read_tracker.config import TrackerSettings
from read_tracker.handlers import DEAD_LETTER_TOPICS, HANDLERS, Deps, on_dead_letter

SERVICE = "read-tracker"


async def main(settings: TrackerSettings, stop: asyncio.Event) -> None:
    client = mongo_client(settings)
    try:
        db = readmodels.tracker_db(client)
        deliveries = MongoDeliveries(
            db[readmodels.DELIVERIES], db[readmodels.OPENS], db[readmodels.BATCHES]
        )
        await deliveries.setup()
        deps = Deps(
            deliveries=deliveries,
            reverse_dns=partial(reverse_dns, wait_seconds=settings.reverse_dns_timeout),
            scanner_window_seconds=settings.scanner_window_seconds,
        )
        handlers: dict[str, Handler] = {
            topic: partial(handler, deps=deps) for topic, handler in HANDLERS.items()
        }
        for topic in DEAD_LETTER_TOPICS:
            handlers[topic] = RawHandler(partial(on_dead_letter, deps=deps))
        # The stage topics' own consumers dead-letter their bad records; these are ours.
        owned = frozenset(
            {events.INVOICE_REJECTED, events.MAIL_SENT, events.MAIL_FAILED, events.INVOICE_OPENED}
        )
        await consume(settings, SERVICE, handlers, stop, dead_letters_for=owned)
    finally:
        await client.close()


def run() -> None:
    settings = TrackerSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
