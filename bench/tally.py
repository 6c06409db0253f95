"""What became of this run's invoices: live, from a tail of the pipeline's output topics
(pdf.rendered, mail.sent, mail.failed, invoice.rejected on both lanes, read from their end
with no consumer group and nothing committed); finally, from the delivery read model."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from einvoice import events
from einvoice.readmodels import tracking
from einvoice_tools import demo
from tests.support import tail_from_end

TAILED = (
    events.PDF_RENDERED,
    events.MAIL_SENT,
    events.MAIL_FAILED,
    events.INVOICE_REJECTED,
    events.INVOICE_KSEF_REJECTED,
)
REFUSED = (events.INVOICE_REJECTED, events.INVOICE_KSEF_REJECTED)
# Each on both lanes: a batch's events on the bulk topics, a shopper's on the interactive ones.
TAILED_TOPICS = sorted(
    {events.topic_for(t, lane) for t in TAILED for lane in ("bulk", "interactive")}
)


@dataclass
class Tally:
    """What this run published and what the tail has seen of it (times are time.time())."""

    first_publish_at: float | None = None
    all_published_at: float | None = None
    published: int = 0
    utility_ids: set[str] = field(default_factory=set)
    batches: dict[str, set[str]] = field(default_factory=dict)  # batch id -> invoice ids
    rendered: dict[str, float] = field(default_factory=dict)
    mailed: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)  # mailed or failed
    retail_requested: dict[str, float] = field(default_factory=dict)
    retail_rendered: dict[str, float] = field(default_factory=dict)
    retail_failed: dict[str, str] = field(default_factory=dict)
    retail_errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        """Utility invoices mailed or failed."""
        return len(self.finished)

    @property
    def retail_pending(self) -> int:
        decided = self.retail_rendered.keys() | self.retail_failed.keys()
        return len(self.retail_requested.keys() - decided)

    def see(self, topic: str, record: dict[str, Any]) -> None:
        """Count one tailed event (`topic` is its type, whichever lane it came on)."""
        payload = record.get("payload") or {}
        invoice_id = payload.get("invoice_id")
        if invoice_id in self.utility_ids:
            at = datetime.fromisoformat(record["occurred_at"]).timestamp()
            if topic == events.PDF_RENDERED:
                self.rendered.setdefault(invoice_id, at)
            elif topic == events.MAIL_SENT:
                self.mailed.setdefault(invoice_id, at)
                self.finished.add(invoice_id)
            elif topic in REFUSED or payload.get("permanent"):
                self.failed.setdefault(invoice_id, topic)
                self.finished.add(invoice_id)
        elif invoice_id in self.retail_requested:
            if topic == events.PDF_RENDERED:
                at = datetime.fromisoformat(record["occurred_at"]).timestamp()
                self.retail_rendered.setdefault(invoice_id, at)
            elif topic in REFUSED:
                self.retail_failed.setdefault(invoice_id, "; ".join(payload.get("reasons", [])))


async def open_tail(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer positioned at the current end of every tailed partition."""
    return await tail_from_end(bootstrap, TAILED_TOPICS)


async def follow(consumer: AIOKafkaConsumer, tally: Tally) -> None:
    while True:
        batch = await consumer.getmany(timeout_ms=500, max_records=2000)
        for partition, records in batch.items():
            for record in records:
                try:
                    tally.see(events.type_of_topic(partition.topic), json.loads(record.value))
                except (ValueError, KeyError, TypeError):
                    continue  # not ours to judge: the services dead-letter it


async def collect(mongo: AsyncMongoClient, tally: Tally, deadline: float) -> list[dict[str, Any]]:
    """The utility invoices' delivery rows (stage timestamps) from the read model, once
    read-tracker has recorded what the tail saw mailed or failed, or at `deadline`."""
    deliveries = tracking.tracker_db(mongo)[tracking.DELIVERIES]
    stages = ("requested", "issued", "rendered", "mailed", "failed")
    fields = {"invoice_id": 1} | {f"{stage}_at": 1 for stage in stages}
    rows: dict[str, dict[str, Any]] = {}
    pending = dict(tally.batches)
    while pending:
        for batch_id, ids in list(pending.items()):
            query = {"tenant_id": demo.DEMO_TENANT, "batch_ids": batch_id}
            found = await deliveries.find(query, fields).to_list(None)
            rows.update((r["invoice_id"], r) for r in found)
            recorded = {r["invoice_id"] for r in found if r.get("mailed_at") or r.get("failed_at")}
            if (ids & tally.finished) <= recorded:
                del pending[batch_id]
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    return list(rows.values())
