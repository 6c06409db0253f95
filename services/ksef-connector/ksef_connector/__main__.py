"""ksef-connector: submits KSeF-bound invoices to KSeF and reports their KSeF numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from pymongo import ASCENDING, UpdateOne

from einvoice import events
from einvoice.bus import make_producer, publish
from einvoice.mongo import Collection, mongo_client, service_db
from einvoice.outbox import Outbox
from einvoice.sealing import unsealer
from einvoice.service import run_service
from einvoice.storage import object_store
from einvoice.tenants import TenantDirectory
from einvoice.worker import consume
from ksef_connector.config import ConnectorSettings
from ksef_connector.connections import Connections
from ksef_connector.dispatch import Dispatcher
from ksef_connector.gate import Gate
from ksef_connector.jobs import Deps, SubmissionJob, SubmissionOutcome, on_invoice_issued
from ksef_connector.submit import Record, Submitter
from ksef_connector.topics import TOPICS

SERVICE = TOPICS.service
SUBMISSIONS, GATES = "submissions", "gates"


def recorder(jobs: Collection, owner: str) -> Record:
    async def record(sent: Sequence[tuple[SubmissionJob, SubmissionOutcome]]) -> None:
        """Where KSeF took each invoice, in one write (only jobs this replica holds)."""
        if sent:
            await jobs.bulk_write(
                [
                    UpdateOne({"_id": job["_id"], "owner": owner}, {"$set": dict(refs)})
                    for job, refs in sent
                ],
                ordered=False,
            )

    return record


async def main(settings: ConnectorSettings, stop: asyncio.Event) -> None:
    client = mongo_client(settings)
    store = object_store(settings)
    tenants = TenantDirectory(settings.kafka_bootstrap)
    producer = make_producer(settings.kafka_bootstrap, f"{SERVICE}-dispatch")
    await tenants.start()
    await producer.start()
    connections = Connections(
        tenants=tenants,
        unseal=unsealer(settings),
        url_of=settings.ksef_url,
        timeout=settings.ksef_request_timeout_seconds,
    )
    try:
        db = service_db(client, SERVICE)
        owner = f"{SERVICE}@{settings.replica_id}"
        outbox: Outbox[SubmissionJob] = Outbox(db[SUBMISSIONS], owner=owner, coalesce=True)
        await outbox.setup()
        # A shopper's jobs are looked for alone on most rounds (dispatch.Dispatcher.round).
        await db[SUBMISSIONS].create_index(
            [("state", ASCENDING), ("priority", ASCENDING), ("due_at", ASCENDING)]
        )
        submitter = Submitter(
            connections=connections,
            store=store,
            record=recorder(db[SUBMISSIONS], owner),
            poll=settings.ksef_poll_seconds,
            max_wait=settings.ksef_max_wait_seconds,
            online_concurrency=settings.ksef_online_concurrency,
        )
        dispatcher = Dispatcher(
            outbox=outbox,
            submitter=submitter,
            gate=Gate(db[GATES]),
            publish=partial(publish, producer, service=SERVICE),
            gather=settings.ksef_batch_gather_seconds,
            batch_min=settings.ksef_batch_min,
            batch_max=settings.ksef_batch_max,
            retry_initial=settings.ksef_retry_initial_seconds,
        )
        deps = Deps(
            jobs=outbox,
            gather=timedelta(seconds=settings.ksef_batch_gather_seconds),
            queued=dispatcher.wake_in,
        )
        handlers = {events.INVOICE_ISSUED: partial(on_invoice_issued, deps=deps)}
        dispatching = asyncio.create_task(dispatcher.run(stop))
        try:
            await consume(settings, TOPICS, handlers, stop)
        finally:
            stop.set()
            await dispatching
    finally:
        await connections.close()
        await producer.stop()
        await tenants.stop()
        await store.close()
        await client.close()


def run() -> None:
    settings = ConnectorSettings()
    run_service(SERVICE, settings, partial(main, settings))


if __name__ == "__main__":
    run()
