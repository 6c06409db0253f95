"""The chain's KSeF connection page (`/chain/ksef`), the shared page of `gateway.ksef` in the
chain portal's frame (the NIP starts as the chain's own, the seller's), and an invoice's
FA(3) XML and UPO.

The chain is always the signed-in user's own (`ChainUserDep`); the form needs the form
token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.deps import StateDep
from gateway.ksef import invoices, page
from gateway.shop.accounts.deps import ChainUser, ChainUserDep, SignedInDep
from gateway.web.auth import SignedIn
from gateway.web.csrf import RequireCsrf

router = APIRouter(prefix="/chain", include_in_schema=False)


def _frame(user: ChainUser, signed: SignedIn) -> page.Frame:
    return page.Frame("chain/ksef.html", "/chain/ksef", signed, {"account": user.account})


@router.get("/ksef")
async def ksef_form(
    request: Request, state: StateDep, user: ChainUserDep, signed: SignedInDep
) -> Response:
    return page.show_saved(request, state, user.tenant, _frame(user, signed))


@router.post("/ksef", dependencies=[RequireCsrf])
async def save_ksef(
    request: Request, state: StateDep, user: ChainUserDep, signed: SignedInDep
) -> Response:
    return await page.submit(request, state, user.tenant, _frame(user, signed))


@router.get("/invoices/{invoice_id}/fa3.xml")
async def chain_fa3(
    invoice_id: str, request: Request, state: StateDep, user: ChainUserDep
) -> Response:
    tenant_id = user.tenant.tenant_id
    return await invoices.document_response(request, state, tenant_id, invoice_id, "fa3")


@router.get("/invoices/{invoice_id}/upo.xml")
async def chain_upo(
    invoice_id: str, request: Request, state: StateDep, user: ChainUserDep
) -> Response:
    tenant_id = user.tenant.tenant_id
    return await invoices.document_response(request, state, tenant_id, invoice_id, "upo")
