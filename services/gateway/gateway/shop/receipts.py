"""The shopper's portal: add a receipt by its code (typed or scanned), pick lines and
quantities, enter the buyer, request the invoice, follow it, download it.

The gateway validates the form and turns it into `retail.invoice.requested`; receipt-ingest
decides (quantities left, the chain's window, the NIP rule) and invoice-builder issues. The
form shows those rules up front so that a shopper rarely meets a refusal.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response
from pymongo.errors import DuplicateKeyError
from stdnum.pl import nip as stdnum_nip

import gateway.shop_texts  # noqa: F401  (registers the page texts)
from einvoice import events, readmodels
from einvoice.bus import Outgoing, publish
from einvoice.mongo import service_db
from einvoice.receipts import find_receipt_by_code, receipt_key, receipt_view, receipts_collection
from gateway.accounts.deps import PageError, RequireCsrf, ShopperDep, SignedInDep
from gateway.accounts.store import Account
from gateway.accounts.views import page
from gateway.deps import ClientIpDep, StateDep
from gateway.i18n import texts
from gateway.state import AppState

router = APIRouter(prefix="/me", include_in_schema=False)

# Receipt codes carry 80 random bits; these limits make guessing hopeless anyway.
CODE_TRIES_PER_ACCOUNT = (10, 600)
CODE_TRIES_PER_IP = (30, 600)
CLAIMS = "claims"


def _claims(state: AppState) -> Any:
    return service_db(state.mongo, "gateway")[CLAIMS]


async def _claim(state: AppState, chain_id: str, receipt_id: str, account_id: str) -> str:
    """The account that owns the receipt now: the first to claim it."""
    key = receipt_key(chain_id, receipt_id)
    try:
        await _claims(state).insert_one(
            {"_id": key, "account_id": account_id, "chain_id": chain_id, "receipt_id": receipt_id}
        )
    except DuplicateKeyError:
        existing = await _claims(state).find_one({"_id": key})
        return existing["account_id"]
    return account_id


async def _my_receipt(
    state: AppState, account: Account, chain_id: str, receipt_id: str
) -> dict[str, Any] | None:
    key = receipt_key(chain_id, receipt_id)
    claim = await _claims(state).find_one({"_id": key, "account_id": account.account_id})
    if claim is None:
        return None
    doc = await receipts_collection(state.mongo).find_one({"_id": key})
    return receipt_view(doc) if doc else None


class ReceiptNotFound(PageError):
    status_code = 404
    text_key = "shop_not_found"


class InvoiceNotFound(PageError):
    status_code = 404
    text_key = "shop_invoice_not_found"


def _requests(state: AppState) -> Any:
    return service_db(state.mongo, "gateway")["shop_requests"]


async def my_receipt(
    chain_id: str, receipt_id: str, state: StateDep, account: ShopperDep
) -> dict[str, Any]:
    """A receipt this shopper claimed; anybody else's is simply not found."""
    receipt = await _my_receipt(state, account, chain_id, receipt_id)
    if receipt is None:
        raise ReceiptNotFound
    return receipt


MyReceipt = Annotated[dict[str, Any], Depends(my_receipt)]


def _redirect(url: str, request: Request) -> RedirectResponse:
    if request.query_params.get("lang") == "en":
        url += ("&" if "?" in url else "?") + "lang=en"
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


@router.get("")
async def my_invoices(
    request: Request, state: StateDep, account: ShopperDep, signed: SignedInDep
) -> Response:
    invoices = await readmodels.shopper_invoices(state.mongo, account.account_id)
    claims = await _claims(state).find({"account_id": account.account_id}).to_list(100)
    return page(
        request, state, signed, "shop_me.html", account=account, invoices=invoices, receipts=claims
    )


@router.get("/receipts/add")
async def add_receipt_form(
    request: Request, state: StateDep, account: ShopperDep, signed: SignedInDep
) -> Response:
    return page(request, state, signed, "shop_add.html", error=None, code="")


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
            "shop_add.html",
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
            "shop_add.html",
            status_code=404,
            error="shop_not_found",
            code=code,
        )
    owner = await _claim(state, receipt["chain_id"], receipt["receipt_id"], account.account_id)
    if owner != account.account_id:
        return page(
            request,
            state,
            signed,
            "shop_add.html",
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
    signed: Any,
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
        "shop_receipt.html",
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
    picks, errors = _picks(form, receipt, t)
    buyer, kind, buyer_errors = _buyer(form, receipt, account, t)
    errors += buyer_errors
    if errors:
        fields = {k: str(v) for k, v in form.items()} | {"picked": _picked(form)}
        return _receipt_form(request, state, signed, account, receipt, fields, errors, 422)
    await state.accounts.remember_buyer(account.account_id, buyer | {"kind": kind})
    invoice_id = str(uuid.uuid4())
    payload = events.RetailInvoiceRequested(
        invoice_id=invoice_id,
        receipt_id=receipt_id,
        shopper_id=account.account_id,
        shopper_email=account.email,
        buyer_kind=kind,
        buyer=_party(buyer, account.email),
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
    await _requests(state).insert_one({"_id": invoice_id, "account_id": account.account_id})
    await publish(state.producer, [Outgoing.of(event, receipt_id)], "gateway")
    return _redirect(f"/me/invoices/{invoice_id}", request)


def _picked(form: Any) -> dict[str, str]:
    return {
        k.removeprefix("qty_"): str(v)
        for k, v in form.items()
        if k.startswith("qty_") and form.get("pick_" + k.removeprefix("qty_"))
    }


def _picks(form: Any, receipt: dict[str, Any], t: dict[str, str]) -> tuple[list, list[str]]:
    picks, errors = [], []
    for line in receipt["lines"]:
        index = line["index"]
        if not form.get(f"pick_{index}"):
            continue
        try:
            quantity = Decimal(str(form.get(f"qty_{index}", "")).replace(",", "."))
        except InvalidOperation:
            quantity = Decimal(-1)
        if not quantity.is_finite() or quantity <= 0 or quantity.as_tuple().exponent < -4:
            errors.append(t["shop_err_qty"].format(n=index + 1))
        elif quantity > Decimal(line["remaining"]):
            errors.append(t["shop_err_too_much"].format(n=index + 1, left=line["remaining"]))
        else:
            picks.append(events.Pick(line=index, quantity=quantity))
    if not picks and not errors:
        errors.append(t["shop_err_no_lines"])
    return picks, errors


_POSTAL = re.compile(r"^\d{2}-\d{3}$")


def _buyer(
    form: Any, receipt: dict[str, Any], account: Account, t: dict[str, str]
) -> tuple[dict[str, str], str, list[str]]:
    get = lambda name: str(form.get(name, "")).strip()[:200]  # noqa: E731
    kind = "company" if get("kind") == "company" or receipt.get("buyer_nip") else "person"
    buyer = {
        "name": get("name"),
        "street": get("street"),
        "postal_code": get("postal_code"),
        "city": get("city"),
        "nip": "",
    }
    errors = []
    if not all(buyer[k] for k in ("name", "street", "postal_code", "city")):
        errors.append(t["shop_err_required"])
    if kind == "company":
        nip = receipt.get("buyer_nip") or get("nip")
        if not stdnum_nip.is_valid(nip or ""):
            errors.append(t["shop_err_nip"])
        elif not receipt.get("buyer_nip"):
            errors.append(t["shop_no_nip_company"])
        buyer["nip"] = stdnum_nip.compact(nip) if nip else ""
    return buyer, kind, errors


def _party(buyer: dict[str, str], email: str) -> events.Party:
    return events.Party(
        name=buyer["name"],
        nip=buyer["nip"] or None,
        email=email,
        address=events.Address(
            street=buyer["street"], postal_code=buyer["postal_code"], city=buyer["city"]
        ),
    )


@router.get("/invoices/{invoice_id}")
async def invoice_page(
    invoice_id: str, request: Request, state: StateDep, account: ShopperDep, signed: SignedInDep
) -> Response:
    invoice = await readmodels.shopper_invoice(state.mongo, account.account_id, invoice_id)
    if invoice is None and not await _requests(state).find_one(
        {"_id": invoice_id, "account_id": account.account_id}
    ):
        raise InvoiceNotFound  # not (yet) in the read model, and not asked for by this shopper
    response = page(
        request,
        state,
        signed,
        "shop_invoice.html",
        invoice=invoice,
        invoice_id=invoice_id,
        status_code=200 if invoice else 202,
    )
    if invoice is None or invoice["stage"] in {"requested", "issued"}:
        response.headers["Refresh"] = "2"  # the page follows the invoice until its PDF is ready
    return response


@router.get("/invoices/{invoice_id}/pdf")
async def invoice_pdf(invoice_id: str, state: StateDep, account: ShopperDep) -> Response:
    invoice = await readmodels.shopper_invoice(state.mongo, account.account_id, invoice_id)
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
