"""The end-to-end tests' own fixtures (the stack, the services and the parties are in
tests/conftest.py)."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import pytest

from tests.support import eventually
from tests.support.authz_world import (
    PASSWORD,
    Y_SERIES,
    Y_STORE,
    World,
    delivered_utility_invoice,
    new_shopper,
    operator_sign_in,
    own_series,
    push_receipt,
    reset_receipt_code_budget_of_this_ip,
    revoked_operator,
    shopper_gets_an_invoice,
    sign_in,
    signed_out_copy,
)
from tests.support.parties import (
    Tenant,
    chain_known,
    register_chain,
    register_tenant,
    tenant_known,
)


@pytest.fixture(scope="module")
async def world(services: bool, stack: dict[str, str], tenant: Tenant, chain_user) -> World:
    """The world of the authorization matrix (tests/support/authz_matrix.py), once per
    module: chains X and Y, one user each; shoppers A and B (verified, signed in through
    /account/login, one cookie jar each); A claimed a receipt of X and has an invoice for
    it, B one of Y; the utility `tenant` has a delivered (and once downloaded) invoice with
    its link from maildev; a second utility tenant; operator sessions of both utilities;
    signed-out copies of a shopper's and an operator's session, and an operator signed in
    with a key its tenant has since replaced.

    The other party's invoice and receipt numbers are made distinct (chain Y numbers its
    invoices in its own series, receipts get unique numbers), so "does not show" is
    meaningful."""
    bootstrap = stack["kafka_bootstrap"]
    run = uuid.uuid4().hex[:8]
    await reset_receipt_code_budget_of_this_ip(stack)
    x, y, utility2 = await asyncio.gather(
        register_chain(bootstrap, f"ksiegowosc@x-{run}.authz.test"),
        register_chain(bootstrap, f"ksiegowosc@y-{run}.authz.test", store=Y_STORE),
        register_tenant(bootstrap, "Druga Gazownia Testowa"),
    )
    await own_series(bootstrap, y, Y_STORE, f"Sieć Y {run}", Y_SERIES)
    await asyncio.gather(chain_known(x), chain_known(y), tenant_known(utility2))
    ux, uy = await chain_user(x.chain_id), await chain_user(y.chain_id)
    email_a, email_b = f"a@{run}.shoppers.authz.test", f"b@{run}.shoppers.authz.test"
    await asyncio.gather(new_shopper(email_a), new_shopper(email_b))
    users = {
        "shopperA": (email_a, PASSWORD),
        "shopperB": (email_b, PASSWORD),
        "chainX": (ux.email, ux.password),
        "chainY": (uy.email, uy.password),
    }
    actors = dict(
        zip(
            users,
            await asyncio.gather(
                sign_in(email_a, PASSWORD, "/me"),
                sign_in(email_b, PASSWORD, "/me"),
                sign_in(ux.email, ux.password, "/chain"),
                sign_in(uy.email, uy.password, "/chain"),
            ),
            strict=True,
        )
    )

    async def y_renamed() -> bool:
        return f"Sieć Y {run}" in (await actors["chainY"].client.get("/chain")).text

    await eventually(y_renamed, timeout=30, what="chain Y's own series to be known")

    ra, rb = await asyncio.gather(push_receipt(x, f"PA-{run}"), push_receipt(y, f"PB-{run}"))
    (inv_a, no_a), (inv_b, no_b), utility = await asyncio.gather(
        shopper_gets_an_invoice(stack, actors["shopperA"], x, ra),
        shopper_gets_an_invoice(stack, actors["shopperB"], y, rb),
        delivered_utility_invoice(tenant, f"u-{run}.authz.test", run),
    )
    assert no_a != no_b and no_b.startswith("FVY/"), (no_a, no_b)

    actors["operatorU"] = await operator_sign_in(tenant.api_key)
    actors["operatorU2"] = await operator_sign_in(utility2.api_key)
    gone = await operator_sign_in(tenant.api_key)
    actors["operatorU-loggedout"] = await signed_out_copy(
        gone,
        "einvoice_session",
        lambda: gone.client.post("/operator/logout", data={"csrf": gone.operator_csrf}),
    )
    actors["operatorU3-keyrevoked"], batch_u3 = await revoked_operator(bootstrap)
    again = await sign_in(email_a, PASSWORD, "/me")
    actors["shopperA-loggedout"] = await signed_out_copy(
        again,
        "einvoice_account",
        lambda: again.client.post("/account/logout", data={"csrf": again.csrf}),
    )
    values = {
        "x": x.chain_id,
        "y": y.chain_id,
        "pos_x": x.chain_key,
        "pos_x_store": x.store_key,
        "pos_y": y.chain_key,
        "utility_key": tenant.api_key,
        "utility2_key": utility2.api_key,
        "code_a": ra["code"],
        "rcpt_a": ra["receipt_id"],
        "rcpt_a8": ra["receipt_id"][:8],
        "rno_a": ra["number"],
        "qty_a": ra["lines"][0]["quantity"],
        "rcpt_b": rb["receipt_id"],
        "rcpt_b8": rb["receipt_id"][:8],
        "rno_b": rb["number"],
        "inv_a": inv_a,
        "no_a": no_a,
        "inv_b": inv_b,
        "no_b": no_b,
        "fake_token": secrets.token_urlsafe(32),
        "fake_code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ",
        "batch_u3": batch_u3,
    } | utility
    created = World(values, actors, users, stack)
    created.clients = [a.client for a in actors.values()] + [gone.client, again.client]
    yield created
    for client in created.clients:
        await client.aclose()
