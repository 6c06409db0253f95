"""MongoDB adapter: the invoices this service issued (it is their only writer)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from einvoice.bus import TransientError
from einvoice.mongo import CoalescedUpdates, Collection

# Each try loses only to an invoice that took the number meanwhile; this many in a row means
# something else is wrong (say, another index refusing the insert), not contention.
MAX_NUMBER_ATTEMPTS = 50


@dataclass
class MongoInvoices:
    collection: Collection
    _series_locks: defaultdict[tuple[str, str], asyncio.Lock] = field(
        default_factory=lambda: defaultdict(asyncio.Lock), init=False
    )
    # The decisions of the handlers running at once go to MongoDB as one insert command;
    # each still gets its own DuplicateKeyError (a redelivery, or a number already used).
    _decisions: CoalescedUpdates = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._decisions = CoalescedUpdates(self.collection)

    async def setup(self) -> None:
        # One issued invoice per number and tenant, even with concurrent builder replicas.
        await self.collection.create_index(
            [("tenant_id", ASCENDING), ("number", ASCENDING)],
            unique=True,
            partialFilterExpression={"status": "issued"},
            name="issued_number_unique",
        )
        # Retail series: one invoice per sequence number, and no gaps (see issue_numbered).
        await self.collection.create_index(
            [("tenant_id", ASCENDING), ("series", ASCENDING), ("seq", ASCENDING)],
            unique=True,
            partialFilterExpression={"status": "issued", "kind": "retail"},
            name="retail_series_seq_unique",
        )

    async def get(self, tenant_id: str, invoice_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": f"{tenant_id}/{invoice_id}"})

    async def save_once(self, record: dict[str, Any]) -> dict[str, Any]:
        doc = record | {
            "_id": f"{record['tenant_id']}/{record['invoice_id']}",
            "decided_at": datetime.now(UTC),
        }
        try:
            await self._decisions.insert_one(doc)
        except DuplicateKeyError:
            stored = await self.collection.find_one({"_id": doc["_id"]})
            if stored is not None:
                return stored
            # Not this invoice: another one was issued with the same number meanwhile.
            owner = await self.number_owner(record["tenant_id"], record["number"])
            reason = f"number {record['number']!r} is already used by {owner}"
            rejected = {k: v for k, v in doc.items() if k != "invoice"}
            return await self.save_once(rejected | {"status": "rejected", "reasons": [reason]})
        return doc

    async def number_owner(self, tenant_id: str, number: str) -> str | None:
        doc = await self.collection.find_one(
            {"tenant_id": tenant_id, "number": number, "status": "issued"}, {"invoice_id": 1}
        )
        return doc["invoice_id"] if doc else None

    async def issue_numbered(
        self, record: dict[str, Any], series: str, number_of: Callable[[int], str]
    ) -> dict[str, Any]:
        """Insert the invoice with the series' next sequence number. The insert is the one
        atomic step that both takes the number and stores the invoice, so a crash leaves no
        gap; a concurrent issue that took the same number makes the insert fail on the
        unique index, and the next number is tried."""
        doc_id = f"{record['tenant_id']}/{record['invoice_id']}"
        # Within one process the series' numbers are taken one at a time; the unique index
        # settles the rare race between replicas.
        async with self._series_locks[(record["tenant_id"], series)]:
            return await self._insert_next(record, series, number_of, doc_id)

    async def _insert_next(
        self, record: dict[str, Any], series: str, number_of: Callable[[int], str], doc_id: str
    ) -> dict[str, Any]:
        for _ in range(MAX_NUMBER_ATTEMPTS):
            last = await self.collection.find_one(
                {
                    "tenant_id": record["tenant_id"],
                    "series": series,
                    "status": "issued",
                    "kind": "retail",
                },
                {"seq": 1},
                sort=[("seq", DESCENDING)],
            )
            seq = (last["seq"] if last else 0) + 1
            number = number_of(seq)
            doc = record | {
                "_id": doc_id,
                "kind": "retail",
                "series": series,
                "seq": seq,
                "number": number,
                "invoice": record["invoice"] | {"number": number},
                "decided_at": datetime.now(UTC),
            }
            try:
                await self.collection.insert_one(doc)
            except DuplicateKeyError:
                stored = await self.collection.find_one({"_id": doc_id})
                if stored is not None:
                    return stored
                continue  # the number went to a concurrent invoice: take the next one
            return doc
        raise TransientError(f"no free number in {series} after {MAX_NUMBER_ATTEMPTS} tries")
