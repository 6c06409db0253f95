"""What the pipeline reports of each chaos invoice, live: a tail of its output topics on both
lanes, read from their end with no consumer group and nothing committed. It times the faults
("a random moment while the renderer works on the batch") and tells when work is done; the
counting at the end does not trust it but reads the stores themselves (tests.chaos.audit)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from einvoice import events
from tests.support import tail_from_end

STAGES = {
    events.INVOICE_ISSUED: "issued",
    events.INVOICE_REJECTED: "rejected",
    events.PDF_RENDERED: "rendered",
    events.MAIL_SENT: "mailed",
    events.MAIL_FAILED: "mail_failed",
}
TOPICS = sorted(
    {events.topic_for(t, lane) for t in STAGES for lane in (events.BULK, "interactive")}
)


@dataclass
class Expected:
    """An invoice this run asked for, and who must get an e-mail about it."""

    invoice_id: str
    tenant_id: str
    recipients: frozenset[str]
    fault: int  # index of the fault it was exposed to
    kind: str  # "utility" or "retail"
    started_at: float  # loop time it was sent


@dataclass
class Track:
    expected: dict[str, Expected] = field(default_factory=dict)
    seen: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    mailed_to: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    failed: dict[str, str] = field(default_factory=dict)  # invoice id -> reason
    done_at: dict[str, float] = field(default_factory=dict)  # invoice id -> monotonic time
    tail_errors: int = 0

    def see(self, stage: str, payload: dict) -> None:
        invoice_id = payload.get("invoice_id")
        if invoice_id not in self.expected:
            return
        self.seen[invoice_id][stage] += 1
        if stage == "mailed":
            self.mailed_to[invoice_id].add(payload.get("recipient", ""))
        elif stage == "rejected":
            self.failed[invoice_id] = "; ".join(payload.get("reasons", [])) or "rejected"
        elif stage == "mail_failed" and payload.get("permanent"):
            self.failed[invoice_id] = payload.get("reason", "mail failed")
        if invoice_id not in self.done_at and self.done(invoice_id):
            self.done_at[invoice_id] = time.monotonic()

    def done(self, invoice_id: str) -> bool:
        """Mailed to every recipient, or failed for good with a reason."""
        if invoice_id in self.failed:
            return True
        return self.expected[invoice_id].recipients <= self.mailed_to.get(invoice_id, set())

    def reached(self, ids: list[str], stage: str) -> int:
        return sum(1 for i in ids if self.seen[i][stage] or self.done(i))

    def pending(self, ids: list[str] | None = None) -> list[str]:
        return [i for i in (self.expected if ids is None else ids) if not self.done(i)]


async def open_tail(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer positioned at the current end of every tailed partition."""
    return await tail_from_end(bootstrap, TOPICS)


async def follow(consumer: AIOKafkaConsumer, track: Track) -> None:
    """Until cancelled; a broker restart only pauses it."""
    while True:
        try:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
        except KafkaError:
            track.tail_errors += 1
            await asyncio.sleep(1)
            continue
        for partition, records in batch.items():
            stage = STAGES[events.type_of_topic(partition.topic)]
            for record in records:
                try:
                    track.see(stage, json.loads(record.value).get("payload") or {})
                except (ValueError, AttributeError, TypeError):
                    continue
