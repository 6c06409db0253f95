"""The operator's sign-in as page dependencies: operators sign in with their tenant's API key
at /operator (door `OPERATORS` of `gateway.web.auth`); without a live session a page sends
the browser to the login form there."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from einvoice import events
from gateway.web.auth import SignedInDep, SignInRequired
from gateway.web.csrf import RequireCsrf


async def operator_tenant(signed: SignedInDep) -> events.TenantConfig:
    if signed.tenant is None:  # an account's session, which the operator door never gives
        raise SignInRequired
    return signed.tenant


OperatorDep = Annotated[events.TenantConfig, Depends(operator_tenant)]


async def operator_form(tenant: OperatorDep, _: None = RequireCsrf) -> events.TenantConfig:
    """A signed-in operator's form: the sign-in is checked first (a stranger is sent to the
    login form), then the form token."""
    return tenant


OperatorFormDep = Annotated[events.TenantConfig, Depends(operator_form)]
