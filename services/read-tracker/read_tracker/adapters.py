"""MongoDB projection of deliveries and opens, and reverse DNS that never blocks for long."""

from __future__ import annotations

import asyncio
import socket
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from einvoice.mongo import CoalescedUpdates, Collection
from einvoice.readmodels import tracking


@dataclass
class MongoDeliveries:
    deliveries: Collection
    opens: Collection
    batches: Collection
    # batches this replica already registered: every invoice of a batch names it once more
    _registered: OrderedDict[str, None] = field(default_factory=OrderedDict, init=False)
    _registered_max: int = 10_000
    _updates: CoalescedUpdates = field(init=False)

    def __post_init__(self) -> None:
        # The read model may trail the events by a few milliseconds: waiting 20 ms for more
        # updates makes each bulk write larger and the commands fewer.
        self._updates = CoalescedUpdates(self.deliveries, linger=0.02)

    async def setup(self) -> None:
        await self.deliveries.create_index([("tenant_id", ASCENDING), ("batch_ids", ASCENDING)])
        await self.opens.create_index([("tenant_id", ASCENDING), ("invoice_id", ASCENDING)])
        await self.batches.create_index([("tenant_id", ASCENDING), ("started_at", ASCENDING)])

    async def update(
        self,
        tenant_id: str,
        invoice_id: str,
        fields: tracking.DeliveryFields,
        on_insert: dict[str, str],
    ) -> None:
        # An invoice re-sent in a later batch belongs to both: each shows its real stage.
        await self._updates.update_one(
            {"_id": tracking.delivery_id(tenant_id, invoice_id)},
            {
                "$set": fields,
                "$setOnInsert": on_insert | {"invoice_id": invoice_id},
                "$addToSet": {"batch_ids": on_insert["batch_id"]},
            },
            upsert=True,
        )

    async def raise_ksef_status(
        self, tenant_id: str, invoice_id: str, status: tracking.KsefStatus
    ) -> None:
        # One conditional write: two KSeF events of one invoice may be handled at once
        # (they come from different topics), and the stronger status must win either way.
        await self._updates.update_one(
            {
                "_id": tracking.delivery_id(tenant_id, invoice_id),
                "ksef_status": {"$nin": tracking.ksef_outranking(status)},
            },
            {"$set": {"ksef_status": status}},
        )

    async def register_batch(
        self, tenant_id: str, batch_id: str, size: int | None, at: datetime
    ) -> None:
        key = tracking.batch_key(tenant_id, batch_id)
        if key in self._registered:
            return
        await self.batches.update_one(
            {"_id": key},
            {
                "$setOnInsert": {
                    "tenant_id": tenant_id,
                    "batch_id": batch_id,
                    "size": size,
                    "started_at": at,
                }
            },
            upsert=True,
        )
        self._registered[key] = None
        if len(self._registered) > self._registered_max:
            self._registered.popitem(last=False)

    async def get(self, tenant_id: str, invoice_id: str) -> tracking.Delivery | None:
        found = await self.deliveries.find_one({"_id": tracking.delivery_id(tenant_id, invoice_id)})
        return None if found is None else tracking.as_deliveries([found])[0]

    async def add_open(self, record: tracking.Open) -> bool:
        try:
            await self.opens.insert_one(dict(record))
        except DuplicateKeyError:
            return False
        return True


async def reverse_dns(ip: str, wait_seconds: float) -> str | None:
    loop = asyncio.get_running_loop()
    try:
        host, _ = await asyncio.wait_for(
            loop.getnameinfo((ip, 0), socket.NI_NAMEREQD), timeout=wait_seconds
        )
    except (TimeoutError, OSError, ValueError):
        return None
    return host
