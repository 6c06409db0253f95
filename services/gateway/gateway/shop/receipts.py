"""The shopper's receipts: add one by its code (typed or scanned), pick lines and quantities,
enter the buyer and request the invoice (`invoices.py` follows it).

The gateway validates the form and turns it into `retail.invoice.requested`; receipt-ingest
decides (quantities left, the chain's window, the NIP rule) and invoice-builder issues. The
form shows those rules up front so that a shopper rarely meets a refusal.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response

from einvoice import events
from einvoice.bus import Outgoing, publish
from einvoice.readmodels.receipts import find_receipt_by_code
from gateway.deps import ClientIpDep, StateDep
from gateway.shop.accounts.deps import ShopperDep, SignedInDep
from gateway.shop.accounts.store import Account
from gateway.shop.claims import MyReceipt, claim, invoice_requests
from gateway.shop.invoice_form import buyer_party, picked_quantities, read_buyer, read_picks
from gateway.state import AppState
from gateway.web.auth import SignedIn
from gateway.web.csrf import RequireCsrf
from gateway.web.forms import page
from gateway.web.texts import texts

router = APIRouter(prefix="/me", include_in_schema=False)

# Receipt codes carry 80 random bits; these limits make guessing hopeless anyway.
CODE_TRIES_PER_ACCOUNT = (10, 600)
CODE_TRIES_PER_IP = (30, 600)


def _redirect(url: str, request: Request) -> RedirectResponse:
    if request.query_params.get("lang") == "en":
        url += ("&" if "?" in url else "?") + "lang=en"
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/receipts/add")
async def add_receipt_form(
    request: Request, state: StateDep, account: ShopperDep, signed: SignedInDep
) -> Response:
    return page(request, state, signed, "shop/add.html", error=None, code="")


@router.post("/receipts/add", dependencies=[RequireCsrf])
async def add_receipt(
    request: Request, state: StateDep, account: ShopperDep, signed: SignedInDep, ip: ClientIpDep
) -> Response:
    code = str((await request.form()).get("code", ""))[:64]
    limiter = state.rate_limiter
    allowed = await limiter.hit("receipt-code", account.account_id, *CODE_TRIES_PER_ACCOUNT)
    allowed = allowed and await limiter.hit("receipt-code-ip", ip, *CODE_TRIES_PER_IP)
    if not allowed:
        return page(
            request,
            state,
            signed,
            "shop/add.html",
            status_code=429,
            error="shop_too_many",
            code=code,
        )
    receipt = await find_receipt_by_code(state.mongo, None, code)
    if receipt is None:
        return page(
            request,
            state,
            signed,
            "shop/add.html",
            status_code=404,
            error="shop_not_found",
            code=code,
        )
    owner = await claim(state, receipt["chain_id"], receipt["receipt_id"], account.account_id)
    if owner != account.account_id:
        return page(
            request,
            state,
            signed,
            "shop/add.html",
            status_code=409,
            error="shop_claimed_elsewhere",
            code=code,
        )
    return _redirect(f"/me/receipts/{receipt['chain_id']}/{receipt['receipt_id']}", request)


@router.get("/receipts/{chain_id}/{receipt_id}")
async def receipt_page(
    chain_id: str,
    receipt_id: str,
    request: Request,
    state: StateDep,
    account: ShopperDep,
    signed: SignedInDep,
    receipt: MyReceipt,
) -> Response:
    return _receipt_form(request, state, signed, account, receipt, form=None, errors=[])


def _receipt_form(
    request: Request,
    state: AppState,
    signed: SignedIn,
    account: Account,
    receipt: dict[str, Any],
    form: dict[str, Any] | None,
    errors: list[str],
    status_code: int = 200,
) -> Response:
    chain = state.tenants.get(receipt["chain_id"])
    buyer = form or dict(account.profile)
    if receipt.get("buyer_nip"):
        buyer |= {"kind": "company", "nip": receipt["buyer_nip"]}
    return page(
        request,
        state,
        signed,
        "shop/receipt.html",
        status_code=status_code,
        receipt=receipt,
        chain=chain,
        buyer=buyer,
        errors=errors,
        picked=(form or {}).get("picked", {}),
    )


@router.post("/receipts/{chain_id}/{receipt_id}", dependencies=[RequireCsrf])
async def request_invoice(
    chain_id: str,
    receipt_id: str,
    request: Request,
    state: StateDep,
    account: ShopperDep,
    signed: SignedInDep,
    receipt: MyReceipt,
) -> Response:
    form = await request.form()
    t = texts(request)
    picks, errors = read_picks(form, receipt, t)
    buyer, kind, buyer_errors = read_buyer(form, receipt, account, t)
    errors += buyer_errors
    if errors:
        fields = {k: str(v) for k, v in form.items()} | {"picked": picked_quantities(form)}
        return _receipt_form(request, state, signed, account, receipt, fields, errors, 422)
    await state.accounts.remember_buyer(account.account_id, buyer | {"kind": kind})
    invoice_id = str(uuid.uuid4())
    payload = events.RetailInvoiceRequested(
        invoice_id=invoice_id,
        receipt_id=receipt_id,
        shopper_id=account.account_id,
        shopper_email=account.email,
        buyer_kind=kind,
        buyer=buyer_party(buyer, account.email),
        picks=picks,
    )
    event = events.envelope(
        events.RETAIL_REQUESTED,
        payload,
        tenant_id=chain_id,
        correlation_id=receipt_id,
        lane=events.INTERACTIVE,  # the shopper waits at the phone
    )
    # Remembered so the shopper's invoice page can wait for it (and nobody else's).
    await invoice_requests(state).insert_one({"_id": invoice_id, "account_id": account.account_id})
    await publish(state.producer, [Outgoing.of(event, receipt_id)], "gateway")
    return _redirect(f"/me/invoices/{invoice_id}", request)
