"""MongoDB through PyMongo's async API (the successor of motor)."""

from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from einvoice.settings import Settings


def mongo_client(settings: Settings) -> AsyncMongoClient:
    return AsyncMongoClient(settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000)


def service_db(client: AsyncMongoClient, service: str) -> AsyncDatabase:
    """Each service owns its database; no other service writes to it."""
    return client[f"einvoice_{service.replace('-', '_')}"]
