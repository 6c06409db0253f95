"""read-tracker: the delivery status of every invoice, the confirmations of every open, and
the webhooks that carry them (and failed deliveries) to the tenants' billing systems."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from einvoice.bus import Handler, RawHandler
from einvoice.mongo import mongo_client
from einvoice.outbox import Outbox
from einvoice.readmodels import billing_feed, tracking
from einvoice.sealing import unsealer
from einvoice.service import run_service
from einvoice.tenants import TenantDirectory
from einvoice.worker import consume
from read_tracker.adapters import MongoDeliveries, reverse_dns
from read_tracker.config import TrackerSettings
from read_tracker.handlers import DEAD_LETTER_TOPICS, HANDLERS, Deps, on_dead_letter
from read_tracker.topics import TOPICS
from read_tracker.webhook_http import HttpPoster
from read_tracker.webhooks import WebhookDispatcher, WebhookJobs, target_for

SERVICE = TOPICS.service


def _dispatcher(
    settings: TrackerSettings,
    outbox: Outbox[billing_feed.WebhookJob],
    tenants: TenantDirectory,
    poster: HttpPoster,
) -> WebhookDispatcher:
    return WebhookDispatcher(
        outbox=outbox,
        poster=poster,
        target_for=target_for(tenants, unsealer(settings)),
        retry_initial=settings.webhook_retry_initial_seconds,
        retry_cap=settings.webhook_retry_cap_seconds,
        give_up_after=timedelta(hours=settings.webhook_give_up_hours),
        concurrency=settings.webhook_concurrency,
    )


async def main(settings: TrackerSettings, stop: asyncio.Event) -> None:
    client = mongo_client(settings)
    tenants = TenantDirectory(settings.kafka_bootstrap)
    await tenants.start()
    try:
        db = tracking.tracker_db(client)
        deliveries = MongoDeliveries(
            db[tracking.DELIVERIES], db[tracking.OPENS], db[tracking.BATCHES]
        )
        await deliveries.setup()
        outbox: Outbox[billing_feed.WebhookJob] = Outbox(
            db[billing_feed.WEBHOOK_DELIVERIES],
            owner=f"read-tracker@{settings.replica_id}",
            reports=False,
        )
        await outbox.setup()
        await db[billing_feed.WEBHOOK_DELIVERIES].create_index(
            [("tenant_id", 1), ("created_at", -1)]
        )
        poster = HttpPoster.create(
            settings.webhook_timeout_seconds, settings.webhooks_may_reach_private_addresses()
        )
        dispatcher = _dispatcher(settings, outbox, tenants, poster)
        webhooks = WebhookJobs(
            outbox=outbox,
            tenants=tenants,
            confirmation_of=partial(billing_feed.confirmation_of, client),
            delivery_of=deliveries.get,
            wake=dispatcher.wake,
        )
        deps = Deps(
            deliveries=deliveries,
            reverse_dns=partial(reverse_dns, wait_seconds=settings.reverse_dns_timeout),
            scanner_window_seconds=settings.scanner_window_seconds,
            webhooks=webhooks,
        )
        handlers: dict[str, Handler] = {
            topic: partial(handler, deps=deps) for topic, handler in HANDLERS.items()
        }
        for topic in DEAD_LETTER_TOPICS:
            handlers[topic] = RawHandler(partial(on_dead_letter, deps=deps))
        dispatching = asyncio.create_task(dispatcher.run(stop))
        try:
            await consume(settings, TOPICS, handlers, stop)
        finally:
            stop.set()
            await dispatching
            await poster.close()
    finally:
        await tenants.stop()
        await client.close()


def run() -> None:
    settings = TrackerSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
