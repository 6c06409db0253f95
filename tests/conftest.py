"""Session fixtures: the real local stack and the six services, started or reused.

Whatever a session starts, it stops at the end; what was already running (a developer's
`make run`) is reused and left alone. Set EINVOICE_KEEP_STACK=1 to leave everything up.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from einvoice import events
from einvoice.bus import make_producer
from einvoice.tenants import hash_api_key, publish_tenant
from einvoice_tools import demo
from tests.support import (
    GATEWAY,
    LAUNCHER_SCRIPT,
    PYTHON,
    ROOT,
    STACK_PORTS,
    STACK_SCRIPT,
    eventually,
    launcher,
    local_settings,
    port_open,
)

KEEP = os.environ.get("EINVOICE_KEEP_STACK") == "1"


def _run(*args: str) -> None:
    subprocess.run([str(PYTHON), *args], cwd=ROOT, check=True)


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    """Kafka, SeaweedFS, SecantusDB and maildev, with the platform's topics."""
    already = {name for name, port in STACK_PORTS.items() if port_open(port)}
    _run(str(STACK_SCRIPT), "up")
    _run("-m", "einvoice_tools.cli", "create-topics")
    yield local_settings()
    started = sorted(set(STACK_PORTS) - already)
    if started and not KEEP:
        _run(str(STACK_SCRIPT), "down", *started)


@pytest.fixture(scope="session")
def services(stack: dict[str, str]) -> bool:
    """The six services, as `make run` starts them; True when this session started them."""
    names = launcher().SERVICES
    already = {name for name, (_, port) in names.items() if port_open(port)}
    _run(str(LAUNCHER_SCRIPT), "services")
    yield not already
    started = sorted(set(names) - already)
    if started and not KEEP:
        _run(str(LAUNCHER_SCRIPT), "stop-services", *started)


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
    producer = make_producer(bootstrap, "tests")
    await producer.start()
    try:
        await publish_tenant(producer, config)
    finally:
        await producer.stop()
    return tenant


async def known_tenant(bootstrap: str, name: str) -> Tenant:
    """A new utility tenant, once the gateway knows it."""
    created = await register_tenant(bootstrap, name)

    async def known() -> bool:
        async with httpx.AsyncClient(base_url=GATEWAY, headers=created.auth) as client:
            return (await client.get("/api/v1/batches/none")).status_code == 404

    await eventually(known, timeout=30, what=f"the gateway to learn the tenant {name!r}")
    return created


@pytest.fixture(scope="session")
async def tenant(services: bool, stack: dict[str, str]) -> Tenant:
    """A fresh utility tenant per test session, known to the gateway."""
    return await known_tenant(stack["kafka_bootstrap"], "Wodociągi Testowe Sp. z o.o.")


@pytest.fixture(scope="session")
def services_started_here(services: bool) -> bool:
    return services


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
    config = events.TenantConfig(
        tenant_id=chain.chain_id,
        name="Sklepy Testowe „Żabka-nie-Żabka” Sp. z o.o.",
        kind="retail",
        seller=events.Party.model_validate(demo.DEMO_CHAIN_SELLER),
        pos_keys=[
            events.PosKey(sha256=hash_api_key(chain.chain_key)),
            events.PosKey(sha256=hash_api_key(chain.store_key), store_id=store),
        ],
        accounting_email=chain.accounting_email,
    )
    producer = make_producer(bootstrap, "tests")
    await producer.start()
    try:
        await publish_tenant(producer, config)
    finally:
        await producer.stop()
    return chain


async def known_chain(bootstrap: str, accounting_email: str | None = None) -> Chain:
    """A new retail chain, once the gateway accepts its POS key."""
    chain = await register_chain(bootstrap, accounting_email)

    async def known() -> bool:
        return (await push(chain.chain_key, {})).status_code == 422  # known, empty receipt

    await eventually(known, timeout=30, what="the gateway to learn the test chain")
    return chain


@pytest.fixture(scope="module")
async def chain(services: bool, stack: dict[str, str]) -> Chain:
    """A fresh retail chain for each test module."""
    return await known_chain(stack["kafka_bootstrap"])


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
    (chain users have no self-registration; `gateway.accounts.admin.create_chain_user`)."""
    from pymongo import AsyncMongoClient

    from einvoice.mongo import service_db
    from gateway.accounts.admin import create_chain_user

    email = email or f"kasa@{uuid.uuid4().hex[:10]}.chain-user.test"
    mongo = AsyncMongoClient(local_settings()["mongo_url"], tz_aware=True)
    try:
        await create_chain_user(service_db(mongo, "gateway"), email, password, chain_id)
    finally:
        await mongo.close()
    return ChainUser(email, password, chain_id)


@pytest.fixture(scope="session")
def chain_user(services: bool):
    """A factory: `await chain_user(chain_id)` creates a signed-in-able chain user."""
    return create_chain_account


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault injection last: the tests before it need not wait for a stack that heals."""
    items.sort(key=lambda item: item.get_closest_marker("chaos") is not None)


# The machine is shared and noisy: no per-example deadline, no "generation too slow" check.
hypothesis_settings.register_profile(
    "einvoice", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("einvoice")

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What the end-to-end tests measured (the lines they print while running), listed at
    the end of every run, CI included, so the figures quoted in notes can be read off the
    log. Log lines and the stack's start-up output are left out."""
    lines = []
    for report in terminalreporter.stats.get("passed", []):
        if report.when != "call" or not report.nodeid.startswith("tests/e2e"):
            continue
        for name, content in report.sections:
            if name != "Captured stdout call":
                continue
            name_ = report.nodeid.split("::")[-1]
            lines += [
                f"{name_}: {line.strip()}"
                for line in content.splitlines()
                if line.strip() and not LOG_LINE.match(line)
            ]
    if lines:
        terminalreporter.section("measured figures")
        for line in lines:
            terminalreporter.write_line(line)
