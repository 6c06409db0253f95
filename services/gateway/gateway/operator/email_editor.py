"""The tenant's invoice e-mail (subject, HTML and plain-text body): an editor in the operator
panel and an API for billing systems.

A template is checked (`einvoice.emailtemplates.check`: syntax, sandbox, unknown variables,
rendering the sample invoice) before it is kept. Every save is a new version in the
gateway's database, and the tenant's `TenantConfig` is published with it on `tenant.config`,
where the mailer picks it up; each `mail.sent` records the version it was composed with.
Restoring an old version saves it again as a new one, so versions only ever grow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

import gateway.shop_texts  # noqa: F401  (registers the template error texts it shares)
from einvoice import events
from einvoice.emailtemplates import VARIABLES, Problem, checked, default_template, preview
from einvoice.mongo import service_db
from gateway.chain import CONFIG_MAX_BYTES
from gateway.deps import StateDep, TenantDep
from gateway.i18n import language, texts
from gateway.operator import OperatorDep, check_csrf, csrf_token
from gateway.pages import render
from gateway.state import AppState

router = APIRouter()

COLLECTION = "email_templates"
HISTORY_LIMIT = 50
SAVE_ATTEMPTS = 20
FIELD_MAX_CHARS = 100_000
# Previews render on threads (a template can loop); a budget per tenant against abuse.
PREVIEW_BUDGET = (300, 60)
_render_slots = asyncio.Semaphore(4)
_index_lock = asyncio.Lock()
_indexed: set[str] = set()
_KIND_TEXT = {
    "syntax": "chain_err_syntax",
    "sandbox": "chain_err_sandbox",
    "render": "chain_err_render",
    "undefined": "em_err_undefined",
    "invalid": "em_err_invalid",
}


class TemplateBody(BaseModel):
    """The three texts, as billing systems send them (JSON) and the editor posts them."""

    subject: str = Field(default="", max_length=1000)
    html: str = Field(default="", max_length=FIELD_MAX_CHARS)
    text: str = Field(default="", max_length=FIELD_MAX_CHARS)


class TemplateForm(TemplateBody):
    csrf: str = ""


EditorForm = Annotated[TemplateForm, Form()]


# --- versions in MongoDB --------------------------------------------------------------------


def _versions(state: AppState) -> AsyncCollection:
    return service_db(state.mongo, "gateway")[COLLECTION]


async def _indexed_versions(state: AppState) -> AsyncCollection:
    """The collection, its unique index created once per process (the local MongoDB-wire
    server drops connections on concurrent createIndexes)."""
    versions = _versions(state)
    async with _index_lock:
        if versions.full_name not in _indexed:
            await versions.create_index([("tenant_id", 1), ("version", 1)], unique=True)
            _indexed.add(versions.full_name)
    return versions


async def history(state: AppState, tenant_id: str) -> list[dict[str, Any]]:
    """The newest versions first: version and saved_at."""
    cursor = _versions(state).find({"tenant_id": tenant_id}).sort("version", -1)
    rows = await cursor.limit(HISTORY_LIMIT).to_list(HISTORY_LIMIT)
    return [{"version": r["version"], "saved_at": r["saved_at"]} for r in rows]


async def stored(state: AppState, tenant_id: str, version: int) -> events.EmailTemplate | None:
    """A saved version (0: the default template)."""
    if version == 0:
        return default_template()
    found = await _versions(state).find_one({"tenant_id": tenant_id, "version": version})
    if found is None:
        return None
    return events.EmailTemplate(
        version=version, subject=found["subject"], html=found["html"], text=found["text"]
    )


async def save(state: AppState, tenant_id: str, template: events.EmailTemplate) -> int:
    """Keep `template` as the tenant's next version and publish it; the version number."""
    tenant = state.tenants.get(tenant_id)
    if tenant is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown tenant")
    versions = await _indexed_versions(state)
    latest = await versions.find({"tenant_id": tenant_id}).sort("version", -1).limit(1).to_list(1)
    in_use = tenant.email_template.version if tenant.email_template else 0
    version = max([in_use, *(r["version"] for r in latest)]) + 1
    for _ in range(SAVE_ATTEMPTS):  # saves at once: the one that loses a number takes the next
        document = template.model_dump(exclude={"version"}) | {
            "tenant_id": tenant_id,
            "version": version,
            "saved_at": datetime.now(UTC),
        }
        try:
            await versions.insert_one(document)
            break
        except DuplicateKeyError:
            version += 1
    else:
        raise HTTPException(status.HTTP_409_CONFLICT, "too many saves at once; try again")
    versioned = template.model_copy(update={"version": version})
    await state.tenants.update(state.producer, tenant_id, email_template=versioned)
    return version


def _fits(tenant: events.TenantConfig, template: events.EmailTemplate) -> list[Problem]:
    """The producer's request limit bounds the whole tenant record."""
    config = tenant.model_copy(update={"email_template": template})
    if len(config.model_dump_json().encode()) <= CONFIG_MAX_BYTES:
        return []
    return [
        Problem("html", None, f"the tenant's settings exceed {CONFIG_MAX_BYTES} bytes", "invalid")
    ]


async def _checked(
    tenant: events.TenantConfig, body: TemplateBody
) -> tuple[events.EmailTemplate | None, list[Problem]]:
    """`checked` off the event loop (a template can loop for long)."""
    fields = (body.subject, body.html, body.text)
    async with _render_slots:
        template, problems = await asyncio.to_thread(checked, *fields, 1, tenant)
    return (None, problems) if template is None else (template, _fits(tenant, template))


# --- the operator's editor ------------------------------------------------------------------


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
    response = render(
        request,
        "operator_email.html",
        status_code=status_code,
        tenant=tenant,
        csrf=csrf_token(request),
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


@router.get("/operator/email", include_in_schema=False)
async def editor(
    request: Request, state: StateDep, tenant: OperatorDep, version: int | None = None
) -> Response:
    """The editor, filled with the template in use or (`?version=`) a saved version. Right
    after a save (`?saved=`) that is the saved one, which this replica's copy of
    `tenant.config` may not show for a moment yet."""
    shown = tenant.email_template or default_template()
    wanted = version if version is not None else _saved(request)
    if wanted is not None:
        shown = await stored(state, tenant.tenant_id, wanted)
        if shown is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such version")
    return await _editor(request, state, tenant, shown, viewing=version)


@router.post("/operator/email", include_in_schema=False)
async def save_from_editor(
    request: Request, state: StateDep, tenant: OperatorDep, form: EditorForm
) -> Response:
    check_csrf(request, form.csrf)
    template, problems = await _checked(tenant, form)
    if template is None or problems:
        values = form.model_dump(exclude={"csrf"})
        return await _editor(request, state, tenant, values, problems=problems, status_code=422)
    version = await save(state, tenant.tenant_id, template)
    query = _lang_query(request)
    query = f"{query}&saved={version}" if query else f"?saved={version}"
    return RedirectResponse(f"/operator/email{query}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/operator/email/versions/{version}/restore", include_in_schema=False)
async def restore(
    version: int,
    request: Request,
    state: StateDep,
    tenant: OperatorDep,
    csrf: Annotated[str, Form()],
) -> Response:
    """Save an old version (or the default, 0) again as the newest."""
    check_csrf(request, csrf)
    old = await stored(state, tenant.tenant_id, version)
    if old is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such version")
    form = TemplateForm(csrf=csrf, **old.model_dump(exclude={"version"}))
    return await save_from_editor(request, state, tenant, form)


@router.post("/operator/email/preview", include_in_schema=False)
async def preview_from_editor(
    request: Request, state: StateDep, tenant: OperatorDep, form: EditorForm
) -> dict[str, str]:
    """The e-mail the form's template makes of the sample invoice, or 422 with the problems."""
    check_csrf(request, form.csrf)
    if not await state.rate_limiter.hit("email-preview", tenant.tenant_id, *PREVIEW_BUDGET):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many previews; wait a minute")
    template, problems = await _checked(tenant, form)
    if template is None or problems:
        t = texts(request)
        found = [p.as_dict() | {"message": problem_text(p, t)} for p in problems]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"problems": found})
    composed = preview(template, tenant)
    return {"subject": composed.subject, "html": composed.html, "text": composed.text}


# --- the API for billing systems ------------------------------------------------------------


def _described(template: events.EmailTemplate) -> dict[str, Any]:
    return template.model_dump() | {
        "default": template.version == 0,
        "variables": [
            {"name": v.name, "description_pl": v.pl, "description_en": v.en, "sample": v.sample}
            for v in VARIABLES
        ],
    }


@router.get("/api/v1/email-template", tags=["billing"])
async def get_template(tenant: TenantDep) -> dict[str, Any]:
    """The e-mail template in use (version 0: the default), with the variables it may use."""
    return _described(tenant.email_template or default_template())


@router.put("/api/v1/email-template", tags=["billing"])
async def put_template(body: TemplateBody, state: StateDep, tenant: TenantDep) -> dict[str, Any]:
    """Check and save a new version of the template (Jinja2, sandboxed); 422 with each problem
    (field, line, reason) when it does not render the sample invoice."""
    template, problems = await _checked(tenant, body)
    if template is None or problems:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "message": "the template was not saved; fix these problems and send it again",
                "problems": [p.as_dict() for p in problems],
            },
        )
    version = await save(state, tenant.tenant_id, template)
    return _described(template.model_copy(update={"version": version}))
