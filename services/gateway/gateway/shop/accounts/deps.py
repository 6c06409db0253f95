"""Typed dependencies for the account area: who is signed in, and in which role. Sign-in and
the form token are `gateway.web`'s, re-exported here for the pages of accounts, shop and chain.

    async def page(account: ShopperDep): ...          # a signed-in shopper, else login/403
    async def page(user: ChainUserDep): ...           # user.account, user.tenant (retail)
    @router.post("/x", dependencies=[RequireCsrf])    # form field `csrf` must match
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from einvoice import events
from gateway.deps import StateDep
from gateway.shop.accounts.store import Account
from gateway.web.auth import (
    Forbidden,
    MaybeSignedIn,
    PageError,
    SignedIn,
    SignedInDep,
    SignInRequired,
    optional_signed_in,
    signed_in,
)
from gateway.web.csrf import CsrfRejected, RequireCsrf

__all__ = [
    "ChainUser",
    "ChainUserDep",
    "CsrfRejected",
    "CurrentAccount",
    "Forbidden",
    "MaybeSignedIn",
    "PageError",
    "RequireCsrf",
    "ShopperDep",
    "SignInRequired",
    "SignedIn",
    "SignedInDep",
    "optional_signed_in",
    "signed_in",
]


@dataclass(frozen=True)
class ChainUser:
    account: Account
    tenant: events.TenantConfig


async def current_account(signed: SignedInDep) -> Account:
    if signed.account is None:  # an operator's session, which never reaches account pages
        raise Forbidden
    return signed.account


CurrentAccount = Annotated[Account, Depends(current_account)]


async def shopper(account: CurrentAccount) -> Account:
    if account.role != "shopper":
        raise Forbidden
    return account


ShopperDep = Annotated[Account, Depends(shopper)]


async def chain_user(account: CurrentAccount, state: StateDep) -> ChainUser:
    tenant = state.tenants.get(account.tenant_id or "")
    if account.role != "chain" or tenant is None or tenant.kind != "retail":
        raise Forbidden
    return ChainUser(account, tenant)


ChainUserDep = Annotated[ChainUser, Depends(chain_user)]
