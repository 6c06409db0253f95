"""The read models the gateway shows: delivery status (written by read-tracker) and invoice
links (written by mailer). Writers own them; this module is the readers' contract."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from einvoice.mongo import service_db

DELIVERIES = "deliveries"
BATCHES = "batches"
OPENS = "opens"
LINKS = "links"
SENDS = "sends"  # the mailer's outbox: one job per e-mail
STAGES = ("requested", "issued", "rendered", "mailed", "opened")


def token_hash(token: str) -> str:
    """Links are stored by this hash only; the token itself lives in the e-mail."""
    return hashlib.sha256(token.encode()).hexdigest()


def batch_key(tenant_id: str, batch_id: str) -> str:
    return f"{tenant_id}/{batch_id}"


def delivery_id(tenant_id: str, invoice_id: str) -> str:
    return f"{tenant_id}/{invoice_id}"


def tracker_db(client: AsyncMongoClient) -> AsyncDatabase:
    return service_db(client, "read-tracker")


def mailer_db(client: AsyncMongoClient) -> AsyncDatabase:
    return service_db(client, "mailer")


def _stage_time(delivery: dict[str, Any], stage: str) -> datetime | None:
    return delivery.get("first_opened_at" if stage == "opened" else f"{stage}_at")


def stage_of(delivery: dict[str, Any]) -> str:
    """The furthest stage reached, or `failed` (rejected, bounced, or dead-lettered and not
    moved on since, e.g. by a replay)."""
    if delivery.get("failed_at"):
        return "failed"
    reached, latest = "requested", None
    for stage in STAGES:
        at = _stage_time(delivery, stage)
        if at:
            reached = stage
            latest = max(latest, at) if latest else at
    dead = delivery.get("dead_letter_at")
    if dead and (latest is None or _aware(dead) > _aware(latest)):
        return "failed"
    return reached


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def failure_of(delivery: dict[str, Any]) -> tuple[str | None, list[str]]:
    if delivery.get("failed_at"):
        return delivery.get("failed_stage"), delivery.get("failure_reasons") or []
    return delivery.get("dead_letter_topic"), [delivery.get("dead_letter_reason") or "unknown"]


def summarise_batch(
    batch_id: str, deliveries: list[dict[str, Any]], expected: int | None = None
) -> dict[str, Any]:
    """Counts per stage: how many invoices reached each stage, and which failed and why.
    `expected` is the batch's size when known (the invoices not yet seen are in flight)."""
    counts = dict.fromkeys((*STAGES, "failed"), 0)
    failures = []
    for d in deliveries:
        stage = stage_of(d)
        if stage == "failed":
            counts["failed"] += 1
            stage_name, reasons = failure_of(d)
            failures.append(
                {
                    "invoice_id": d["invoice_id"],
                    "number": d.get("number"),
                    "stage": stage_name,
                    "reasons": reasons,
                }
            )
            continue
        for s in STAGES[: STAGES.index(stage) + 1]:
            counts[s] += 1
    counts["requested"] += counts["failed"]
    expected = max(expected or 0, len(deliveries))
    done = counts["mailed"] + counts["failed"]
    return {
        "batch_id": batch_id,
        "expected": expected,
        "known": len(deliveries),
        "counts": counts,
        "done": done,
        "complete": done >= expected and expected > 0,
        "failures": failures,
    }


async def batch_status(client: AsyncMongoClient, tenant_id: str, batch_id: str) -> dict | None:
    db = tracker_db(client)
    batch = await db[BATCHES].find_one({"_id": batch_key(tenant_id, batch_id)})
    if batch is None:
        return None
    deliveries = (
        await db[DELIVERIES].find({"tenant_id": tenant_id, "batch_ids": batch_id}).to_list(None)
    )
    return summarise_batch(batch_id, deliveries, batch.get("size")) | {
        "started_at": batch.get("started_at"),
        "mail_waiting": await mail_waiting(client, tenant_id, batch_id),
    }


async def mail_waiting(client: AsyncMongoClient, tenant_id: str, batch_id: str) -> dict:
    """E-mails of the batch the mailer holds back: for a free slot of the mailbox (its
    sending limits), or for a retry after a temporary SMTP error; with the earliest time."""
    jobs = mailer_db(client)[SENDS]
    waiting: dict[str, Any] = {}
    for name, reason in (("for_mailbox_limit", "mailbox limit"), ("for_retry", "retry")):
        query = {
            "tenant_id": tenant_id,
            "batch_id": batch_id,
            "state": "queued",
            "waiting_for": reason,
        }
        first = await jobs.find_one(query, sort=[("due_at", 1)])
        waiting[name] = await jobs.count_documents(query) if first else 0
        waiting[f"{name}_next_at"] = first["due_at"] if first else None
    return waiting


async def batch_invoices(client: AsyncMongoClient, tenant_id: str, batch_id: str) -> list[dict]:
    cursor = tracker_db(client)[DELIVERIES].find({"tenant_id": tenant_id, "batch_ids": batch_id})
    rows = _with_stage(await cursor.to_list(None))
    return sorted(rows, key=lambda r: r.get("number") or "")


async def confirmations(
    client: AsyncMongoClient,
    tenant_id: str,
    *,
    batch_id: str | None = None,
    invoice_id: str | None = None,
    limit: int = 500,
    include_flagged: bool = False,
) -> list[dict]:
    """Recorded opens, newest first; without `include_flagged` only those that count (a
    person's, not a link scanner's)."""
    query: dict[str, Any] = {"tenant_id": tenant_id}
    if not include_flagged:
        query["counted"] = {"$ne": False}
    if batch_id:
        query["batch_id"] = batch_id
    if invoice_id:
        query["invoice_id"] = invoice_id
    cursor = tracker_db(client)[OPENS].find(query).sort("opened_at", -1).limit(limit)
    rows = await cursor.to_list(None)
    numbers = {}
    if rows:
        ids = list({r["invoice_id"] for r in rows})
        found = tracker_db(client)[DELIVERIES].find(
            {"_id": {"$in": [delivery_id(tenant_id, i) for i in ids]}},
            {"invoice_id": 1, "number": 1},
        )
        numbers = {d["invoice_id"]: d.get("number") for d in await found.to_list(None)}
    for row in rows:
        row["open_id"] = row.pop("_id")
        row["number"] = numbers.get(row["invoice_id"])
    return rows


async def find_link(client: AsyncMongoClient, token_hash: str) -> dict | None:
    """A live link by its token's hash (expired and revoked links are not returned)."""
    link = await mailer_db(client)[LINKS].find_one({"_id": token_hash})
    if not link or link.get("revoked"):
        return None
    expires = link["expires_at"]
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return link if expires > datetime.now(UTC) else None


async def recent_batches(client: AsyncMongoClient, tenant_id: str, limit: int = 20) -> list[dict]:
    """The tenant's latest batches with their summaries, newest first."""
    cursor = (
        tracker_db(client)[BATCHES]
        .find({"tenant_id": tenant_id})
        .sort("started_at", -1)
        .limit(limit)
    )
    summaries = []
    for batch in await cursor.to_list(None):
        summary = await batch_status(client, tenant_id, batch["batch_id"])
        if summary:
            summaries.append(summary)
    return summaries


async def delivery(client: AsyncMongoClient, tenant_id: str, invoice_id: str) -> dict | None:
    return await tracker_db(client)[DELIVERIES].find_one(
        {"_id": delivery_id(tenant_id, invoice_id)}
    )


def _with_stage(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["stage"] = stage_of(row)
        if row["stage"] == "failed":
            row["failed_stage"], row["failure_reasons"] = failure_of(row)
    return rows


async def shopper_invoices(client: AsyncMongoClient, shopper_id: str, limit: int = 200) -> list:
    """A shopper's own invoices (every chain), newest first."""
    cursor = (
        tracker_db(client)[DELIVERIES]
        .find({"shopper_id": shopper_id})
        .sort("requested_at", -1)
        .limit(limit)
    )
    return _with_stage(await cursor.to_list(None))


async def shopper_invoice(
    client: AsyncMongoClient, shopper_id: str, invoice_id: str
) -> dict | None:
    """One of the shopper's invoices; None for anybody else's."""
    rows = (
        await tracker_db(client)[DELIVERIES]
        .find({"shopper_id": shopper_id, "invoice_id": invoice_id})
        .to_list(1)
    )
    return _with_stage(rows)[0] if rows else None


async def chain_invoices(
    client: AsyncMongoClient,
    tenant_id: str,
    *,
    issued_from: str | None = None,
    issued_to: str | None = None,
    store_id: str | None = None,
    nip: str | None = None,
    stage: str | None = None,
    limit: int = 1000,
) -> list[dict]:
    """Every retail invoice of a chain, filtered; dates are ISO `YYYY-MM-DD` (issue date)."""
    query: dict[str, Any] = {"tenant_id": tenant_id, "kind": "retail"}
    if issued_from or issued_to:
        query["issue_date"] = {k: v for k, v in (("$gte", issued_from), ("$lte", issued_to)) if v}
    if store_id:
        query["store_id"] = store_id
    if nip:
        query["buyer_nip"] = nip
    cursor = tracker_db(client)[DELIVERIES].find(query).sort("requested_at", -1).limit(limit)
    rows = _with_stage(await cursor.to_list(None))
    return [r for r in rows if not stage or r["stage"] == stage]


# The feed merges two streams of deliveries, each in (time, invoice id) order: confirmations
# (`confirmed_at`) and failures (`failed_at`: refused by the builder, or mail that could not
# be delivered). Its cursor is the position reached in both.
FEED_STREAMS = {"confirmed": "confirmed_at", "failed": "failed_at"}
Position = tuple[datetime, str]


def feed_cursor(positions: dict[str, Position]) -> str:
    raw = json.dumps(
        {name: [_aware(at).isoformat(), invoice_id] for name, (at, invoice_id) in positions.items()}
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
        positions[name] = (_aware(datetime.fromisoformat(value[0])), value[1])
    return positions


async def _feed_stream(
    db: Any, tenant_id: str, field: str, after: Position | None, limit: int
) -> list[dict]:
    query: dict[str, Any] = {"tenant_id": tenant_id, field: {"$exists": True}}
    if after:
        moment, invoice_id = after
        query["$or"] = [
            {field: {"$gt": moment}},
            {field: moment, "invoice_id": {"$gt": invoice_id}},
        ]
    cursor = db[DELIVERIES].find(query).sort([(field, 1), ("invoice_id", 1)]).limit(limit)
    return await cursor.to_list(None)


async def confirmation_feed(
    client: AsyncMongoClient, tenant_id: str, since: str | None, limit: int = 100
) -> tuple[list[dict], str | None]:
    """What billing needs to hear, oldest first: invoices confirmed (first opened by a person)
    with the first open's IP, host and user agent and the number of counted opens, and
    invoices that failed (with the stage and the reasons); and the cursor to ask with next
    time (the same one when nothing is new)."""
    positions = parse_feed_cursor(since) if since else {}
    db = tracker_db(client)
    merged: list[tuple[datetime, str, str, dict]] = []
    for status, field in FEED_STREAMS.items():
        for row in await _feed_stream(db, tenant_id, field, positions.get(status), limit):
            merged.append((_aware(row[field]), row["invoice_id"], status, row))
    merged.sort(key=lambda m: (m[0], m[1]))
    merged = merged[:limit]

    confirmed = [row for _, _, status, row in merged if status == "confirmed"]
    opens: dict[str, list[dict]] = {}
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
        items.append(item)
        positions[status] = (at, invoice_id)
    return items, (feed_cursor(positions) if positions else since)


# --- webhooks (written by read-tracker) ----------------------------------------------------

WEBHOOK_DELIVERIES = "webhook_deliveries"  # read-tracker's outbox: one job per webhook call


async def confirmation_of(
    client: AsyncMongoClient, tenant_id: str, invoice_id: str
) -> dict[str, Any] | None:
    """One invoice's confirmation as the feed shows it: number, customer id, first-open time,
    the first counted open's IP, host and user agent, and the count of counted opens."""
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
    }


async def webhook_deliveries(
    client: AsyncMongoClient, tenant_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The tenant's latest webhook deliveries, newest first: event, invoice, state, the
    attempts made and the last one's HTTP status or error, and every attempt (`log`)."""
    cursor = (
        tracker_db(client)[WEBHOOK_DELIVERIES]
        .find({"tenant_id": tenant_id})
        .sort("created_at", -1)
        .limit(limit)
    )
    rows = []
    for job in await cursor.to_list(None):
        log = job.get("log") or []
        last = log[-1] if log else {}
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
