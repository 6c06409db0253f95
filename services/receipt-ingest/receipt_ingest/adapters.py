"""MongoDB adapter: the receipts this service stores (it is their only writer; the gateway
reads them through `einvoice.receipts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from einvoice.bus import TransientError
from einvoice.mongo import Collection


@dataclass
class MongoReceipts:
    collection: Collection

    async def setup(self) -> None:
        # A code opens exactly one receipt of a chain, even with concurrent replicas.
        await self.collection.create_index(
            [("tenant_id", ASCENDING), ("code", ASCENDING)],
            unique=True,
            partialFilterExpression={"code": {"$exists": True}},
            name="code_unique_per_chain",
        )
        # Shoppers' lookups go by the code's hash.
        await self.collection.create_index(
            [("code_sha256", ASCENDING), ("tenant_id", ASCENDING)], name="code_sha256"
        )

    async def save_once(self, record: dict[str, Any]) -> dict[str, Any] | None:
        try:
            await self.collection.insert_one(record | {"stored_at": datetime.now(UTC)})
        except DuplicateKeyError as exc:
            same_id = await self.collection.find_one({"_id": record["_id"]})
            if same_id is not None:
                return same_id
            same_code = await self.collection.find_one(
                {"tenant_id": record["tenant_id"], "code": record["code"]}
            )
            if same_code is not None:
                return same_code
            # The conflicting receipt vanished between insert and lookup: try again.
            message = f"duplicate key for {record['_id']} but no receipt holds it"
            raise TransientError(message) from exc
        return None


@dataclass
class MongoReservations:
    """Per-line invoiced quantities live on the receipt document (decimal strings, changed
    only by compare-and-set on `version`); refusals in their own collection."""

    receipts: Collection
    refusals: Collection

    async def get(self, key: str) -> dict[str, Any] | None:
        return await self.receipts.find_one({"_id": key})

    async def reserve(
        self,
        key: str,
        version: int,
        invoice_id: str,
        picks: dict[int, Decimal],
        invoiced: list[str],
    ) -> bool:
        reservation = {
            "invoice_id": invoice_id,
            "at": datetime.now(UTC),
            "picks": {str(i): str(q) for i, q in picks.items()},
        }
        result = await self.receipts.update_one(
            {"_id": key, "version": version},
            {
                "$set": {"invoiced": invoiced},
                "$inc": {"version": 1},
                "$push": {"reservations": reservation},
            },
        )
        return result.modified_count == 1

    async def release(self, key: str, version: int, invoice_id: str, invoiced: list[str]) -> bool:
        doc = await self.receipts.find_one({"_id": key, "version": version})
        if doc is None:
            return False
        reservations = [
            r | {"released": True} if r["invoice_id"] == invoice_id else r
            for r in doc.get("reservations", [])
        ]
        result = await self.receipts.update_one(
            {"_id": key, "version": version},
            {"$set": {"invoiced": invoiced, "reservations": reservations}, "$inc": {"version": 1}},
        )
        return result.modified_count == 1

    async def decided(self, invoice_id: str) -> dict[str, Any] | None:
        return await self.refusals.find_one({"_id": invoice_id})

    async def refuse_once(self, invoice_id: str, reasons: list[str]) -> dict[str, Any]:
        record = {"_id": invoice_id, "reasons": reasons, "at": datetime.now(UTC)}
        try:
            await self.refusals.insert_one(record)
        except DuplicateKeyError:
            # The refusal recorded first stands (refusals are never deleted).
            return await self.refusals.find_one({"_id": invoice_id}) or record
        return record
