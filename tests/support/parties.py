"""The parties of the end-to-end tests, made through the real stack: utility tenants and
retail chains (published on the tenants topic, waited for until the gateway knows them),
a chain's users, and a till's push."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from einvoice import events
from einvoice.bus import make_producer
from einvoice.tenants import hash_api_key, publish_tenant
from einvoice_tools import demo
from tests.support import GATEWAY, eventually, local_settings


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    api_key: str
    email_domain: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def register_tenant(bootstrap: str, name: str = "Test utility") -> Tenant:
    run = uuid.uuid4().hex[:10]
    tenant = Tenant(f"test-{run}", secrets.token_urlsafe(24), f"{run}.test")
    config = events.TenantConfig(
        tenant_id=tenant.tenant_id,
        name=name,
        kind="utility",
        api_key_sha256=[hash_api_key(tenant.api_key)],
    )
    await publish_config(bootstrap, config)
    return tenant


async def publish_config(bootstrap: str, config: events.TenantConfig) -> None:
    """Publish a tenant's configuration, as the operator's CLI does."""
    producer = make_producer(bootstrap, "tests")
    await producer.start()
    try:
        await publish_tenant(producer, config)
    finally:
        await producer.stop()


async def tenant_known(tenant: Tenant) -> Tenant:
    """`tenant`, once the gateway accepts its API key."""

    async def known() -> bool:
        async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
            return (await client.get("/api/v1/batches/none")).status_code == 404

    await eventually(known, timeout=30, what=f"the gateway to learn the tenant {tenant.tenant_id}")
    return tenant


async def known_tenant(bootstrap: str, name: str) -> Tenant:
    """A new utility tenant, once the gateway knows it."""
    return await tenant_known(await register_tenant(bootstrap, name))


@dataclass(frozen=True)
class Chain:
    chain_id: str
    chain_key: str
    store_key: str
    accounting_email: str = "ksiegowosc@chain.test"

    @property
    def mail_domain(self) -> str:
        """The chain's own e-mail domain: shoppers' test addresses go there too."""
        return self.accounting_email.split("@", 1)[1]


async def register_chain(
    bootstrap: str, accounting_email: str | None = None, store: str = "S001"
) -> Chain:
    """A retail chain with a chain-wide POS key and one bound to `store`; its accounting
    address is on a domain of its own unless given."""
    chain = Chain(
        f"chain-{uuid.uuid4().hex[:10]}",
        secrets.token_urlsafe(24),
        secrets.token_urlsafe(24),
        accounting_email or f"ksiegowosc@{uuid.uuid4().hex[:8]}.chain.test",
    )
    await publish_config(bootstrap, chain_config(chain, store))
    return chain


def chain_config(
    chain: Chain,
    store: str,
    name: str = "Sklepy Testowe „Żabka-nie-Żabka” Sp. z o.o.",
    **fields: Any,
) -> events.TenantConfig:
    """The configuration of `chain`: its chain-wide POS key and the one bound to `store`;
    `fields` add to or replace the others (the accounting address by default)."""
    return events.TenantConfig.model_validate(
        {
            "tenant_id": chain.chain_id,
            "name": name,
            "kind": "retail",
            "seller": demo.DEMO_CHAIN_SELLER,
            "pos_keys": [
                {"sha256": hash_api_key(chain.chain_key)},
                {"sha256": hash_api_key(chain.store_key), "store_id": store},
            ],
            "accounting_email": chain.accounting_email,
        }
        | fields
    )


async def chain_known(chain: Chain) -> Chain:
    """`chain`, once the gateway accepts its chain-wide POS key."""

    async def known() -> bool:
        return (await push(chain.chain_key, {})).status_code == 422  # known, empty receipt

    await eventually(known, timeout=30, what=f"the gateway to learn the chain {chain.chain_id}")
    return chain


async def known_chain(bootstrap: str, accounting_email: str | None = None) -> Chain:
    """A new retail chain, once the gateway accepts its POS key."""
    return await chain_known(await register_chain(bootstrap, accounting_email))


async def push(key: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        return await client.post(
            "/api/v1/receipts", json=body, headers={"Authorization": f"Bearer {key}"}
        )


@dataclass(frozen=True)
class ChainUser:
    email: str
    password: str
    chain_id: str


CHAIN_USER_PASSWORD = "kasa fiskalna 2024 zielona"


async def create_chain_account(
    chain_id: str, email: str | None = None, password: str = CHAIN_USER_PASSWORD
) -> ChainUser:
    """A verified user of the retail chain `chain_id`, straight in the gateway's database
    (chain users have no self-registration; `gateway.shop.accounts.admin.create_chain_user`)."""
    from pymongo import AsyncMongoClient

    from einvoice.mongo import service_db
    from gateway.shop.accounts.admin import create_chain_user

    email = email or f"kasa@{uuid.uuid4().hex[:10]}.chain-user.test"
    mongo = AsyncMongoClient(local_settings()["mongo_url"], tz_aware=True)
    try:
        await create_chain_user(service_db(mongo, "gateway"), email, password, chain_id)
    finally:
        await mongo.close()
    return ChainUser(email, password, chain_id)
