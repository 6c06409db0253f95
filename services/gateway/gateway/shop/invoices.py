"""The shopper's invoices: the list (with the claimed receipts), an invoice's page, which
follows it until its PDF is ready, and the PDF."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from einvoice.readmodels import tracking
from gateway.deps import StateDep
from gateway.shop.accounts.deps import ShopperDep, SignedInDep
from gateway.shop.claims import claims, invoice_requests
from gateway.web.auth import PageError
from gateway.web.forms import page

router = APIRouter(prefix="/me", include_in_schema=False)


class InvoiceNotFound(PageError):
    status_code = 404
    text_key = "shop_invoice_not_found"


@router.get("")
async def my_invoices(
    request: Request, state: StateDep, account: ShopperDep, signed: SignedInDep
) -> Response:
    invoices = await tracking.shopper_invoices(state.mongo, account.account_id)
    claimed = await claims(state).find({"account_id": account.account_id}).to_list(100)
    return page(
        request, state, signed, "shop/me.html", account=account, invoices=invoices, receipts=claimed
    )


@router.get("/invoices/{invoice_id}")
async def invoice_page(
    invoice_id: str, request: Request, state: StateDep, account: ShopperDep, signed: SignedInDep
) -> Response:
    invoice = await tracking.shopper_invoice(state.mongo, account.account_id, invoice_id)
    if invoice is None and not await invoice_requests(state).find_one(
        {"_id": invoice_id, "account_id": account.account_id}
    ):
        raise InvoiceNotFound  # not (yet) in the read model, and not asked for by this shopper
    response = page(
        request,
        state,
        signed,
        "shop/invoice.html",
        invoice=invoice,
        invoice_id=invoice_id,
        status_code=200 if invoice else 202,
    )
    if invoice is None or invoice["stage"] in {"requested", "issued"}:
        response.headers["Refresh"] = "2"  # the page follows the invoice until its PDF is ready
    return response


@router.get("/invoices/{invoice_id}/pdf")
async def invoice_pdf(invoice_id: str, state: StateDep, account: ShopperDep) -> Response:
    invoice = await tracking.shopper_invoice(state.mongo, account.account_id, invoice_id)
    if invoice is None or not invoice.get("s3_key"):
        return Response("not found", status_code=404, media_type="text/plain")
    pdf = await state.store.get(invoice["s3_key"])
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", invoice.get("number") or invoice_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="faktura-{safe}.pdf"',
            "Cache-Control": "no-store",
        },
    )
