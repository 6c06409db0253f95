"""Receipts shoppers have claimed (the first account to add a receipt's code owns it) and the
invoices they asked for, both in the gateway's database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from pymongo.errors import DuplicateKeyError

from einvoice.mongo import Collection, service_db
from einvoice.readmodels.receipts import receipt_view, receipts_collection
from einvoice.receipts import receipt_key
from gateway.deps import StateDep
from gateway.shop.accounts.deps import ShopperDep
from gateway.shop.accounts.store import Account
from gateway.state import AppState
from gateway.web.auth import PageError

CLAIMS = "claims"
# The invoices a shopper asked for, so that the invoice page can wait for one (and nobody
# else's) before the read model knows it.
REQUESTS = "shop_requests"


def claims(state: AppState) -> Collection:
    return service_db(state.mongo, "gateway")[CLAIMS]


async def claim(state: AppState, chain_id: str, receipt_id: str, account_id: str) -> str:
    """The account that owns the receipt now: the first to claim it."""
    key = receipt_key(chain_id, receipt_id)
    try:
        await claims(state).insert_one(
            {"_id": key, "account_id": account_id, "chain_id": chain_id, "receipt_id": receipt_id}
        )
    except DuplicateKeyError:
        existing = await claims(state).find_one({"_id": key})
        if existing is None:  # claims are never deleted: the duplicate is there
            raise
        owner: str = existing["account_id"]
        return owner
    return account_id


async def _my_receipt(
    state: AppState, account: Account, chain_id: str, receipt_id: str
) -> dict[str, Any] | None:
    key = receipt_key(chain_id, receipt_id)
    claimed = await claims(state).find_one({"_id": key, "account_id": account.account_id})
    if claimed is None:
        return None
    doc = await receipts_collection(state.mongo).find_one({"_id": key})
    return receipt_view(doc) if doc else None


class ReceiptNotFound(PageError):
    status_code = 404
    text_key = "shop_not_found"


def invoice_requests(state: AppState) -> Collection:
    return service_db(state.mongo, "gateway")[REQUESTS]


async def my_receipt(
    chain_id: str, receipt_id: str, state: StateDep, account: ShopperDep
) -> dict[str, Any]:
    """A receipt this shopper claimed; anybody else's is simply not found."""
    receipt = await _my_receipt(state, account, chain_id, receipt_id)
    if receipt is None:
        raise ReceiptNotFound
    return receipt


MyReceipt = Annotated[dict[str, Any], Depends(my_receipt)]
