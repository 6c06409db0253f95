"""The shopper's portal's router: /me, and the account pages (/account)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.shop import invoices, receipts
from gateway.shop.accounts import routes as accounts

router = APIRouter()
for _part in (invoices, receipts, accounts):
    router.include_router(_part.router)
