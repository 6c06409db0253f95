"""In-memory fakes of the ports the handlers depend on, and builders of realistic events.

Nothing here touches Kafka, MongoDB, S3, SMTP or the network. Each fake records its calls so
tests can assert on effects (how many saves, renders, mails) as well as on outputs.
"""

from __future__ import annotations

import copy
import email.policy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage, Message
from typing import Any

from einvoice import events
from einvoice.bus import Outgoing
from invoice_builder.issuing import issue
from tests.support.clock import T0
from tests.support.mongo import FakeCollection

TENANT = "acme-energia"
BATCH = "batch-2025-01"
SELLER_NIP = "5260250274"  # valid by checksum (Ministerstwo Finansów)
BUYER_NIP = "7740001454"  # valid by checksum


# --- Kafka-ish ----------------------------------------------------------------------------


@dataclass
class FakeRecord:
    """Just the ConsumerRecord attributes the bus and the raw handlers read."""

    topic: str
    value: bytes | None
    key: bytes | None = b"inv-1"
    partition: int = 3
    offset: int = 42


def record_of(env: events.Envelope, *, topic: str | None = None, key: bytes | None = b"inv-1"):
    return FakeRecord(topic=topic or env.type, value=env.model_dump_json().encode(), key=key)


def decoded(out: Outgoing) -> dict[str, Any]:
    return json.loads(out.value)


def at(env: events.Envelope, moment: datetime) -> events.Envelope:
    """The same event, as if it had occurred at `moment`."""
    return env.model_copy(update={"occurred_at": moment})


# --- payload builders ---------------------------------------------------------------------


def request_payload(**overrides: Any) -> dict[str, Any]:
    """A valid net-basis invoice.requested payload.

    3 x 33.33 @23% -> net 99.99; 2 x 10.00 @8% -> net 20.00.
    Summary: 23%: 99.99 / 23.00 / 122.99; 8%: 20.00 / 1.60 / 21.60.
    Totals: net 119.99, VAT 24.60, gross 144.59.
    """
    data: dict[str, Any] = {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "batch_size": 1,
        "number": "FV/2025/01/0001",
        "issue_date": "2025-01-31",
        "sale_date": "2025-01-31",
        "price_basis": "net",
        "seller": {
            "name": "Acme Energia Sp. z o.o.",
            "nip": SELLER_NIP,
            "address": {"street": "ul. Prosta 1", "postal_code": "00-001", "city": "Warszawa"},
        },
        "buyer": {
            "name": "Jan Kowalski",
            "address": {"street": "ul. Krzywa 2", "postal_code": "30-001", "city": "Kraków"},
            "email": "jan.kowalski@example.pl",
        },
        "lines": [
            {
                "name": "Energia czynna",
                "quantity": "3",
                "unit": "kWh",
                "unit_price": "33.33",
                "vat_rate": "23",
            },
            {"name": "Opłata mocowa", "quantity": "2", "unit_price": "10.00", "vat_rate": "8"},
        ],
        "payment": {"method": "przelew", "due_date": "2025-02-14"},
    }
    data.update(overrides)
    return data


def requested_event(
    payload: dict[str, Any] | None = None, *, event_id: str = "req-1", tenant: str = TENANT
) -> events.Envelope:
    """An invoice.requested envelope; the payload is NOT validated (tests feed bad ones)."""
    return events.Envelope(
        event_id=event_id,
        type=events.INVOICE_REQUESTED,
        schema_version=events.SCHEMA_VERSION,
        occurred_at=T0,
        tenant_id=tenant,
        correlation_id=BATCH,
        payload=request_payload() if payload is None else payload,
    )


def issued_invoice(**overrides: Any) -> events.InvoiceIssued:
    result = issue(events.InvoiceRequested.model_validate(request_payload(**overrides)))
    assert isinstance(result, events.InvoiceIssued), result
    return result


def issued_event(invoice: events.InvoiceIssued | None = None, *, event_id: str = "iss-1"):
    invoice = invoice or issued_invoice()
    return events.envelope(
        events.INVOICE_ISSUED,
        invoice,
        tenant_id=TENANT,
        correlation_id=invoice.batch_id,
        event_id=event_id,
    )


def rendered_payload(**overrides: Any) -> events.PdfRendered:
    data: dict[str, Any] = {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "number": "FV/2025/01/0001",
        "issue_date": "2025-01-31",
        "s3_bucket": "invoices",
        "s3_key": f"{TENANT}/2025/01/inv-1.pdf",
        "sha256": "ab" * 32,
        "size_bytes": 12345,
        "seller_name": "Acme Energia Sp. z o.o.",
        "buyer_name": "Jan Kowalski",
        "buyer_email": "jan.kowalski@example.pl",
        "total_gross": "1234.56",
        "currency": "PLN",
        "due_date": "2025-02-14",
    }
    data.update(overrides)
    return events.PdfRendered.model_validate(data)


def rendered_event(pdf: events.PdfRendered | None = None, *, event_id: str = "pdf-1"):
    pdf = pdf or rendered_payload()
    return events.envelope(
        events.PDF_RENDERED, pdf, tenant_id=TENANT, correlation_id=pdf.batch_id, event_id=event_id
    )


def event_of(event_type: str, payload: events.EventModel, *, event_id: str, when: datetime = T0):
    env = events.envelope(
        event_type, payload, tenant_id=TENANT, correlation_id=BATCH, event_id=event_id
    )
    return at(env, when)


# --- invoice-builder ----------------------------------------------------------------------


@dataclass
class FakeInvoiceRepository:
    """Like MongoInvoices: keyed by tenant/invoice id, first writer wins."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    saves: list[dict[str, Any]] = field(default_factory=list)

    async def get(self, tenant_id: str, invoice_id: str) -> dict[str, Any] | None:
        found = self.records.get(f"{tenant_id}/{invoice_id}")
        return copy.deepcopy(found) if found else None

    async def save_once(self, record: dict[str, Any]) -> dict[str, Any]:
        self.saves.append(copy.deepcopy(record))
        key = f"{record['tenant_id']}/{record['invoice_id']}"
        if key not in self.records and record["status"] == "issued":
            owner = await self.number_owner(record["tenant_id"], record["number"])
            if owner is not None:  # the unique index on issued numbers refuses the insert
                reason = f"number {record['number']!r} is already used by {owner}"
                rejected = {k: v for k, v in record.items() if k != "invoice"}
                return await self.save_once(rejected | {"status": "rejected", "reasons": [reason]})
        self.records.setdefault(key, copy.deepcopy(record) | {"_id": key})
        return copy.deepcopy(self.records[key])

    async def number_owner(self, tenant_id: str, number: str) -> str | None:
        for rec in self.records.values():
            if (
                rec["tenant_id"] == tenant_id
                and rec.get("number") == number
                and rec["status"] == "issued"
            ):
                return rec["invoice_id"]
        return None

    async def issue_numbered(self, record: dict[str, Any], series: str, number_of) -> dict:
        key = f"{record['tenant_id']}/{record['invoice_id']}"
        if key in self.records:
            return copy.deepcopy(self.records[key])
        taken = [
            r["seq"]
            for r in self.records.values()
            if r.get("series") == series and r["tenant_id"] == record["tenant_id"]
        ]
        seq = max(taken, default=0) + 1
        number = number_of(seq)
        self.records[key] = copy.deepcopy(record) | {
            "_id": key,
            "series": series,
            "seq": seq,
            "number": number,
            "invoice": record["invoice"] | {"number": number},
        }
        return copy.deepcopy(self.records[key])


# --- pdf-renderer -------------------------------------------------------------------------


@dataclass
class FakeStore:
    bucket: str = "invoices"
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    puts: list[str] = field(default_factory=list)

    async def head(self, key: str) -> dict[str, Any] | None:
        obj = self.objects.get(key)
        if obj is None:
            return None
        return {"size": len(obj["body"]), "metadata": dict(obj["metadata"])}

    async def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        metadata: dict[str, str],
        *,
        only_new: bool = False,
    ) -> bool:
        if only_new and key in self.objects:
            return False
        self.puts.append(key)
        self.objects[key] = {"body": body, "content_type": content_type, "metadata": metadata}
        return True


@dataclass
class FakeRender:
    """Returns a small fake PDF that depends on the invoice; counts its calls."""

    calls: list[str] = field(default_factory=list)

    async def __call__(
        self, invoice: events.InvoiceIssued, branding: events.Branding | None = None
    ) -> bytes:
        self.calls.append(invoice.invoice_id)
        return (
            b"%PDF-1.7 fake " + invoice.number.encode() + b" " + str(invoice.totals.gross).encode()
        )


# --- mailer -------------------------------------------------------------------------------


@dataclass
class FakeSendLog:
    """The mailer's links and, for resends, the PDFs of earlier jobs (read from `jobs`)."""

    jobs: FakeCollection
    links: list[dict[str, Any]] = field(default_factory=list)

    async def save_link(self, record: dict[str, Any]) -> None:
        assert all(link["_id"] != record["_id"] for link in self.links), "duplicate link id"
        self.links.append(dict(record))

    async def last_pdf(self, tenant_id: str, invoice_id: str) -> dict[str, Any] | None:
        found = [
            r
            for r in self.jobs.docs.values()
            if r["tenant_id"] == tenant_id and r["invoice_id"] == invoice_id and "pdf" in r
        ]
        return found[-1]["pdf"] if found else None

    async def revoke_links(self, tenant_id: str, invoice_id: str, before, keep_cause) -> None:
        for link in self.links:
            if (link["tenant_id"], link["invoice_id"]) == (tenant_id, invoice_id) and (
                link["created_at"] < before and link.get("cause_event_id") != keep_cause
            ):
                link["revoked"] = True


@dataclass
class FakeTenants:
    tenants: dict[str, events.TenantConfig] = field(default_factory=dict)

    def get(self, tenant_id: str) -> events.TenantConfig | None:
        return self.tenants.get(tenant_id)


def tenant_config(**overrides: Any) -> events.TenantConfig:
    data: dict[str, Any] = {"tenant_id": TENANT, "name": "Acme Energia", "kind": "utility"}
    data.update(overrides)
    return events.TenantConfig.model_validate(data)


def on_the_wire(message: Message) -> EmailMessage:
    """What an SMTP server makes of `message`: its bytes, parsed with today's policy."""
    return message_from_bytes(message.as_bytes(), policy=email.policy.default)


def text_part(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


@dataclass
class FakeMailSender:
    """The mailer's SMTP port: records (server, message) — the message as a server reads
    it from the wire; `fail_with` is raised instead, once per item if it is a list."""

    sent: list[tuple[Any, EmailMessage]] = field(default_factory=list)
    fail_with: Exception | list[Exception] | None = None
    attempts: int = 0

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, message in self.sent]

    async def send(self, server: Any, message: Message) -> None:
        self.attempts += 1
        failure = self.fail_with
        if isinstance(failure, list):
            failure = failure.pop(0) if failure else None
        if failure is not None:
            raise failure
        self.sent.append((server, on_the_wire(message)))


# --- read-tracker -------------------------------------------------------------------------


@dataclass
class FakeDeliveries:
    """Like MongoDeliveries: update is an upsert with $set / $setOnInsert."""

    docs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    opens: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    batches: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    async def register_batch(
        self, tenant_id: str, batch_id: str, size: int | None, at: datetime
    ) -> None:
        self.batches.setdefault((tenant_id, batch_id), {"size": size, "started_at": at})

    async def update(
        self, tenant_id: str, invoice_id: str, fields: dict[str, Any], on_insert: dict[str, Any]
    ) -> None:
        self.updates.append((tenant_id, invoice_id, dict(fields)))
        doc = self.docs.get((tenant_id, invoice_id))
        if doc is None:
            doc = self.docs[(tenant_id, invoice_id)] = dict(on_insert) | {
                "_id": f"{tenant_id}/{invoice_id}",
                "invoice_id": invoice_id,
            }
        doc.update(fields)

    async def get(self, tenant_id: str, invoice_id: str) -> dict[str, Any] | None:
        doc = self.docs.get((tenant_id, invoice_id))
        return dict(doc) if doc else None

    async def add_open(self, record: dict[str, Any]) -> bool:
        if record["_id"] in self.opens:
            return False
        self.opens[record["_id"]] = dict(record)
        return True


@dataclass
class FakeReverseDns:
    hosts: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def __call__(self, ip: str) -> str | None:
        self.calls.append(ip)
        return self.hosts.get(ip)


# --- receipt-ingest -----------------------------------------------------------------------


@dataclass
class FakeReceipts:
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: int = 0

    async def save_once(self, record: dict[str, Any]) -> bool:
        self.calls += 1
        if record["_id"] in self.stored:
            return False
        self.stored[record["_id"]] = dict(record)
        return True


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
