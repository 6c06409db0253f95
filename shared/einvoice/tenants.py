"""Tenant settings materialised from the compacted `tenant.config` topic.

Every service that needs a tenant's settings keeps its own in-memory view: it reads the
topic from the beginning at start (and is ready only once caught up), then follows it.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from einvoice import events
from einvoice.bus import FETCH_MAX_WAIT_MS
from einvoice.kafka_admin import partitions_of
from einvoice.log import get_logger

log = get_logger(__name__)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass
class TenantDirectory:
    bootstrap: str
    tenants: dict[str, events.TenantConfig] = field(default_factory=dict)
    _by_key_hash: dict[str, str] = field(default_factory=dict)
    _by_pos_hash: dict[str, tuple[str, events.PosKey]] = field(default_factory=dict)
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None
    _edits: asyncio.Lock = field(default_factory=asyncio.Lock)

    def get(self, tenant_id: str) -> events.TenantConfig | None:
        return self.tenants.get(tenant_id)

    @property
    def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the tenant directory has not started")
        return self._consumer

    def by_api_key(self, api_key: str) -> events.TenantConfig | None:
        tenant_id = self._by_key_hash.get(hash_api_key(api_key))
        return self.tenants.get(tenant_id) if tenant_id else None

    def by_pos_key(self, api_key: str) -> tuple[events.TenantConfig, events.PosKey] | None:
        """The chain and the POS key entry (store-bound or chain-wide) of a till's key."""
        found = self._by_pos_hash.get(hash_api_key(api_key))
        tenant = self.tenants.get(found[0]) if found else None
        return (tenant, found[1]) if tenant and found else None

    def apply(self, key: str, value: bytes | None) -> None:
        if value is None:  # tombstone
            self.tenants.pop(key, None)
        else:
            try:
                env = events.Envelope.model_validate_json(value)
                config = events.TenantConfig.model_validate(env.payload)
            except ValidationError as exc:
                log.warning("ignoring invalid tenant config", key=key, error=str(exc)[:300])
                return
            self.tenants[config.tenant_id] = config
        self._by_key_hash = {
            h: t.tenant_id for t in self.tenants.values() for h in t.api_key_sha256
        }
        self._by_pos_hash = {
            k.sha256.lower(): (t.tenant_id, k) for t in self.tenants.values() for k in t.pos_keys
        }

    async def update(
        self, producer: AIOKafkaProducer, tenant_id: str, **changes: object
    ) -> events.TenantConfig:
        """Change some of a tenant's settings and publish the whole record.

        Edits through this replica are applied one after the other to its latest view, and
        the view is updated at once (a page shows what was just saved). Replicas editing
        the same tenant at the same moment still race: the record published last wins."""
        async with self._edits:
            current = self.tenants.get(tenant_id)
            if current is None:
                raise KeyError(f"unknown tenant {tenant_id!r}")
            config = events.TenantConfig.model_validate(
                current.model_dump() | {k: v for k, v in changes.items()}
            )
            value = await publish_tenant(producer, config)
            self.apply(tenant_id, value)
            return config

    async def start(self) -> None:
        """Read the topic to its end, then keep following it in the background."""
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        await self._consumer.start()
        partitions = await partitions_of(self._consumer, events.TENANT_CONFIG)
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        ends = await self._consumer.end_offsets(partitions)
        while not await self._caught_up(ends):
            await self._poll()
        self._task = asyncio.create_task(self._follow())
        log.info("tenant directory ready", tenants=len(self.tenants))

    async def _caught_up(self, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await self._started.position(tp) < end:
                return False
        return True

    async def _poll(self) -> None:
        batch = await self._started.getmany(timeout_ms=500)
        for records in batch.values():
            for record in records:
                self.apply(record.key.decode() if record.key else "", record.value)

    async def _follow(self) -> None:
        while True:
            await self._poll()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._consumer:
            await self._consumer.stop()


async def publish_tenant(producer: AIOKafkaProducer, config: events.TenantConfig) -> bytes:
    """Publish a tenant's whole settings record; returns the record's value."""
    env = events.envelope(
        events.TENANT_CONFIG, config, tenant_id=config.tenant_id, correlation_id=config.tenant_id
    )
    value = env.model_dump_json().encode()
    await producer.send_and_wait(events.TENANT_CONFIG, value, key=config.tenant_id.encode())
    return value
