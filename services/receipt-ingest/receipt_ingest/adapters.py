from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


@dataclass
class MongoReceipts:
    collection: AsyncCollection

    async def save_once(self, record: dict[str, Any]) -> bool:
        try:
            await self.collection.insert_one(record)
        except DuplicateKeyError:
            return False
        return True
