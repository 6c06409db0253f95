"""The billing API's e-mail template: read the one in use, save a new version (see
`gateway.email_templates`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from einvoice import events
from einvoice.emailtemplates import VARIABLES, default_template
from gateway.api.deps import TenantDep
from gateway.deps import StateDep
from gateway.email_templates import TemplateBody, check, save

router = APIRouter(prefix="/api/v1", tags=["billing"])


def _described(template: events.EmailTemplate) -> dict[str, Any]:
    return template.model_dump() | {
        "default": template.version == 0,
        "variables": [
            {"name": v.name, "description_pl": v.pl, "description_en": v.en, "sample": v.sample}
            for v in VARIABLES
        ],
    }


@router.get("/email-template")
async def get_template(tenant: TenantDep) -> dict[str, Any]:
    """The e-mail template in use (version 0: the default), with the variables it may use."""
    return _described(tenant.email_template or default_template())


@router.put("/email-template")
async def put_template(body: TemplateBody, state: StateDep, tenant: TenantDep) -> dict[str, Any]:
    """Check and save a new version of the template (Jinja2, sandboxed); 422 with each problem
    (field, line, reason) when it does not render the sample invoice."""
    template, problems = await check(tenant, body)
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
