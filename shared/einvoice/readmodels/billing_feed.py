"""Confirmations back to billing, from read-tracker's collections: the feed of confirmed
and failed invoices with its cursor, one invoice's confirmation, and the webhook deliveries
(read-tracker's outbox: one job per webhook call)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict, cast

from einvoice.mongo import Client, Database
from einvoice.outbox import OutboxJob
from einvoice.readmodels.tracking import (
    DELIVERIES,
    OPENS,
    Delivery,
    KsefStatus,
    as_deliveries,
    aware,
    delivery_id,
    failure_of,
    tracker_db,
)

# The feed merges two streams of deliveries, each in (time, invoice id) order: confirmations
# (`confirmed_at`) and failures (`failed_at`: refused by the builder, or mail that could not
# be delivered). Its cursor is the position reached in both.
FEED_STREAMS: dict[str, Literal["confirmed_at", "failed_at"]] = {
    "confirmed": "confirmed_at",
    "failed": "failed_at",
}

Position = tuple[datetime, str]


class KsefFields(TypedDict):
    """What billing hears of an invoice's KSeF status, in the feed and in the webhooks:
    `ksef_number` once KSeF registered it; `ksef_status: "outside"` for an invoice that
    does not go to KSeF (None for one tracked before KSeF was)."""

    ksef_status: KsefStatus | None
    ksef_number: str | None


def ksef_fields(row: Delivery | dict[str, Any] | None) -> KsefFields:
    row = row or {}
    return {"ksef_status": row.get("ksef_status"), "ksef_number": row.get("ksef_number")}


def feed_cursor(positions: dict[str, Position]) -> str:
    raw = json.dumps(
        {name: [aware(at).isoformat(), invoice_id] for name, (at, invoice_id) in positions.items()}
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse_feed_cursor(cursor: str) -> dict[str, Position]:
    """Raises ValueError for anything that is not a cursor this feed gave out."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    data = json.loads(raw)
    if not isinstance(data, dict) or not set(data) <= set(FEED_STREAMS):
        raise ValueError("not a feed cursor")
    positions = {}
    for name, value in data.items():
        if not (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
        ):
            raise ValueError("not a feed cursor")
        positions[name] = (aware(datetime.fromisoformat(value[0])), value[1])
    return positions


async def _feed_stream(
    db: Database, tenant_id: str, field: str, after: Position | None, limit: int
) -> list[Delivery]:
    query: dict[str, Any] = {"tenant_id": tenant_id, field: {"$exists": True}}
    if after:
        moment, invoice_id = after
        query["$or"] = [
            {field: {"$gt": moment}},
            {field: moment, "invoice_id": {"$gt": invoice_id}},
        ]
    cursor = db[DELIVERIES].find(query).sort([(field, 1), ("invoice_id", 1)]).limit(limit)
    return as_deliveries(await cursor.to_list(None))


async def confirmation_feed(
    client: Client, tenant_id: str, since: str | None, limit: int = 100
) -> tuple[list[dict[str, Any]], str | None]:
    """What billing needs to hear, oldest first: invoices confirmed (first opened by a person)
    with the first open's IP, host and user agent and the number of counted opens, and
    invoices that failed (with the stage and the reasons; `ksef` with KSeF's status code for
    an invoice KSeF refused); each with its KSeF number or status (`ksef_fields`); and the
    cursor to ask with next time (the same one when nothing is new)."""
    positions = parse_feed_cursor(since) if since else {}
    db = tracker_db(client)
    merged: list[tuple[datetime, str, str, Delivery]] = []
    for status, field in FEED_STREAMS.items():
        for row in await _feed_stream(db, tenant_id, field, positions.get(status), limit):
            merged.append((aware(row[field]), row["invoice_id"], status, row))
    merged.sort(key=lambda m: (m[0], m[1]))
    merged = merged[:limit]

    confirmed = [row for _, _, status, row in merged if status == "confirmed"]
    opens: dict[str, list[dict[str, Any]]] = {}
    if confirmed:
        found = (
            db[OPENS]
            .find(
                {
                    "tenant_id": tenant_id,
                    "counted": True,
                    "invoice_id": {"$in": [r["invoice_id"] for r in confirmed]},
                }
            )
            .sort("opened_at", 1)
        )
        for open_ in await found.to_list(None):
            opens.setdefault(open_["invoice_id"], []).append(open_)
    items = []
    for at, invoice_id, status, row in merged:
        item = {
            "status": status,
            "at": at,
            "invoice_id": invoice_id,
            "number": row.get("number"),
            "customer_id": row.get("customer_id"),
            "batch_id": row.get("batch_id"),
            **ksef_fields(row),
        }
        if status == "confirmed":
            first = (opens.get(invoice_id) or [{}])[0]
            item |= {
                "first_opened_at": row.get("first_opened_at"),
                "ip": first.get("ip"),
                "host": first.get("host"),
                "user_agent": first.get("user_agent"),
                "open_count": len(opens.get(invoice_id, [])),
            }
        else:
            stage, reasons = failure_of(row)
            item |= {"stage": stage, "reasons": reasons}
            if stage == "ksef":
                item["ksef_rejection_code"] = row.get("ksef_rejection_code")
        items.append(item)
        positions[status] = (at, invoice_id)
    return items, (feed_cursor(positions) if positions else since)


WEBHOOK_DELIVERIES = "webhook_deliveries"


class WebhookAttempt(TypedDict):
    """One POST of a webhook delivery, as its log keeps it."""

    at: datetime
    status: int | None  # the HTTP status; None when there was no answer
    error: str | None
    duration_ms: int


class WebhookFields(TypedDict):
    """One webhook call as read-tracker queues it (read_tracker.webhooks.WebhookJobs)."""

    tenant_id: str
    event: str  # events.INVOICE_CONFIRMED or events.MAIL_FAILED
    invoice_id: str
    number: str | None
    body: str  # the signed JSON, the same at every attempt
    log: list[WebhookAttempt]


class WebhookJob(WebhookFields, OutboxJob):
    """A job of read-tracker's outbox of webhook calls (WEBHOOK_DELIVERIES)."""

    delivered_at: NotRequired[datetime]
    reason: NotRequired[str]  # why it failed for good


class WebhookDeliveryRow(TypedDict):
    """A webhook delivery as the operator's page shows it (`webhook_deliveries`)."""

    delivery_id: str
    event: str | None
    invoice_id: str | None
    number: str | None
    state: str | None
    created_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None  # when a queued one is tried next
    last_status: int | None
    last_error: str | None
    log: list[WebhookAttempt]


async def confirmation_of(client: Client, tenant_id: str, invoice_id: str) -> dict[str, Any] | None:
    """One invoice's confirmation as the feed shows it: number, customer id, first-open time,
    the first counted open's IP, host and user agent, the count of counted opens, and its
    KSeF number or status (`ksef_fields`)."""
    db = tracker_db(client)
    row = await db[DELIVERIES].find_one({"_id": delivery_id(tenant_id, invoice_id)})
    if row is None:
        return None
    opens = (
        await db[OPENS]
        .find({"tenant_id": tenant_id, "invoice_id": invoice_id, "counted": True})
        .sort("opened_at", 1)
        .to_list(None)
    )
    first = opens[0] if opens else {}
    return {
        "invoice_id": invoice_id,
        "number": row.get("number"),
        "customer_id": row.get("customer_id"),
        "first_opened_at": row.get("first_opened_at"),
        "ip": first.get("ip"),
        "host": first.get("host"),
        "user_agent": first.get("user_agent"),
        "open_count": len(opens),
        **ksef_fields(as_deliveries([row])[0]),
    }


async def webhook_deliveries(
    client: Client, tenant_id: str, limit: int = 100
) -> list[WebhookDeliveryRow]:
    """The tenant's latest webhook deliveries, newest first: event, invoice, state, the
    attempts made and the last one's HTTP status or error, and every attempt (`log`)."""
    cursor = (
        tracker_db(client)[WEBHOOK_DELIVERIES]
        .find({"tenant_id": tenant_id})
        .sort("created_at", -1)
        .limit(limit)
    )
    rows: list[WebhookDeliveryRow] = []
    # WEBHOOK_DELIVERIES holds only what read-tracker's outbox stored as `WebhookJob`s.
    for job in cast(list[WebhookJob], await cursor.to_list(None)):
        log = job.get("log") or []
        last: WebhookAttempt | dict[str, None] = log[-1] if log else {}
        rows.append(
            {
                "delivery_id": job["_id"],
                "event": job.get("event"),
                "invoice_id": job.get("invoice_id"),
                "number": job.get("number"),
                "state": job.get("state"),
                "created_at": job.get("created_at"),
                "attempts": len(log),
                "next_attempt_at": job.get("due_at") if job.get("state") == "queued" else None,
                "last_status": last.get("status"),
                "last_error": last.get("error") or job.get("reason"),
                "log": log,
            }
        )
    return rows
