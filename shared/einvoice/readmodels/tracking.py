"""Delivery status, written by read-tracker (its only writer, which names the collections
through this module): one delivery per invoice with the time it reached each stage, its KSeF
status, batches, and recorded opens; read by the gateway for batch status, the billing API,
the operator's, the shopper's and the chain's pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, cast

from einvoice.mongo import Client, Database, service_db
from einvoice.readmodels.mailing import mail_waiting

DELIVERIES = "deliveries"

BATCHES = "batches"

OPENS = "opens"

Stage = Literal["requested", "issued", "rendered", "mailed", "opened"]
STAGES: tuple[Stage, ...] = ("requested", "issued", "rendered", "mailed", "opened")

# Where an invoice stands with KSeF: `waiting` (issued for KSeF, no KSeF number yet),
# `registered` (KSeF took it: it has a KSeF number and a UPO), `rejected` (KSeF refused it,
# or it could not be submitted for good), `outside` (it does not go to KSeF: a consumer's
# invoice, or a tenant without KSeF). Absent: not issued yet (or tracked before KSeF).
KsefStatus = Literal["waiting", "registered", "rejected", "outside"]
KSEF_STATUSES: tuple[KsefStatus, ...] = ("waiting", "registered", "rejected", "outside")
# The KSeF events arrive in any order; a status only ever replaces a weaker one, so the
# strongest one reported wins whatever the order: KSeF's number outranks a rejection (it
# is the legal fact), and either outranks what was decided at issue.
KSEF_RANK: dict[KsefStatus, int] = {"waiting": 1, "outside": 1, "rejected": 2, "registered": 3}


def ksef_outranking(status: KsefStatus) -> list[KsefStatus]:
    """The statuses `status` must not replace (as strong or stronger)."""
    return [s for s in KSEF_STATUSES if KSEF_RANK[s] >= KSEF_RANK[status]]


class DeliveryFields(TypedDict, total=False):
    """What read-tracker records on an invoice's delivery, stage by stage (each stage sets
    its own fields, in whatever order the stages arrive)."""

    # invoice.requested (a utility's batch) or retail.requested (a shopper's)
    requested_at: datetime
    number: str | None
    customer_id: str | None
    buyer_name: str | None
    buyer_email: str | None
    kind: Literal["retail"]  # absent for a utility's invoice
    shopper_id: str
    receipt_id: str
    # invoice.issued
    issued_at: datetime
    issue_date: str  # ISO date
    total_gross: str  # a Decimal as text
    seller_name: str
    buyer_nip: str | None
    store_id: str | None
    fa3_key: str  # the FA(3) XML in object storage (the invoice's bucket)
    fa3_sha256: str
    ksef_environment: str  # the KSeF environment it goes to (absent: outside KSeF)
    # invoice.issued (waiting, outside), invoice.registered (registered), invoice.ksef.rejected
    # (rejected): only ever raised (KSEF_RANK; read_tracker's Deliveries.raise_ksef_status)
    ksef_status: KsefStatus
    # invoice.registered (and pdf.rendered, which repeats the KSeF number)
    ksef_registered_at: datetime  # the invoice.registered event's time (the stage's time)
    ksef_number: str
    ksef_acquired_at: datetime  # when KSeF took the invoice (its acquisitionDate)
    ksef_mode: Literal["online", "batch"]
    ksef_session: str  # the KSeF session's reference number
    ksef_invoice_reference: str
    ksef_verification_url: str  # KOD I: what the PDF's QR code holds
    upo_key: str  # the UPO XML in object storage
    upo_sha256: str
    # invoice.ksef.rejected (with failed_at, failed_stage "ksef" and failure_reasons)
    ksef_rejection_code: int
    # pdf.rendered, mail.sent
    rendered_at: datetime
    s3_key: str
    mailed_at: datetime
    recipient: str | None
    message_id: str
    # invoice.opened (a person's open)
    first_opened_at: datetime
    last_opened_at: datetime
    confirmed_at: datetime  # when billing's feed learns of the first open (its cursor)
    # invoice.rejected (stage "issue"), invoice.ksef.rejected ("ksef"), mail.failed ("mail")
    failed_at: datetime
    failed_stage: str | None
    failure_reasons: list[str]
    # a stage's dead letter
    dead_letter_at: datetime
    dead_letter_topic: str
    dead_letter_reason: str | None


class DeliveryKeys(TypedDict):
    """Set when the delivery is first written (whichever stage comes first)."""

    _id: str  # delivery_id(tenant_id, invoice_id)
    tenant_id: str
    invoice_id: str
    batch_id: str
    batch_ids: list[str]  # every batch that asked for the invoice


class Delivery(DeliveryKeys, DeliveryFields, total=False):
    """A document of DELIVERIES; the readers below add `stage` (stage_of)."""

    stage: Stage | Literal["failed"]


class _OpenFields(TypedDict):
    tenant_id: str
    invoice_id: str
    batch_id: str
    link_id: str
    action: Literal["download", "view"]
    opened_at: datetime
    ip: str
    host: str | None  # its reverse DNS, when it answered in time
    user_agent: str | None
    flags: list[str]  # why it looks automated (read_tracker.scanners); none: a person's
    counted: bool  # a person's open: it confirms the invoice


class Open(_OpenFields):
    """An open of an invoice's link, as read-tracker records it in OPENS."""

    _id: str  # the invoice.opened event's id: an open is stored once


class OpenRow(_OpenFields):
    """An open as `confirmations` returns it, with its invoice's number."""

    open_id: str  # Open's _id
    number: str | None


def as_deliveries(docs: list[dict[str, Any]]) -> list[Delivery]:
    """Documents of DELIVERIES as their record: read-tracker writes them only through
    `DeliveryFields` (read_tracker.adapters.MongoDeliveries)."""
    return cast(list[Delivery], docs)


def batch_key(tenant_id: str, batch_id: str) -> str:
    return f"{tenant_id}/{batch_id}"


def delivery_id(tenant_id: str, invoice_id: str) -> str:
    return f"{tenant_id}/{invoice_id}"


def tracker_db(client: Client) -> Database:
    return service_db(client, "read-tracker")


def _stage_time(delivery: Delivery, stage: Stage) -> datetime | None:
    times = {
        "requested": delivery.get("requested_at"),
        "issued": delivery.get("issued_at"),
        "rendered": delivery.get("rendered_at"),
        "mailed": delivery.get("mailed_at"),
        "opened": delivery.get("first_opened_at"),
    }
    return times[stage]


def stage_of(delivery: Delivery) -> Stage | Literal["failed"]:
    """The furthest stage reached, or `failed` (rejected, refused by KSeF, bounced, or
    dead-lettered and not moved on since, e.g. by a replay or a KSeF registration)."""
    if delivery.get("failed_at"):
        return "failed"
    reached: Stage = "requested"
    latest: datetime | None = None
    for stage in STAGES:
        at = _stage_time(delivery, stage)
        if at:
            reached = stage
            latest = max(aware(latest), aware(at)) if latest else at
    # A KSeF registration is no stage of its own in the counts (invoices outside KSeF never
    # have one), but it moves the invoice on past a dead letter like any stage.
    if registered := delivery.get("ksef_registered_at"):
        latest = max(aware(latest), aware(registered)) if latest else registered
    dead = delivery.get("dead_letter_at")
    if dead and (latest is None or aware(dead) > aware(latest)):
        return "failed"
    return reached


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def failure_of(delivery: Delivery) -> tuple[str | None, list[str]]:
    if delivery.get("failed_at"):
        return delivery.get("failed_stage"), delivery.get("failure_reasons") or []
    return delivery.get("dead_letter_topic"), [delivery.get("dead_letter_reason") or "unknown"]


def summarise_batch(
    batch_id: str, deliveries: list[Delivery], expected: int | None = None
) -> dict[str, Any]:
    """Counts per stage: how many invoices reached each stage, and which failed and why;
    and how many stand where with KSeF (`ksef`: waiting, registered, rejected, outside).
    `expected` is the batch's size when known (the invoices not yet seen are in flight)."""
    counts = dict.fromkeys((*STAGES, "failed"), 0)
    ksef = dict.fromkeys(KSEF_STATUSES, 0)
    failures = []
    for d in deliveries:
        if (ksef_status := d.get("ksef_status")) is not None and ksef_status in ksef:
            ksef[ksef_status] += 1
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
        "ksef": ksef,
        "done": done,
        "complete": done >= expected and expected > 0,
        "failures": failures,
    }


async def batch_status(client: Client, tenant_id: str, batch_id: str) -> dict[str, Any] | None:
    db = tracker_db(client)
    batch = await db[BATCHES].find_one({"_id": batch_key(tenant_id, batch_id)})
    if batch is None:
        return None
    deliveries = as_deliveries(
        await db[DELIVERIES].find({"tenant_id": tenant_id, "batch_ids": batch_id}).to_list(None)
    )
    return summarise_batch(batch_id, deliveries, batch.get("size")) | {
        "started_at": batch.get("started_at"),
        "mail_waiting": await mail_waiting(client, tenant_id, batch_id),
    }


async def batch_invoices(client: Client, tenant_id: str, batch_id: str) -> list[Delivery]:
    cursor = tracker_db(client)[DELIVERIES].find({"tenant_id": tenant_id, "batch_ids": batch_id})
    rows = _with_stage(as_deliveries(await cursor.to_list(None)))
    return sorted(rows, key=lambda r: r.get("number") or "")


async def confirmations(
    client: Client,
    tenant_id: str,
    *,
    batch_id: str | None = None,
    invoice_id: str | None = None,
    limit: int = 500,
    include_flagged: bool = False,
) -> list[OpenRow]:
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
    numbers: dict[str, str | None] = {}
    if rows:
        ids = list({r["invoice_id"] for r in rows})
        found = tracker_db(client)[DELIVERIES].find(
            {"_id": {"$in": [delivery_id(tenant_id, i) for i in ids]}},
            {"invoice_id": 1, "number": 1},
        )
        numbers = {d["invoice_id"]: d.get("number") for d in await found.to_list(None)}
    # OPENS holds only what read-tracker stored as `Open`s: each becomes an OpenRow.
    return [
        cast(
            OpenRow,
            {key: value for key, value in row.items() if key != "_id"}
            | {"open_id": row["_id"], "number": numbers.get(row["invoice_id"])},
        )
        for row in rows
    ]


async def recent_batches(client: Client, tenant_id: str, limit: int = 20) -> list[dict[str, Any]]:
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


async def delivery(client: Client, tenant_id: str, invoice_id: str) -> Delivery | None:
    found = await tracker_db(client)[DELIVERIES].find_one(
        {"_id": delivery_id(tenant_id, invoice_id)}
    )
    return None if found is None else as_deliveries([found])[0]


def _with_stage(rows: list[Delivery]) -> list[Delivery]:
    for row in rows:
        row["stage"] = stage_of(row)
        if row["stage"] == "failed":
            row["failed_stage"], row["failure_reasons"] = failure_of(row)
    return rows


async def shopper_invoices(client: Client, shopper_id: str, limit: int = 200) -> list[Delivery]:
    """A shopper's own invoices (every chain), newest first."""
    cursor = (
        tracker_db(client)[DELIVERIES]
        .find({"shopper_id": shopper_id})
        .sort("requested_at", -1)
        .limit(limit)
    )
    return _with_stage(as_deliveries(await cursor.to_list(None)))


async def shopper_invoice(client: Client, shopper_id: str, invoice_id: str) -> Delivery | None:
    """One of the shopper's invoices; None for anybody else's."""
    rows = (
        await tracker_db(client)[DELIVERIES]
        .find({"shopper_id": shopper_id, "invoice_id": invoice_id})
        .to_list(1)
    )
    return _with_stage(as_deliveries(rows))[0] if rows else None


async def chain_invoices(
    client: Client,
    tenant_id: str,
    *,
    issued_from: str | None = None,
    issued_to: str | None = None,
    store_id: str | None = None,
    nip: str | None = None,
    stage: str | None = None,
    limit: int = 1000,
) -> list[Delivery]:
    """Every retail invoice of a chain, filtered; dates are ISO `YYYY-MM-DD` (issue date)."""
    query: dict[str, Any] = {"tenant_id": tenant_id, "kind": "retail"}
    if issued_from or issued_to:
        query["issue_date"] = {k: v for k, v in (("$gte", issued_from), ("$lte", issued_to)) if v}
    if store_id:
        query["store_id"] = store_id
    if nip:
        query["buyer_nip"] = nip
    cursor = tracker_db(client)[DELIVERIES].find(query).sort("requested_at", -1).limit(limit)
    rows = _with_stage(as_deliveries(await cursor.to_list(None)))
    return [r for r in rows if not stage or r["stage"] == stage]
