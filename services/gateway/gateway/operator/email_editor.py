"""The operator's e-mail template editor, /operator/email: the template in use or a saved
version, a live preview on the sample invoice, the version history and restoring a version.
The versions and the checks are `gateway.email_templates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from einvoice import events
from einvoice.emailtemplates import VARIABLES, Problem, default_template, preview
from gateway.deps import StateDep
from gateway.email_templates import TemplateBody, check, history, save, stored
from gateway.operator.auth import OperatorDep, OperatorFormDep
from gateway.state import AppState
from gateway.web.forms import page
from gateway.web.texts import language, texts

router = APIRouter(include_in_schema=False)

# Previews render on threads (a template can loop); a budget per tenant against abuse.
PREVIEW_BUDGET = (300, 60)
_KIND_TEXT = {
    "syntax": "chain_err_syntax",
    "sandbox": "chain_err_sandbox",
    "render": "chain_err_render",
    "undefined": "em_err_undefined",
    "invalid": "em_err_invalid",
}
EditorForm = Annotated[TemplateBody, Form()]


def problem_text(problem: Problem, t: dict[str, str]) -> str:
    where = t[f"em_{problem.field}"]
    if problem.line:
        where += f", {t['chain_line'].format(n=problem.line)}"
    return f"{where}: {t[_KIND_TEXT.get(problem.kind, 'chain_err_render')]}: {problem.reason}"


def _lang_query(request: Request) -> str:
    lang = request.query_params.get("lang")
    return f"?lang={language(request)}" if lang else ""


def _saved(request: Request) -> int | None:
    saved = request.query_params.get("saved", "")
    return int(saved) if saved.isdigit() and len(saved) < 10 else None


async def _editor(
    request: Request,
    state: AppState,
    tenant: events.TenantConfig,
    values: events.EmailTemplate | dict[str, str],
    *,
    problems: Sequence[Problem] = (),
    viewing: int | None = None,
    status_code: int = 200,
) -> Response:
    t = texts(request)
    saved = _saved(request)
    in_use = (tenant.email_template or default_template()).version
    if isinstance(values, events.EmailTemplate):
        values = values.model_dump()
    response = page(
        request,
        state,
        None,
        "operator/email.html",
        status_code=status_code,
        tenant=tenant,
        q=_lang_query(request),
        values=values,
        problems=[problem_text(p, t) for p in problems],
        viewing=viewing,
        saved=saved,
        in_use=max(in_use, saved or 0),
        history=await history(state, tenant.tenant_id),
        variables=VARIABLES,
    )
    # The preview is fetched from this page (connect-src) and shown in a sandboxed srcdoc frame.
    policy = response.headers["Content-Security-Policy"]
    response.headers["Content-Security-Policy"] = policy + "; connect-src 'self'"
    return response


@router.get("/operator/email")
async def editor(
    request: Request, state: StateDep, tenant: OperatorDep, version: int | None = None
) -> Response:
    """The editor, filled with the template in use or (`?version=`) a saved version. Right
    after a save (`?saved=`) that is the saved one, which this replica's copy of
    `tenant.config` may not show for a moment yet."""
    wanted = version if version is not None else _saved(request)
    shown = (
        tenant.email_template or default_template()
        if wanted is None
        else await stored(state, tenant.tenant_id, wanted)
    )
    if shown is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such version")
    return await _editor(request, state, tenant, shown, viewing=version)


@router.post("/operator/email")
async def save_from_editor(
    request: Request, state: StateDep, tenant: OperatorFormDep, form: EditorForm
) -> Response:
    template, problems = await check(tenant, form)
    if template is None or problems:
        values = form.model_dump()
        return await _editor(request, state, tenant, values, problems=problems, status_code=422)
    version = await save(state, tenant.tenant_id, template)
    query = _lang_query(request)
    query = f"{query}&saved={version}" if query else f"?saved={version}"
    return RedirectResponse(f"/operator/email{query}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/operator/email/versions/{version}/restore")
async def restore(
    version: int, request: Request, state: StateDep, tenant: OperatorFormDep
) -> Response:
    """Save an old version (or the default, 0) again as the newest."""
    old = await stored(state, tenant.tenant_id, version)
    if old is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such version")
    form = TemplateBody(**old.model_dump(exclude={"version"}))
    return await save_from_editor(request, state, tenant, form)


@router.post("/operator/email/preview")
async def preview_from_editor(
    request: Request, state: StateDep, tenant: OperatorFormDep, form: EditorForm
) -> dict[str, str]:
    """The e-mail the form's template makes of the sample invoice, or 422 with the problems."""
    if not await state.rate_limiter.hit("email-preview", tenant.tenant_id, *PREVIEW_BUDGET):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many previews; wait a minute")
    template, problems = await check(tenant, form)
    if template is None or problems:
        t = texts(request)
        found = [p.as_dict() | {"message": problem_text(p, t)} for p in problems]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"problems": found})
    composed = preview(template, tenant)
    return {"subject": composed.subject, "html": composed.html, "text": composed.text}
