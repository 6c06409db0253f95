"""The API's router: every endpoint under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api import batches, confirmations, email_template, invoices, receipts, webhooks

router = APIRouter()
for _part in (batches, invoices, confirmations, receipts, email_template, webhooks):
    router.include_router(_part.router)
