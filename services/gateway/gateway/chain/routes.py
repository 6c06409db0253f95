"""The chain portal's router: every page under /chain."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.chain import branding, invoices, ksef

router = APIRouter()
for _part in (invoices, branding, ksef):
    router.include_router(_part.router)
