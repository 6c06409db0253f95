"""The chain portal's invoice list: every invoice issued for the chain's customers, with
filters (KSeF's state too), a CSV export and the PDFs (the FA(3) XML and UPO: `ksef.py`).

The chain is always the signed-in user's own (`ChainUserDep`): nothing here takes a tenant
from the URL or the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from einvoice import events
from einvoice.readmodels import tracking
from gateway.deps import StateDep
from gateway.ksef.invoices import (
    KSEF_STATUSES,
    ksef_by_invoice,
    ksef_filter,
    ksef_of,
    ksef_shown,
    matching,
)
from gateway.shop.accounts.deps import ChainUserDep, SignedInDep
from gateway.spreadsheet import decimal_comma, safe_cell, spreadsheet_csv
from gateway.state import AppState
from gateway.web.forms import page

router = APIRouter(prefix="/chain", include_in_schema=False)

STATUSES = ("requested", "issued", "rendered", "mailed", "opened", "failed")
LIST_LIMIT = 1000
CSV_LIMIT = 100_000
_STORE = re.compile(r"^[\w.\-/ ]{1,64}$")


@dataclass(frozen=True)
class Filters:
    issued_from: str | None = None
    issued_to: str | None = None
    store_id: str | None = None
    nip: str | None = None
    status: str | None = None
    ksef: str | None = None

    @classmethod
    def parse(cls, params: QueryParams) -> Filters:
        """From the query string; what does not parse is dropped (never an error page)."""

        def day(name: str) -> str | None:
            value = str(params.get(name) or "").strip()
            try:
                return date.fromisoformat(value).isoformat() if value else None
            except ValueError:
                return None

        store = str(params.get("store") or "").strip()
        nip = re.sub(r"[^0-9]", "", str(params.get("nip") or "")[:32])
        status = str(params.get("status") or "")
        return cls(
            issued_from=day("from"),
            issued_to=day("to"),
            store_id=store if _STORE.match(store) else None,
            nip=nip[:10] or None,
            status=status if status in STATUSES else None,
            ksef=ksef_filter(str(params.get("ksef") or "")),
        )

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for the CSV link and the form's values)."""
        pairs = {
            "from": self.issued_from,
            "to": self.issued_to,
            "store": self.store_id,
            "nip": self.nip,
            "status": self.status,
            "ksef": self.ksef,
        }
        return {k: v for k, v in pairs.items() if v}


async def _invoices(
    state: AppState, tenant_id: str, filters: Filters, limit: int
) -> list[tracking.Delivery]:
    """The read model filters all but KSeF's state, which is applied to what it returns."""
    rows = await tracking.chain_invoices(
        state.mongo,
        tenant_id,
        issued_from=filters.issued_from,
        issued_to=filters.issued_to,
        store_id=filters.store_id,
        nip=filters.nip,
        stage=filters.status,
        limit=limit,
    )
    return matching(rows, filters.ksef)


# --- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "numer",
    "data wystawienia",
    "sklep",
    "nabywca",
    "NIP",
    "brutto",
    "status",
    "invoice_id",
    "status KSeF",
    "numer KSeF",
)


def csv_bytes(rows: list[tracking.Delivery]) -> bytes:
    """The chain's invoices as a spreadsheet (see `gateway.spreadsheet`)."""
    return spreadsheet_csv(
        CSV_COLUMNS,
        (
            [
                safe_cell(row.get("number")),
                safe_cell(row.get("issue_date")),
                safe_cell(row.get("store_id")),
                safe_cell(row.get("buyer_name")),
                safe_cell(row.get("buyer_nip")),
                decimal_comma(row.get("total_gross")),
                safe_cell(row.get("stage")),
                safe_cell(row["invoice_id"]),
                safe_cell(ksef.status),
                safe_cell(ksef.number),
            ]
            for row in rows
            for ksef in (ksef_of(row),)
        ),
    )


def _safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value)[:80] or "chain"


# --- the list, the export, the PDFs -------------------------------------------------------


def _stores(tenant: events.TenantConfig, rows: list[tracking.Delivery]) -> list[str]:
    known = {k.store_id for k in tenant.pos_keys if k.store_id}
    known |= {store for r in rows if (store := r.get("store_id"))}
    return sorted(known)


@router.get("")
async def chain_invoices(
    request: Request, state: StateDep, user: ChainUserDep, signed: SignedInDep
) -> Response:
    filters = Filters.parse(request.query_params)
    rows = await _invoices(state, user.tenant.tenant_id, filters, LIST_LIMIT)
    ksef_rows = ksef_by_invoice(rows)
    return page(
        request,
        state,
        signed,
        "chain/invoices.html",
        account=user.account,
        tenant=user.tenant,
        invoices=rows,
        filters=filters,
        statuses=STATUSES,
        ksef_statuses=KSEF_STATUSES,
        ksef_rows=ksef_rows,
        # KSeF's filter and column once the chain is connected or an invoice was bound for it.
        show_ksef=ksef_shown(user.tenant, (k.status for k in ksef_rows.values()))
        or filters.ksef is not None,
        stores=_stores(user.tenant, rows),
        csv_query=urlencode(filters.query()),
        truncated=len(rows) >= LIST_LIMIT,
    )


@router.get("/invoices.csv")
async def chain_invoices_csv(request: Request, state: StateDep, user: ChainUserDep) -> Response:
    filters = Filters.parse(request.query_params)
    rows = await _invoices(state, user.tenant.tenant_id, filters, CSV_LIMIT)
    today = datetime.now(UTC).date().isoformat()
    name = f"faktury-{_safe_name(user.tenant.tenant_id)}-{today}.csv"
    return Response(
        csv_bytes(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/invoices/{invoice_id}/pdf")
async def chain_invoice_pdf(invoice_id: str, state: StateDep, user: ChainUserDep) -> Response:
    tenant_id = user.tenant.tenant_id
    found = None
    if 0 < len(invoice_id) <= 128:
        found = await tracking.delivery(state.mongo, tenant_id, invoice_id)
    key = (found.get("s3_key") if found else None) or ""
    # The delivery id is "<tenant>/<invoice>", and the object lives under the tenant's prefix.
    if not found or found["tenant_id"] != tenant_id or not key.startswith(f"{tenant_id}/"):
        return Response("not found", status_code=404, media_type="text/plain")
    pdf = await state.store.get(key)
    safe = _safe_name(found.get("number") or invoice_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="faktura-{safe}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
