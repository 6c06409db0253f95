"""Webhooks: confirmations and failed deliveries POSTed to the tenant's billing system.

Each body's `data` carries the invoice's KSeF number, or its KSeF status (`outside` for an
invoice that does not go to KSeF), as billing's feed does (`billing_feed.ksef_fields`).

The handlers only enqueue (`WebhookJobs`, one job per event, by a stable id, in the
`webhook_deliveries` outbox); a `WebhookDispatcher` in every replica POSTs the due jobs,
signed with the tenant's secret (`einvoice.webhooks.sign`). A 2xx answer ends a job as
`done`; any other status, a timeout or a connection error is logged as an attempt and
retried with exponential backoff, until `give_up_after` ends it as `failed`. The URL and the
secret are looked up at every attempt, so a corrected URL or a new secret applies to the
deliveries still waiting. Redirects are never followed.

Nothing is reported on Kafka for these jobs (the outbox is made with `reports=False`): the
delivery log is the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from einvoice import events, webhooks
from einvoice.log import get_logger
from einvoice.metrics import STAGE_FAILURES
from einvoice.outbox import DONE, FAILED, Outbox, backoff, run_rounds, utcnow
from einvoice.readmodels.billing_feed import (
    WebhookAttempt,
    WebhookFields,
    WebhookJob,
    ksef_fields,
)
from einvoice.readmodels.tracking import Delivery
from einvoice.sealing import SealingError

log = get_logger(__name__)

WAITING_FOR_RETRY = "retry"


class TenantLookup(Protocol):
    def get(self, tenant_id: str) -> events.TenantConfig | None: ...


# tenant, invoice -> the feed's fields for one invoice (billing_feed.confirmation_of)
ConfirmationLookup = Callable[[str, str], Awaitable[dict[str, Any] | None]]
# tenant, invoice -> the invoice's delivery
DeliveryLookup = Callable[[str, str], Awaitable[Delivery | None]]


@dataclass
class WebhookJobs:
    """Enqueues a delivery when the event's tenant has a webhook subscribed to it."""

    outbox: Outbox[WebhookJob]
    tenants: TenantLookup
    confirmation_of: ConfirmationLookup
    delivery_of: DeliveryLookup
    wake: Callable[[], None] = lambda: None

    def _subscribed(self, tenant_id: str, event_type: str) -> bool:
        tenant = self.tenants.get(tenant_id)
        hook = tenant.webhook if tenant else None
        return hook is not None and event_type in hook.events

    async def invoice_confirmed(
        self, confirmation: events.Envelope, confirmed: events.InvoiceConfirmed
    ) -> bool:
        """`confirmation` is the emitted invoice.confirmed: its id is the delivery's id."""
        tenant_id = confirmation.tenant_id
        if not self._subscribed(tenant_id, events.INVOICE_CONFIRMED):
            return False
        if await self.outbox.get(confirmation.event_id):
            return False  # a redelivered open
        item = await self.confirmation_of(tenant_id, confirmed.invoice_id) or {}
        document = webhooks.confirmed_payload(
            confirmation.event_id, tenant_id, confirmation.occurred_at, confirmed, item
        )
        document["data"] |= ksef_fields(item)
        return await self._enqueue(document, confirmed.invoice_id)

    async def mail_failed(self, event: events.Envelope, failed: events.MailFailed) -> bool:
        """`event` is the mail.failed itself: its id is the delivery's id."""
        if not self._subscribed(event.tenant_id, events.MAIL_FAILED):
            return False
        if await self.outbox.get(event.event_id):
            return False
        delivery = await self.delivery_of(event.tenant_id, failed.invoice_id)
        document = webhooks.failed_payload(
            event.event_id, event.tenant_id, event.occurred_at, failed, delivery
        )
        document["data"] |= ksef_fields(delivery)
        return await self._enqueue(document, failed.invoice_id)

    async def _enqueue(self, document: dict[str, Any], invoice_id: str) -> bool:
        job: WebhookFields = {
            "tenant_id": document["tenant_id"],
            "event": document["type"],
            "invoice_id": invoice_id,
            "number": document["data"].get("number"),
            "body": webhooks.body_of(document),
            "log": [],
        }
        added = await self.outbox.enqueue(document["id"], job) is not None
        if added:
            self.wake()
        return added


@dataclass(frozen=True)
class Target:
    url: str
    secret: str


class Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and return the HTTP status; raise for anything that is no answer."""
        ...


def target_for(
    tenants: TenantLookup, unseal: Callable[[str], str]
) -> Callable[[str], Target | None]:
    """Tenant id -> its webhook's URL and unsealed secret; None without a webhook."""

    def target(tenant_id: str) -> Target | None:
        tenant = tenants.get(tenant_id)
        if tenant is None or tenant.webhook is None:
            return None
        return Target(tenant.webhook.url, unseal(tenant.webhook.secret_sealed))

    return target


@dataclass
class WebhookDispatcher:
    outbox: Outbox[WebhookJob]
    poster: Poster
    target_for: Callable[[str], Target | None]
    retry_initial: float = 5.0
    retry_cap: float = 3600.0
    give_up_after: timedelta = timedelta(hours=24)
    concurrency: int = 8
    batch: int = 100
    idle_poll: float = 1.0
    clock: Callable[[], datetime] = utcnow
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        await run_rounds(self.round, stop, self._wake, self.idle_poll, "webhook")

    async def round(self) -> int:
        """One pass over the due deliveries; returns how many were claimed."""
        limit = asyncio.Semaphore(self.concurrency)
        held = await self.outbox.claim_many(await self.outbox.due(self.batch))
        await asyncio.gather(*(self._deliver(job, limit) for job in held))
        return len(held)

    async def _deliver(self, job: WebhookJob, limit: asyncio.Semaphore) -> None:
        try:
            target = self.target_for(job["tenant_id"])
        except SealingError as exc:
            await self._attempted(job, None, f"the webhook secret cannot be used: {exc}", 0)
            return
        if target is None:
            await self.outbox.finish(job, FAILED, {"reason": "the tenant has no webhook any more"})
            return
        body = job["body"].encode()
        now = self.clock()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "einvoice-webhooks/1",
            webhooks.SIGNATURE_HEADER: webhooks.sign(target.secret, int(now.timestamp()), body),
            webhooks.EVENT_HEADER: job["event"],
            webhooks.DELIVERY_HEADER: job["_id"],
        }
        async with limit:
            started = time.monotonic()
            status: int | None = None
            error: str | None = None
            try:
                status = await self.poster.post(target.url, body, headers)
            except Exception as exc:  # noqa: BLE001 - every failure is a retry
                error = describe(exc)
            duration_ms = round((time.monotonic() - started) * 1000)
        await self._attempted(job, status, error, duration_ms, at=now)

    async def _attempted(
        self,
        job: WebhookJob,
        status: int | None,
        error: str | None,
        duration_ms: int,
        at: datetime | None = None,
    ) -> None:
        entry: WebhookAttempt = {
            "at": at or self.clock(),
            "status": status,
            "error": error,
            "duration_ms": duration_ms,
        }
        await self.outbox.log_attempt(job, entry)
        if status is not None and 200 <= status < 300:
            await self.outbox.finish(job, DONE, {"delivered_at": self.clock()})
            log.info("webhook delivered", job_id=job["_id"], tenant_id=job["tenant_id"])
            return
        reason = error or f"HTTP {status}"
        STAGE_FAILURES.labels("read-tracker", "webhook", "temporary").inc()
        created = job["created_at"]
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        if self.clock() - created >= self.give_up_after:
            hours = self.give_up_after.total_seconds() / 3600
            await self.outbox.finish(
                job, FAILED, {"reason": f"no 2xx answer for {hours:g} h; last: {reason}"}
            )
            log.warning("webhook given up", job_id=job["_id"], tenant_id=job["tenant_id"])
            return
        due = self.clock() + backoff(job["attempts"] + 1, self.retry_initial, self.retry_cap)
        log.info(
            "webhook will be retried", job_id=job["_id"], reason=reason, due_at=due.isoformat()
        )
        await self.outbox.postpone(
            job, due, waiting_for=WAITING_FOR_RETRY, count_attempt=True, note={"last_error": reason}
        )


def describe(exc: BaseException) -> str:
    """A short reason for the delivery log (never the secret or the body)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"connection error: {exc}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
