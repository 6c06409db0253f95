"""mailer: e-mails each rendered invoice's link to its buyer from the tenant's template,
through the tenant's mailbox and within its sending limits."""

from __future__ import annotations

import asyncio
from functools import partial

from einvoice import events
from einvoice.bus import make_producer, publish
from einvoice.mongo import mongo_client
from einvoice.outbox import Outbox
from einvoice.readmodels import mailing
from einvoice.sealing import unsealer
from einvoice.service import run_service
from einvoice.smtp import SmtpPool
from einvoice.tenants import TenantDirectory
from einvoice.worker import consume
from mailer.adapters import MongoSendLog, SmtpSender
from mailer.config import MailerSettings
from mailer.dispatch import Dispatcher, Route, route_for
from mailer.handlers import Deps, MailJob, on_pdf_rendered, on_resend_requested
from mailer.limits import Limits, MailboxLimiter
from mailer.topics import TOPICS

SERVICE = TOPICS.service


async def main(settings: MailerSettings, stop: asyncio.Event) -> None:
    client = mongo_client(settings)
    tenants = TenantDirectory(settings.kafka_bootstrap)
    producer = make_producer(settings.kafka_bootstrap, f"{SERVICE}-dispatch")
    await tenants.start()
    await producer.start()
    try:
        db = mailing.mailer_db(client)
        send_log = MongoSendLog(db[mailing.SENDS], db[mailing.LINKS])
        await send_log.setup()
        # The dispatcher's heartbeat extends the leases of the jobs it holds every lease/3,
        # so a send may outlast the lease; a replica that dies frees its jobs within one.
        outbox: Outbox[MailJob] = Outbox(
            db[mailing.SENDS], owner=f"mailer@{settings.replica_id}", coalesce=True
        )
        await outbox.setup()
        platform = Route(
            settings.smtp_server(),
            Limits(settings.mail_per_minute, settings.mail_per_hour, settings.mail_per_day),
        )
        sender = SmtpSender(SmtpPool(per_server=settings.mail_concurrency))
        dispatcher = Dispatcher(
            outbox=outbox,
            limiter=MailboxLimiter(db["mailbox_usage"]),
            sender=sender,
            route_for=route_for(tenants, platform, unsealer(settings)),
            publish=partial(publish, producer, service=SERVICE),
            concurrency=settings.mail_concurrency,
            retry_initial=settings.mail_retry_initial_seconds,
        )
        deps = Deps(
            log=send_log,
            jobs=outbox,
            tenants=tenants,
            public_base_url=settings.public_base_url,
            default_sender=settings.mail_from,
            queued=dispatcher.queued,
            handoff_lease=dispatcher.handoff_lease,
        )
        handlers = {
            events.PDF_RENDERED: partial(on_pdf_rendered, deps=deps),
            events.MAIL_RESEND_REQUESTED: partial(on_resend_requested, deps=deps),
        }
        dispatching = asyncio.create_task(dispatcher.run(stop))
        try:
            await consume(settings, TOPICS, handlers, stop)
        finally:
            stop.set()
            await dispatching
        await sender.pool.close()
    finally:
        await producer.stop()
        await tenants.stop()
        await client.close()


def run() -> None:
    settings = MailerSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
