"""The operator panel's router: every page under /operator."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.operator import batches, confirmations, email_editor, home, ksef, mailbox, webhook

router = APIRouter()
for _part in (home, batches, confirmations, email_editor, mailbox, webhook, ksef):
    router.include_router(_part.router)
