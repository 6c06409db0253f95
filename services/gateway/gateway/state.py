"""Clients the gateway holds for its lifetime, created at startup and closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from einvoice.bus import make_producer
from einvoice.mongo import mongo_client
from einvoice.storage import ObjectStore, s3_client
from einvoice.tenants import TenantDirectory
from gateway.config import GatewaySettings


@dataclass
class AppState:
    settings: GatewaySettings
    producer: AIOKafkaProducer
    mongo: AsyncMongoClient
    store: ObjectStore
    tenants: TenantDirectory


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: GatewaySettings = app.state.settings
    producer = make_producer(settings.kafka_bootstrap, "gateway")
    tenants = TenantDirectory(settings.kafka_bootstrap)
    mongo = mongo_client(settings)
    await producer.start()
    await tenants.start()
    app.state.app = AppState(
        settings, producer, mongo, ObjectStore(s3_client(settings), settings.s3_bucket), tenants
    )
    try:
        yield
    finally:
        await tenants.stop()
        await producer.stop()
        await mongo.close()
