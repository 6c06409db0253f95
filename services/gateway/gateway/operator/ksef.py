"""The operator's KSeF connection page (`/operator/ksef`), the shared page of `gateway.ksef`
in the operator panel's frame, and an invoice's FA(3) XML and UPO.

The tenant is always the signed-in operator's own; the form needs the form token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.deps import StateDep
from gateway.ksef import invoices, page
from gateway.operator.auth import OperatorDep, OperatorFormDep

router = APIRouter(prefix="/operator", tags=["operator"], include_in_schema=False)

FRAME = page.Frame("operator/ksef.html", "/operator/ksef")


@router.get("/ksef")
async def ksef_form(request: Request, state: StateDep, tenant: OperatorDep) -> Response:
    return page.show_saved(request, state, tenant, FRAME)


@router.post("/ksef")
async def save_ksef(request: Request, state: StateDep, tenant: OperatorFormDep) -> Response:
    return await page.submit(request, state, tenant, FRAME)


@router.get("/invoices/{invoice_id}/fa3.xml")
async def operator_fa3(
    invoice_id: str, request: Request, state: StateDep, tenant: OperatorDep
) -> Response:
    return await invoices.document_response(request, state, tenant.tenant_id, invoice_id, "fa3")


@router.get("/invoices/{invoice_id}/upo.xml")
async def operator_upo(
    invoice_id: str, request: Request, state: StateDep, tenant: OperatorDep
) -> Response:
    return await invoices.document_response(request, state, tenant.tenant_id, invoice_id, "upo")
