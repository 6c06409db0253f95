"""The world the authorization matrix runs in (built by the `world` fixture of
tests/e2e/conftest.py): its actors (signed-in clients of shoppers, chain users and
operators, key holders, signed-out and revoked sessions), the steps that build it through
the running stack, the request bodies of the rows, and the client a row is sent with."""

from __future__ import annotations

import random
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from einvoice import events
from einvoice.mongo import mongo_client, service_db
from einvoice.readmodels.receipts import find_receipt_by_code
from einvoice.receipts import receipt_id_for
from einvoice.settings import Settings
from einvoice.tenants import hash_api_key
from einvoice_tools import demo
from einvoice_tools.demo import demo_invoices
from gateway.shop.accounts.admin import create_account
from gateway.shop.accounts.store import RATE_LIMITS
from tests.support import CSRF_FIELD, GATEWAY, eventually, local_settings, mails_to
from tests.support.authz_matrix import KEY_ACTORS, OPERATORS, REQUEST_FORM, SHOPPERS, Row
from tests.support.parties import (
    Chain,
    Tenant,
    chain_config,
    publish_config,
    push,
    register_tenant,
    tenant_known,
)
from tests.support.retail import delivery

PASSWORD = "macierz uprawnień 2024"
LINK = re.compile(r"http://127\.0\.0\.1:8000/i/([A-Za-z0-9_-]{43,})")
Y_STORE = "S900"  # chain Y's store-bound key speaks for this store; X's for S001
Y_SERIES = "FVY/{year}/{month:02d}/{seq:06d}"  # so that X's and Y's numbers never coincide
RENDERED = {"rendered", "mailed", "opened"}


@dataclass
class Actor:
    client: httpx.AsyncClient
    csrf: str = ""  # the account session's form token (shoppers, chain users)
    operator_csrf: str = ""  # the operator session's form token


@dataclass
class World:
    values: dict[str, str]
    actors: dict[str, Actor]
    users: dict[str, tuple[str, str]]  # account actors: (e-mail, password)
    stack: dict[str, str]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def fmt(self, template: str) -> str:
        return template.format(**self.values)


def _client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=GATEWAY, timeout=60, **kwargs)


async def _token(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    found = CSRF_FIELD.search(response.text)
    assert found, f"no form token on {path} ({response.status_code})"
    return found.group(1)


async def sign_in(email: str, password: str, landing: str) -> Actor:
    """A browser's sign-in through the login form (its anonymous form token first)."""
    client = _client()
    token = await _token(client, "/account/login")
    response = await client.post(
        "/account/login", data={"email": email, "password": password, "csrf": token}
    )
    assert response.status_code == 303 and response.headers["location"] == landing, response.text

    async def ready() -> str | None:
        page = await client.get("/me/receipts/add" if landing == "/me" else "/chain/branding")
        found = CSRF_FIELD.search(page.text) if page.status_code == 200 else None
        return found.group(1) if found else None

    csrf = await eventually(ready, timeout=30, what=f"{email}'s portal")
    return Actor(client, csrf=csrf)


async def operator_sign_in(api_key: str) -> Actor:
    client = _client()
    token = await _token(client, "/operator")
    response = await client.post("/operator/login", data={"api_key": api_key, "csrf": token})
    assert response.status_code == 303, response.text
    return Actor(client, operator_csrf=await _token(client, "/operator"))


async def new_shopper(email: str) -> None:
    from pymongo import AsyncMongoClient

    mongo = AsyncMongoClient(local_settings()["mongo_url"], tz_aware=True)
    try:
        await create_account(service_db(mongo, "gateway"), email, PASSWORD)
    finally:
        await mongo.close()


async def reset_receipt_code_budget_of_this_ip(stack: dict[str, str]) -> None:
    """The receipt-code budget per client IP (30 tries in 10 minutes) is shared by every test
    on 127.0.0.1; start this module with a clean one so that its few tries never meet it
    (test_shop_rules checks that limit)."""
    client = mongo_client(Settings(**stack))
    try:
        await service_db(client, "gateway")[RATE_LIMITS].delete_many({"purpose": "receipt-code-ip"})
    finally:
        await client.close()


async def own_series(bootstrap: str, chain: Chain, store: str, name: str, series: str) -> None:
    """`register_chain`'s chain again, under `name`, numbering in `series`."""
    config = chain_config(
        chain,
        store,
        name,
        accounting_email=f"ksiegowosc@{chain.chain_id}.test",
        invoice_series=series,
    )
    await publish_config(bootstrap, config)


async def revoked_operator(bootstrap: str) -> tuple[Actor, str]:
    """An operator signed in with a utility's API key, after the utility replaced that key
    (and the gateway refuses it on the API); the tenant's batch id for the rows."""
    old = await tenant_known(await register_tenant(bootstrap, "Trzecie Wodociągi Testowe"))
    async with _client(headers=old.auth) as api:
        invoices = demo_invoices(1, seed=3, email_domain=f"{old.tenant_id}.authz.test")
        accepted = await api.post("/api/v1/batches", json={"invoices": invoices})
        assert accepted.status_code == 202, accepted.text
        batch_id = accepted.json()["batch_id"]

        async def recorded() -> bool:
            return (await api.get(f"/api/v1/batches/{batch_id}")).status_code == 200

        await eventually(recorded, timeout=60, what="the third utility's batch")
    actor = await operator_sign_in(old.api_key)
    assert batch_id in (await actor.client.get("/operator")).text
    config = events.TenantConfig(
        tenant_id=old.tenant_id,
        name="Trzecie Wodociągi Testowe",
        kind="utility",
        api_key_sha256=[hash_api_key(secrets.token_urlsafe(24))],
    )
    await publish_config(bootstrap, config)

    async def refused() -> bool:
        async with _client(headers=old.auth) as api:
            return (await api.get(f"/api/v1/batches/{batch_id}")).status_code == 401

    await eventually(refused, timeout=30, what="the gateway to refuse the replaced key")
    return actor, batch_id


async def push_receipt(chain: Chain, number: str) -> dict[str, Any]:
    body = demo.demo_receipt(
        random.Random(uuid.uuid4().int), lines=3, number=number, issued_at=datetime.now(UTC)
    )
    response = await push(chain.chain_key, body)
    assert response.status_code == 202, response.text
    return body | response.json()["receipts"][0]


async def shopper_gets_an_invoice(
    stack: dict[str, str], shopper: Actor, chain: Chain, receipt: dict[str, Any]
) -> tuple[str, str]:
    """The shopper claims the receipt by its code and asks for an invoice for line 0 in
    the portal; returns the invoice's id and number once its PDF is ready."""
    client = mongo_client(Settings(**stack))
    try:

        async def ingested() -> dict | None:
            return await find_receipt_by_code(client, chain.chain_id, receipt["code"])

        await eventually(ingested, timeout=60, what="receipt-ingest to store the receipt")
    finally:
        await client.close()
    http = shopper.client
    claimed = await http.post(
        "/me/receipts/add", data={"code": receipt["code"], "csrf": shopper.csrf}
    )
    page = f"/me/receipts/{chain.chain_id}/{receipt['receipt_id']}"
    assert claimed.status_code == 303 and claimed.headers["location"] == page, claimed.text
    form = {k: v.format(qty_a=receipt["lines"][0]["quantity"]) for k, v in REQUEST_FORM.items()}
    asked = await http.post(page, data=form | {"name": "Kupujący Testowy", "csrf": shopper.csrf})
    assert asked.status_code == 303, asked.text[-2000:]
    invoice_id = asked.headers["location"].rsplit("/", 1)[1]

    async def downloadable() -> bool:
        shown = await http.get(f"/me/invoices/{invoice_id}")
        return shown.status_code == 200 and 'id="download"' in shown.text

    await eventually(downloadable, timeout=120, interval=1, what="the shopper's invoice PDF")
    found = await delivery(stack, chain.chain_id, invoice_id, RENDERED)
    assert found and found.get("number"), found
    return invoice_id, found["number"]


async def delivered_utility_invoice(tenant: Tenant, domain: str, run: str) -> dict[str, str]:
    """One invoice of the utility, mailed to `domain` (not the tenant's own test domain, whose
    mail test_billing_flow counts) in a series of its own; downloaded once through its link."""
    invoices = demo_invoices(1, seed=5, email_domain=domain, series=f"AUTHZ/{run}")
    async with _client(headers=tenant.auth) as api:
        accepted = await api.post("/api/v1/batches", json={"invoices": invoices})
        assert accepted.status_code == 202, accepted.text
        batch_id = accepted.json()["batch_id"]

        async def complete() -> bool:
            status = await api.get(f"/api/v1/batches/{batch_id}")
            return status.status_code == 200 and status.json()["complete"]

        await eventually(complete, timeout=180, interval=1, what="the utility batch")

        async def link() -> str | None:
            for mail in await mails_to(domain):
                if found := LINK.search(mail.get("text") or ""):
                    return found.group(1)
            return None

        token = await eventually(link, timeout=60, what="the invoice e-mail")
        details = (await api.get(f"/api/v1/batches/{batch_id}", params={"details": "true"})).json()
        (row,) = details["invoices"]
        async with _client() as customer:
            # As a person's browser: the landing page first, then the button.
            browser = {
                "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
                "Accept-Language": "pl-PL",
                "Sec-Fetch-User": "?1",
            }
            await customer.get(f"/i/{token}", headers=browser)
            downloaded = await customer.post(f"/i/{token}/download", headers=browser)
            assert downloaded.status_code == 200

        async def confirmed() -> bool:
            found = await api.get("/api/v1/confirmations", params={"batch_id": batch_id})
            return bool(found.json()["confirmations"])

        await eventually(confirmed, timeout=60, what="the download's confirmation")
    return {"batch_u": batch_id, "inv_u": row["invoice_id"], "no_u": row["number"], "token": token}


async def signed_out_copy(actor: Actor, cookie: str, logout: Callable[[], Awaitable[Any]]) -> Actor:
    """A client holding `actor`'s session cookie as it was before signing out."""
    value = actor.client.cookies.get(cookie)
    assert value, f"no {cookie} cookie"
    response = await logout()
    assert response.status_code == 303, response.text
    return Actor(_client(cookies={cookie: value}))


def _receipt(world: World, chain_id: str, store: str) -> dict[str, Any]:
    body = demo.demo_receipt(
        random.Random(uuid.uuid4().int), lines=2, store_id=store, issued_at=datetime.now(UTC)
    )
    world.values["pushed_rid"] = receipt_id_for(
        chain_id, store, body["till_id"], body["number"], datetime.fromisoformat(body["issued_at"])
    )
    return body


BODIES: dict[str, Callable[[World], Any]] = {
    "empty_batch": lambda w: {"invoices": []},
    "nothing": lambda w: {},
    "receipt_s001": lambda w: _receipt(w, w.values["x"], "S001"),
    "receipt_y_store": lambda w: _receipt(w, w.values["x"], Y_STORE),
    "receipts_mixed": lambda w: {
        "receipts": [_receipt(w, w.values["x"], "S001"), _receipt(w, w.values["x"], Y_STORE)]
    },
    "receipt_naming_x": lambda w: (
        _receipt(w, w.values["y"], Y_STORE) | {"tenant_id": w.values["x"]}
    ),
}


async def actor_for(world: World, row: Row) -> tuple[Actor, bool]:
    """The client to send `row` with, and whether it is this row's own (to close after)."""
    if row.actor in KEY_ACTORS or row.actor == "anonymous":
        headers = {}
        if row.actor in KEY_ACTORS:
            headers["Authorization"] = f"Bearer {world.fmt(KEY_ACTORS[row.actor])}"
        actor = Actor(_client(headers=headers))
        if row.csrf:  # a visitor's form token: the login page's (anonymous cookie) or operator's
            page = "/operator" if row.path.startswith("/operator") else "/account/login"
            token = await _token(actor.client, page)
            actor.csrf = actor.operator_csrf = token
        return actor, True
    if row.fresh and row.actor in OPERATORS:
        key = "{utility_key}" if row.actor == "operatorU" else "{utility2_key}"
        return await operator_sign_in(world.fmt(key)), True
    if row.fresh and row.actor in world.users:
        email, password = world.users[row.actor]
        landing = "/me" if row.actor in SHOPPERS else "/chain"
        actor = await sign_in(email, password, landing)
        if row.note == "X's form token":  # this session, another user's token
            actor.csrf = world.actors["chainX"].csrf
        return actor, True
    return world.actors[row.actor], False
