"""MongoDB adapter: the receipts this service stores (it is their only writer; the gateway
reads them through `einvoice.receipts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from einvoice.bus import TransientError


@dataclass
class MongoReceipts:
    collection: AsyncCollection

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
