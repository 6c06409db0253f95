"""The tenant's invoice e-mail template (subject, HTML and plain-text body), shared by the
operator's editor (`operator/email_editor.py`) and the billing API (`api/email_template.py`).

A template is checked (`einvoice.emailtemplates.checked`: syntax, sandbox, unknown variables,
rendering the sample invoice) before it is kept. Every save is a new version in the
gateway's database, and the tenant's `TenantConfig` is published with it on `tenant.config`,
where the mailer picks it up; each `mail.sent` records the version it was composed with.
Restoring an old version saves it again as a new one, so versions only ever grow.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, status
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from einvoice import events
from einvoice.emailtemplates import Problem, checked, default_template
from einvoice.mongo import Collection, service_db
from gateway.state import AppState
from gateway.tenant_settings import CONFIG_MAX_BYTES

COLLECTION = "email_templates"
HISTORY_LIMIT = 50
SAVE_ATTEMPTS = 20
FIELD_MAX_CHARS = 100_000
# Checks render on threads (a template can loop for long), a few at a time.
_render_slots = asyncio.Semaphore(4)
_index_lock = asyncio.Lock()
_indexed: set[str] = set()


class TemplateBody(BaseModel):
    """The three texts, as billing systems send them (JSON) and the editor posts them."""

    subject: str = Field(default="", max_length=1000)
    html: str = Field(default="", max_length=FIELD_MAX_CHARS)
    text: str = Field(default="", max_length=FIELD_MAX_CHARS)


# --- versions in MongoDB --------------------------------------------------------------------


def _versions(state: AppState) -> Collection:
    return service_db(state.mongo, "gateway")[COLLECTION]


async def _indexed_versions(state: AppState) -> Collection:
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
    newest: int = latest[0]["version"] if latest else 0
    version = max(in_use, newest) + 1
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


async def check(
    tenant: events.TenantConfig, body: TemplateBody
) -> tuple[events.EmailTemplate | None, list[Problem]]:
    """`checked` off the event loop (a template can loop for long)."""
    fields = (body.subject, body.html, body.text)
    async with _render_slots:
        template, problems = await asyncio.to_thread(checked, *fields, 1, tenant)
    return (None, problems) if template is None else (template, _fits(tenant, template))
