"""The retail chain's portal: every invoice issued for the chain's customers (filters, CSV
export, PDFs) and the chain's invoice layout (colours, logo, its own HTML template).

The chain is always the signed-in user's own (`ChainUserDep`): nothing here takes a tenant
from the URL or the query. Layout changes are validated by rendering a sample retail invoice
in the renderer's own sandbox, then published as the chain's `TenantConfig` on the compacted
`tenant.config` topic; pdf-renderer (and this gateway) pick them up from there.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

import gateway.shop_texts  # noqa: F401  (registers the page texts)
from einvoice import events, readmodels
from einvoice.emailtemplates import short_reason, template_line
from einvoice.samples import sample_invoice
from gateway.accounts.deps import ChainUser, ChainUserDep, RequireCsrf, SignedInDep
from gateway.accounts.views import notice, page
from gateway.deps import StateDep
from gateway.i18n import texts
from gateway.spreadsheet import decimal_comma, safe_cell, spreadsheet_csv
from pdf_renderer.render import render_invoice_html, render_invoice_pdf

router = APIRouter(prefix="/chain", include_in_schema=False)

STATUSES = ("requested", "issued", "rendered", "mailed", "opened", "failed")
LIST_LIMIT = 1000
CSV_LIMIT = 100_000
LOGO_MAX_BYTES = 256 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEMPLATE_MAX_CHARS = 200_000
# The producer's max_request_size is 1 MiB; keep the whole tenant record well below it.
CONFIG_MAX_BYTES = 900_000
# Layout checks and previews render PDFs on this process's threads: one at a time (xhtml2pdf
# and reportlab keep module-level state), and a budget per account against CPU abuse.
RENDER_BUDGET = (60, 600)
_render_slot = asyncio.Semaphore(1)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_STORE = re.compile(r"^[\w.\-/ ]{1,64}$")


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    issued_from: str | None = None
    issued_to: str | None = None
    store_id: str | None = None
    nip: str | None = None
    status: str | None = None

    @classmethod
    def parse(cls, params: Any) -> Filters:
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
        )

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for the CSV link and the form's values)."""
        pairs = {
            "from": self.issued_from,
            "to": self.issued_to,
            "store": self.store_id,
            "nip": self.nip,
            "status": self.status,
        }
        return {k: v for k, v in pairs.items() if v}


async def _invoices(state: Any, tenant_id: str, filters: Filters, limit: int) -> list[dict]:
    return await readmodels.chain_invoices(
        state.mongo,
        tenant_id,
        issued_from=filters.issued_from,
        issued_to=filters.issued_to,
        store_id=filters.store_id,
        nip=filters.nip,
        stage=filters.status,
        limit=limit,
    )


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
)


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
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
                safe_cell(row.get("invoice_id")),
            ]
            for row in rows
        ),
    )


def _safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value)[:80] or "chain"


# --- the invoice list -----------------------------------------------------------------------


def _stores(tenant: events.TenantConfig, rows: list[dict]) -> list[str]:
    known = {k.store_id for k in tenant.pos_keys if k.store_id}
    known |= {r["store_id"] for r in rows if r.get("store_id")}
    return sorted(known)


@router.get("")
async def chain_invoices(
    request: Request, state: StateDep, user: ChainUserDep, signed: SignedInDep
) -> Response:
    filters = Filters.parse(request.query_params)
    rows = await _invoices(state, user.tenant.tenant_id, filters, LIST_LIMIT)
    return page(
        request,
        state,
        signed,
        "chain_invoices.html",
        account=user.account,
        tenant=user.tenant,
        invoices=rows,
        filters=filters,
        statuses=STATUSES,
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
        found = await readmodels.delivery(state.mongo, tenant_id, invoice_id)
    key = (found or {}).get("s3_key") or ""
    # The delivery id is "<tenant>/<invoice>", and the object lives under the tenant's prefix.
    if not found or found.get("tenant_id") != tenant_id or not key.startswith(f"{tenant_id}/"):
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


# --- the layout: validation -----------------------------------------------------------------


@dataclass(frozen=True)
class TemplateProblem:
    """Why a layout was refused: `kind` is syntax, sandbox, render or pdf."""

    kind: str
    line: int | None
    message: str


def check_layout(
    invoice: events.InvoiceIssued, branding: events.Branding
) -> tuple[bytes | None, TemplateProblem | None]:
    """Render `invoice` with `branding` exactly as pdf-renderer would: the PDF, or why not.

    CPU-bound (xhtml2pdf): call it in a thread."""
    template = branding.invoice_template
    data = branding.model_dump()
    try:
        render_invoice_html(invoice, template_html=template, branding=data)
    except TemplateSyntaxError as exc:
        return None, TemplateProblem("syntax", exc.lineno, short_reason(exc.message or str(exc)))
    except SecurityError as exc:
        return None, TemplateProblem("sandbox", template_line(exc), short_reason(str(exc)))
    except Exception as exc:  # any failure of a tenant template is a refusal
        reason = f"{type(exc).__name__}: {exc}"
        return None, TemplateProblem("render", template_line(exc), short_reason(reason))
    try:
        pdf = render_invoice_pdf(invoice, template_html=template, branding=data)
    except Exception as exc:  # xhtml2pdf fails in many ways
        return None, TemplateProblem("pdf", None, short_reason(f"{type(exc).__name__}: {exc}"))
    return pdf, None


def read_logo(content: bytes) -> tuple[str | None, str | None]:
    """The logo as base64, or the text key of why it is refused."""
    if len(content) > LOGO_MAX_BYTES:
        return None, "chain_err_logo_size"
    if not content.startswith(PNG_SIGNATURE) or content[12:16] != b"IHDR":
        return None, "chain_err_logo_png"
    return base64.b64encode(content).decode("ascii"), None


def normalise_template(text: str) -> str | None:
    """Browsers send textarea lines with CRLF; an empty template means the default one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.strip() else None


# --- the layout: pages ----------------------------------------------------------------------


async def _render(
    state: Any, account_id: str, invoice: events.InvoiceIssued, branding: events.Branding
) -> tuple[bytes | None, TemplateProblem | None] | None:
    """`check_layout` off the event loop, one at a time; None when over the budget."""
    if not await state.rate_limiter.hit("chain-layout", account_id, *RENDER_BUDGET):
        return None
    async with _render_slot:
        return await asyncio.to_thread(check_layout, invoice, branding)


def _over_budget(request: Request, state: Any, signed: Any) -> Response:
    minutes = max(1, state.rate_limiter.retry_after(RENDER_BUDGET[1]) // 60)
    response = notice(
        request,
        state,
        signed,
        "acc_limited_title",
        "acc_limited",
        status_code=429,
        minutes=minutes,
        link=request.url.path.removesuffix("/preview"),
        link_text="chain_branding",
    )
    response.headers["Retry-After"] = str(RENDER_BUDGET[1])
    return response


def _current(tenant: events.TenantConfig) -> events.Branding:
    return tenant.branding or events.Branding()


async def _branding_from_form(
    request: Request, current: events.Branding
) -> tuple[dict[str, Any], events.Branding | None, list[str]]:
    """The submitted values (to show again), the branding they make, and the errors."""
    form = await request.form()
    t = texts(request)
    errors: list[str] = []
    primary = str(form.get("primary_color") or "").strip()[:16]
    accent = str(form.get("accent_color") or "").strip()[:16]
    for value in (primary, accent):
        if not _COLOR.match(value):
            errors.append(t["chain_err_color"].format(value=value or "—"))
    template_text = str(form.get("invoice_template") or "")
    template = normalise_template(template_text)
    if template and len(template) > TEMPLATE_MAX_CHARS:
        errors.append(t["chain_err_template_long"].format(n=TEMPLATE_MAX_CHARS))
    logo = None if form.get("remove_logo") else current.logo_png_base64
    upload = form.get("logo")
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read(LOGO_MAX_BYTES + 1)
        if content:
            logo, error = read_logo(content)
            if error:
                errors.append(t[error])
    values = {
        "primary_color": primary,
        "accent_color": accent,
        "invoice_template": template or "",
        "logo_png_base64": logo,
    }
    if errors:
        return values, None, errors
    try:
        branding = events.Branding(
            primary_color=primary,
            accent_color=accent,
            logo_png_base64=logo,
            invoice_template=template,
        )
    except ValidationError as exc:
        return values, None, [short_reason(str(exc))]
    return values, branding, []


def _problem_text(problem: TemplateProblem, t: dict[str, str]) -> str:
    where = f" ({t['chain_line'].format(n=problem.line)})" if problem.line else ""
    return f"{t['chain_err_' + problem.kind]}{where}: {problem.message}"


def _branding_page(
    request: Request,
    state: Any,
    user: Any,
    signed: Any,
    values: dict[str, Any],
    *,
    errors: list[str] | None = None,
    problem: TemplateProblem | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        state,
        signed,
        "chain_branding.html",
        status_code=status_code,
        account=user.account,
        tenant=user.tenant,
        values=values,
        errors=errors or [],
        problem=problem,
        problem_text=_problem_text(problem, texts(request)) if problem else None,
        saved=saved,
    )


@router.get("/branding")
async def branding_form(
    request: Request, state: StateDep, user: ChainUserDep, signed: SignedInDep
) -> Response:
    current = _current(user.tenant)
    values = current.model_dump() | {"invoice_template": current.invoice_template or ""}
    return _branding_page(request, state, user, signed, values)


async def _rendered_branding(
    request: Request, state: StateDep, user: ChainUser, signed: Any
) -> Response | tuple[dict[str, Any], events.Branding, bytes]:
    """The form's branding rendered on the sample invoice, or the page refusing it."""
    values, branding, errors = await _branding_from_form(request, _current(user.tenant))
    if branding is None:
        return _branding_page(request, state, user, signed, values, errors=errors, status_code=422)
    checked = await _render(state, user.account.account_id, sample_invoice(user.tenant), branding)
    if checked is None:
        return _over_budget(request, state, signed)
    pdf, problem = checked
    if problem or pdf is None:
        return _branding_page(
            request, state, user, signed, values, problem=problem, status_code=422
        )
    return values, branding, pdf


@router.post("/branding", dependencies=[RequireCsrf])
async def save_branding(
    request: Request, state: StateDep, user: ChainUserDep, signed: SignedInDep
) -> Response:
    rendered = await _rendered_branding(request, state, user, signed)
    if isinstance(rendered, Response):
        return rendered
    values, branding, _ = rendered
    config = user.tenant.model_copy(update={"branding": branding})
    if len(config.model_dump_json()) > CONFIG_MAX_BYTES:
        error = texts(request)["chain_err_too_big"]
        return _branding_page(request, state, user, signed, values, errors=[error], status_code=422)
    await state.tenants.update(state.producer, config.tenant_id, branding=branding)
    return _branding_page(request, state, user, signed, values, saved=True)


@router.post("/branding/preview", dependencies=[RequireCsrf])
async def preview_branding(
    request: Request, state: StateDep, user: ChainUserDep, signed: SignedInDep
) -> Response:
    rendered = await _rendered_branding(request, state, user, signed)
    if isinstance(rendered, Response):
        return rendered
    return Response(
        rendered[2],
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'inline; filename="podglad-faktury.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
