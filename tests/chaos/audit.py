"""After recovery, count from the stores themselves, not from what the services reported:

- numbers: invoice-builder's issued invoices (MongoDB);
- PDFs: the objects in the bucket (S3 listing);
- e-mails: what maildev received, per recipient and invoice (its REST API);
- retail numbering: each chain series' sequence numbers, 1..n with no gap or repeat;
- batch accounting: read-tracker's status of every part of the batch;
- consumer lag: every service group's committed offsets against the partitions' ends.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from einvoice.mongo import service_db
from einvoice.readmodels import tracking
from tests.chaos.track import Expected
from tests.support import MAILDEV, launcher

PDF_KEY = re.compile(r"/([^/]+)\.pdf$")


@dataclass
class Invoice:
    """What the stores hold of one expected invoice."""

    numbers: list[str] = field(default_factory=list)
    pdfs: int = 0
    mails: Counter[str] = field(default_factory=Counter)  # recipient -> e-mails received
    message_ids: Counter[str] = field(default_factory=Counter)
    failed: str | None = None  # the reason, when it failed for good

    def lost(self, expected: Expected) -> bool:
        if self.failed:
            return False
        missing_mail = any(self.mails[r] == 0 for r in expected.recipients)
        return not self.numbers or self.pdfs == 0 or missing_mail

    def duplicated(self) -> int:
        """Extra numbers and extra PDF objects."""
        return max(0, len(self.numbers) - 1) + max(0, self.pdfs - 1)

    def repeated_mails(self) -> int:
        return sum(n - 1 for n in self.mails.values() if n > 1)


@dataclass
class Audit:
    invoices: dict[str, Invoice]
    numbers_reused: int  # one number on two invoices of a tenant
    gaps: int  # missing sequence numbers in the chains' series
    series: dict[str, list[int]]  # series -> sequence numbers issued
    batches: dict[str, dict[str, Any]]  # batch id -> read-tracker's status
    lag: dict[str, int]  # consumer group -> records not yet committed


async def numbers(mongo: AsyncMongoClient, tenant_ids: list[str]) -> list[dict[str, Any]]:
    rows = service_db(mongo, "invoice-builder")["invoices"].find(
        {"tenant_id": {"$in": tenant_ids}},
        {"invoice_id": 1, "tenant_id": 1, "number": 1, "status": 1, "series": 1, "seq": 1}
        | {"kind": 1, "reasons": 1},
    )
    return await rows.to_list(None)


def pdf_objects(s3: Any, bucket: str, tenant_ids: list[str]) -> Counter[str]:
    """Invoice id -> objects stored for it (keys end in `<invoice id>.pdf`)."""
    found: Counter[str] = Counter()
    paginator = s3.get_paginator("list_objects_v2")
    for tenant_id in tenant_ids:
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{tenant_id}/"):
            for item in page.get("Contents", []):
                if match := PDF_KEY.search(item["Key"]):
                    found[match.group(1)] += 1
    return found


async def maildev_mails(domain: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=MAILDEV, timeout=60) as client:
        response = await client.get("/email")
        response.raise_for_status()
    return [
        m for m in response.json() if any(to["address"].endswith(domain) for to in m.get("to", []))
    ]


def service_groups() -> list[str]:
    names = [n for n in launcher().SERVICES if n != "gateway"]
    return [g for n in names for g in (n, f"{n}.interactive")]


async def consumer_lag(bootstrap: str) -> dict[str, int]:
    """Group -> records between its committed offsets and the ends of its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="chaos-audit")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        lag = {}
        for group in service_groups():
            committed = await admin.list_consumer_group_offsets(group)
            if not committed:
                continue
            parts = list(committed)
            ends = await consumer.end_offsets(parts)
            lag[group] = sum(
                max(0, ends[tp] - (committed[tp].offset if committed[tp].offset >= 0 else 0))
                for tp in parts
            )
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def lag_drained(bootstrap: str, within: float) -> dict[str, int]:
    """Poll until every group has committed everything, or `within` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        lag = await consumer_lag(bootstrap)
        if not any(lag.values()) or time.monotonic() > deadline:
            return lag
        await asyncio.sleep(2)


async def audit(
    expected: dict[str, Expected],
    mongo: AsyncMongoClient,
    s3: Any,
    bucket: str,
    domain: str,
    batch_ids: dict[str, str],  # batch id -> tenant id
    bootstrap: str,
) -> Audit:
    tenant_ids = sorted({e.tenant_id for e in expected.values()})
    invoices = {invoice_id: Invoice() for invoice_id in expected}
    rows = await numbers(mongo, tenant_ids)
    per_number: Counter[tuple[str, str]] = Counter()
    series: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.get("status") != "issued":
            if row["invoice_id"] in invoices:
                invoices[row["invoice_id"]].failed = "; ".join(row.get("reasons") or ["rejected"])
            continue
        per_number[(row["tenant_id"], row["number"])] += 1
        if row["invoice_id"] in invoices:
            invoices[row["invoice_id"]].numbers.append(row["number"])
        if row.get("kind") == "retail":
            series[f"{row['tenant_id']}:{row['series']}"].append(row["seq"])
    gaps = 0
    for seqs in series.values():
        seqs.sort()
        gaps += len(set(range(1, max(seqs) + 1)) - set(seqs))
    objects = await asyncio.to_thread(pdf_objects, s3, bucket, tenant_ids)
    for invoice_id, count in objects.items():
        if invoice_id in invoices:
            invoices[invoice_id].pdfs = count
    for mail in await maildev_mails(domain):
        message_id = mail.get("headers", {}).get("message-id", "")
        invoice_id = message_id.strip("<>").split(".", 1)[0]
        if invoice_id not in invoices:
            continue
        for to in mail.get("to", []):
            invoices[invoice_id].mails[to["address"]] += 1
        invoices[invoice_id].message_ids[message_id] += 1
    batches = {}
    for batch_id, tenant_id in batch_ids.items():
        batches[batch_id] = await tracking.batch_status(mongo, tenant_id, batch_id) or {}
        for failure in batches[batch_id].get("failures", []):
            if failure["invoice_id"] in invoices and not invoices[failure["invoice_id"]].failed:
                invoices[failure["invoice_id"]].failed = "; ".join(failure["reasons"]) or "failed"
    return Audit(
        invoices,
        sum(n - 1 for n in per_number.values() if n > 1),
        gaps,
        dict(series),
        batches,
        await lag_drained(bootstrap, 120),
    )
