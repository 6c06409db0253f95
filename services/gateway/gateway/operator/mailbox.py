"""The operator's sending mailbox: the tenant's own SMTP server, or the platform's.

The password is sealed (einvoice.sealing) before the tenant's settings are published, and is
never shown again: a blank password field keeps the one stored. Limits are the provider's
(per minute, hour and day); the mailer keeps every replica within them.
"""

from __future__ import annotations

import asyncio
from email.utils import parseaddr
from typing import Annotated, Any

import aiosmtplib
from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from einvoice import events
from einvoice.sealing import Sealer
from einvoice.smtp import SmtpServer
from gateway.deps import StateDep
from gateway.operator.auth import OperatorDep, OperatorFormDep
from gateway.state import AppState
from gateway.tenant_settings import secret_sealer
from gateway.web.forms import page

router = APIRouter(prefix="/operator/mailbox", tags=["operator"], include_in_schema=False)

LIMITS = ("per_minute", "per_hour", "per_day")
FIELDS = ("host", "port", "tls", "user", *LIMITS)


def _address_problem(value: str) -> str | None:
    _, address = parseaddr(value)
    local, _, domain = address.partition("@")
    if not local or "." not in domain or any(c in value for c in "\r\n"):
        return "not an e-mail address (e.g. Faktury <faktury@firma.pl>)"
    return None


def _form_values(tenant: events.TenantConfig) -> dict[str, Any]:
    box = tenant.mailbox
    values: dict[str, Any] = {name: getattr(box, name) if box else None for name in FIELDS}
    values |= {
        "mail_from": tenant.mail_from or "",
        "reply_to": tenant.reply_to or "",
        "has_password": bool(box and box.password_sealed),
        "own": box is not None,
    }
    if not box:
        values |= {"port": 587, "tls": "starttls"}
    return values


def _page(
    request: Request,
    state: AppState,
    tenant: events.TenantConfig,
    values: dict[str, Any],
    *,
    problems: list[str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        state,
        None,
        "operator/mailbox.html",
        status_code=status_code,
        tenant=tenant,
        values=values,
        problems=problems or [],
        message=message,
    )


@router.get("")
async def mailbox_form(
    request: Request, state: StateDep, tenant: OperatorDep, saved: str | None = None
) -> Response:
    t_message = {"saved": "mb_saved", "removed": "mb_removed"}.get(saved or "")
    return _page(request, state, tenant, _form_values(tenant), message=t_message)


def _limit(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw else None


def _mailbox_from_form(
    form: dict[str, str], current: events.Mailbox | None, sealer: Sealer | None
) -> tuple[events.Mailbox | None, list[str]]:
    problems: list[str] = []
    try:
        limits = {
            name: _limit(form.get(name, "")) for name in ("per_minute", "per_hour", "per_day")
        }
        port = int(form.get("port", "").strip() or "0")
    except ValueError:
        return None, ["port and limits must be whole numbers"]
    password = form.get("password", "")
    sealed = current.password_sealed if current else None
    if password:
        if sealer is None:
            return None, ["the platform has no sealing key configured: passwords cannot be stored"]
        sealed = sealer.seal(password)
    try:
        box = events.Mailbox(
            host=form.get("host", ""),
            port=port,
            tls=form.get("tls", "starttls"),
            user=form.get("user", "").strip() or None,
            password_sealed=sealed if form.get("user", "").strip() else None,
            **limits,
        )
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "mailbox"
            problems.append(f"{field}: {error['msg']}")
        return None, problems
    return box, problems


@router.post("")
async def save_mailbox(
    request: Request,
    state: StateDep,
    tenant: OperatorFormDep,
    action: Annotated[str, Form()] = "save",
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if action == "remove":
        await state.tenants.update(state.producer, tenant.tenant_id, mailbox=None)
        return RedirectResponse("/operator/mailbox?saved=removed", status.HTTP_303_SEE_OTHER)

    values = {k: form.get(k, "") for k in (*FIELDS, "mail_from", "reply_to")} | {
        "has_password": bool(tenant.mailbox and tenant.mailbox.password_sealed),
        "own": True,
    }
    box, problems = _mailbox_from_form(form, tenant.mailbox, secret_sealer(state.settings))
    mail_from, reply_to = form.get("mail_from", "").strip(), form.get("reply_to", "").strip()
    for name, value in (("From", mail_from), ("Reply-To", reply_to)):
        if value and (problem := _address_problem(value)):
            problems.append(f"{name}: {problem}")
    if not mail_from:
        problems.append("From: a tenant mailbox needs the sender address it may send as")
    if problems or box is None:
        return _page(
            request,
            state,
            tenant,
            values,
            problems=problems,
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if action == "test":
        outcome = await _try_connection(
            box, form.get("password") or None, secret_sealer(state.settings)
        )
        return _page(request, state, tenant, values, message=outcome)
    changes = {"mailbox": box, "mail_from": mail_from, "reply_to": reply_to or None}
    await state.tenants.update(state.producer, tenant.tenant_id, **changes)
    return RedirectResponse("/operator/mailbox?saved=saved", status.HTTP_303_SEE_OTHER)


async def _try_connection(box: events.Mailbox, password: str | None, sealer: Sealer | None) -> str:
    """Connect, say EHLO, start TLS and log in as the mailer would; send nothing."""
    if password is None and box.password_sealed and sealer is not None:
        password = sealer.unseal(box.password_sealed)
    server = SmtpServer(box.host, box.port, box.tls, box.user, password, timeout=10)
    client = aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        use_tls=server.tls == "tls",
        start_tls=server.tls == "starttls",
        timeout=server.timeout,
    )
    try:
        async with asyncio.timeout(15):
            await client.connect()
            if server.user:
                await client.login(server.user, server.password or "")
            await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return f"mb_test_failed:{exc}"
    return "mb_test_ok"
