"""Clients the gateway holds for its lifetime, created at startup and closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from einvoice.bus import make_producer
from einvoice.mongo import Client, mongo_client, service_db
from einvoice.storage import ObjectStore, object_store
from einvoice.tenants import TenantDirectory
from gateway.config import GatewaySettings
from gateway.shop.accounts.ratelimit import RateLimiter
from gateway.shop.accounts.store import RATE_LIMITS, AccountStore
from gateway.web.sessions import SessionStore


@dataclass
class AppState:
    settings: GatewaySettings
    producer: AIOKafkaProducer
    mongo: Client
    store: ObjectStore
    tenants: TenantDirectory
    # Shopper and chain-user accounts (with their sessions and one-time tokens), and the
    # rate limits every replica shares; both in the gateway's own database.
    accounts: AccountStore = field(init=False)
    rate_limiter: RateLimiter = field(init=False)
    # The operators' sessions (signed in with a tenant's API key).
    operator_sessions: SessionStore = field(init=False)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: GatewaySettings = app.state.settings
    producer = make_producer(settings.kafka_bootstrap, "gateway")
    tenants = TenantDirectory(settings.kafka_bootstrap)
    mongo = mongo_client(settings)
    await producer.start()
    await tenants.start()
    state = AppState(settings, producer, mongo, object_store(settings), tenants)
    gateway_db = service_db(mongo, "gateway")
    state.accounts = AccountStore(gateway_db)
    state.rate_limiter = RateLimiter(gateway_db[RATE_LIMITS])
    await state.accounts.setup()
    await state.rate_limiter.setup()
    state.operator_sessions = SessionStore(gateway_db["operator_sessions"])
    await state.operator_sessions.setup()
    app.state.app = state
    try:
        yield
    finally:
        await tenants.stop()
        await producer.stop()
        await mongo.close()
        await state.store.close()
