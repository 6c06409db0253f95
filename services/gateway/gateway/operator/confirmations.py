"""The operator's receipt confirmations: every recorded open (the link scanners' ones marked),
as a page and as a spreadsheet."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from einvoice.readmodels import tracking
from gateway.deps import StateDep
from gateway.operator.auth import OperatorDep
from gateway.spreadsheet import safe_cell, spreadsheet_csv
from gateway.web.forms import page

router = APIRouter(prefix="/operator", tags=["operator"], include_in_schema=False)

CONFIRMATION_COLUMNS = (
    "numer",
    "otwarto (UTC)",
    "IP",
    "host",
    "przeglądarka",
    "potwierdza odbiór",
    "powody wątpliwości",
    "invoice_id",
)


@router.get("/confirmations")
async def confirmations_page(
    request: Request, state: StateDep, tenant: OperatorDep, batch_id: str | None = None
) -> Response:
    rows = await tracking.confirmations(
        state.mongo, tenant.tenant_id, batch_id=batch_id, include_flagged=True
    )
    return page(
        request,
        state,
        None,
        "operator/confirmations.html",
        tenant=tenant,
        rows=rows,
        batch_id=batch_id,
    )


@router.get("/confirmations.csv")
async def confirmations_csv(
    state: StateDep, tenant: OperatorDep, batch_id: str | None = None
) -> Response:
    """Every recorded open (also the scanners', marked) for a spreadsheet."""
    rows = await tracking.confirmations(
        state.mongo, tenant.tenant_id, batch_id=batch_id, include_flagged=True, limit=100_000
    )
    body = spreadsheet_csv(
        CONFIRMATION_COLUMNS,
        (
            [
                safe_cell(r.get("number")),
                r["opened_at"].strftime("%Y-%m-%d %H:%M:%S"),
                safe_cell(r.get("ip")),
                safe_cell(r.get("host")),
                safe_cell(r.get("user_agent")),
                "nie" if r.get("flags") else "tak",
                safe_cell(", ".join(r.get("flags") or [])),
                safe_cell(r.get("invoice_id")),
            ]
            for r in rows
        ),
    )
    name = "potwierdzenia" + (f"-{re.sub(r'[^A-Za-z0-9._-]+', '_', batch_id)}" if batch_id else "")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Cache-Control": "no-store",
        },
    )
