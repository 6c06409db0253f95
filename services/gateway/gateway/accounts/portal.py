"""Where signed-in users land: /me for shoppers, /chain for chain users. Placeholders for
now; the invoice lists come with the retail self-invoicing pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.accounts.deps import ChainUserDep, ShopperDep, SignedInDep
from gateway.accounts.views import page
from gateway.deps import StateDep

router = APIRouter()


@router.get("/me")
async def my_invoices(
    request: Request, state: StateDep, account: ShopperDep, signed: SignedInDep
) -> Response:
    return page(request, state, signed, "account_me.html", account=account, invoices=[])


@router.get("/chain")
async def chain_invoices(
    request: Request, state: StateDep, user: ChainUserDep, signed: SignedInDep
) -> Response:
    return page(
        request,
        state,
        signed,
        "account_chain.html",
        account=user.account,
        tenant=user.tenant,
        invoices=[],
    )
