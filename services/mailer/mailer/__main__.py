"""mailer: e-mails each rendered invoice's link to its buyer from the tenant's template."""

from __future__ import annotations

import asyncio
from functools import partial

from einvoice import events
from einvoice.mongo import mongo_client, service_db
from einvoice.service import run_service
from einvoice.tenants import TenantDirectory
from einvoice.worker import consume
from mailer.adapters import MongoSendLog, SmtpSender
from mailer.config import MailerSettings
from mailer.handlers import Deps, on_pdf_rendered, on_resend_requested

SERVICE = "mailer"


async def main(settings: MailerSettings, stop: asyncio.Event) -> None:
    client = mongo_client(settings)
    tenants = TenantDirectory(settings.kafka_bootstrap)
    await tenants.start()
    try:
        db = service_db(client, SERVICE)
        send_log = MongoSendLog(db["sends"], db["links"])
        await send_log.setup()
        deps = Deps(
            log=send_log,
            smtp=SmtpSender(settings),
            tenants=tenants,
            public_base_url=settings.public_base_url,
            default_sender=settings.mail_from,
        )
        handlers = {
            events.PDF_RENDERED: partial(on_pdf_rendered, deps=deps),
            events.MAIL_RESEND_REQUESTED: partial(on_resend_requested, deps=deps),
        }
        await consume(settings, SERVICE, handlers, stop)
    finally:
        await tenants.stop()
        await client.close()


def run() -> None:
    settings = MailerSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
