"""The account pages (/account) as one router."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.shop.accounts import recovery, signin, signup

router = APIRouter(tags=["accounts"], include_in_schema=False)
for _part in (signup.router, signin.router, recovery.router):
    router.include_router(_part)
