"""In-memory fakes of the ports the handlers depend on (builders of events are in
tests/support/builders.py, the MongoDB fake in tests/support/mongo.py).

Nothing here touches Kafka, MongoDB, S3, SMTP or the network. Each fake records its calls so
tests can assert on effects (how many saves, renders, mails) as well as on outputs.
"""

from __future__ import annotations

import copy
import email.policy
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage, Message
from typing import Any

from einvoice import events
from einvoice.readmodels import tracking
from tests.support.mongo import FakeCollection

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

    async def raise_ksef_status(self, tenant_id: str, invoice_id: str, status: str) -> None:
        """Like the conditional update: only over a weaker status (or none)."""
        doc = self.docs.get((tenant_id, invoice_id))
        if doc is not None and doc.get("ksef_status") not in tracking.ksef_outranking(status):
            doc["ksef_status"] = status

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
