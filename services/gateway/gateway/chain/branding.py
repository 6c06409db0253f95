"""The chain portal's invoice layout page: colours, logo and the chain's own HTML template,
checked on a sample invoice (`layout.py`), previewed as a PDF, and published as the chain's
`TenantConfig` on the compacted `tenant.config` topic, where pdf-renderer (and this gateway)
pick it up.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from einvoice import events
from einvoice.emailtemplates import short_reason
from gateway.chain.layout import (
    LOGO_MAX_BYTES,
    TEMPLATE_MAX_CHARS,
    TemplateProblem,
    check_layout,
    normalise_template,
    read_logo,
)
from gateway.deps import StateDep
from gateway.shop.accounts.deps import ChainUser, ChainUserDep, SignedInDep
from gateway.shop.accounts.views import notice
from gateway.state import AppState
from gateway.tenant_settings import CONFIG_MAX_BYTES
from gateway.web.auth import SignedIn
from gateway.web.csrf import RequireCsrf
from gateway.web.forms import page
from gateway.web.texts import texts
from invoice_pdf.samples import sample_invoice

router = APIRouter(prefix="/chain", include_in_schema=False)

# Layout checks and previews render PDFs on this process's threads: one at a time (xhtml2pdf
# and reportlab keep module-level state), and a budget per account against CPU abuse.
RENDER_BUDGET = (60, 600)
_render_slot = asyncio.Semaphore(1)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


async def _render(
    state: AppState, account_id: str, invoice: events.InvoiceIssued, branding: events.Branding
) -> tuple[bytes | None, TemplateProblem | None] | None:
    """`check_layout` off the event loop, one at a time; None when over the budget."""
    if not await state.rate_limiter.hit("chain-layout", account_id, *RENDER_BUDGET):
        return None
    async with _render_slot:
        return await asyncio.to_thread(check_layout, invoice, branding)


def _over_budget(request: Request, state: AppState, signed: SignedIn) -> Response:
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
    state: AppState,
    user: ChainUser,
    signed: SignedIn,
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
        "chain/branding.html",
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
    request: Request, state: AppState, user: ChainUser, signed: SignedIn
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
