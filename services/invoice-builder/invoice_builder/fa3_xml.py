"""The FA(3) XML of an issued invoice: built and validated when the invoice is decided (an
invalid one is rejected with the schema's reasons), stored in object storage when the
outcome is emitted, and announced in `invoice.issued` by key, size and SHA-256.

`DataWytworzeniaFa` is the decision's `fa3_created_at`, stored with it, so re-emitting an
outcome (a redelivery, a retail invoice once numbered) rebuilds the very same bytes; the
conditional PUT keeps the first object in any case: KSeF and KOD I hash the exact bytes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import fa3
from einvoice import events
from einvoice.bus import PermanentError
from einvoice.storage import Objects, invoice_key
from fa3.values import moment

CONTENT_TYPE = "application/xml"
_NS = "{" + fa3.NAMESPACE + "}"


def created_at_of(now: datetime) -> str:
    """`DataWytworzeniaFa` as stored with the decision: UTC, to the second."""
    return moment(now)


def fa3_key(tenant_id: str, invoice: events.InvoiceIssued) -> str:
    """Deterministic, beside the invoice's PDF."""
    return invoice_key(tenant_id, invoice, "fa3.xml")


def build_valid(invoice: events.InvoiceIssued, created_at: str) -> bytes | list[str]:
    """The invoice's FA(3) bytes, or why it cannot be valid FA(3) (reasons for the sender)."""
    try:
        xml = fa3.build(invoice, created_at=datetime.fromisoformat(created_at))
    except fa3.Fa3Error as exc:
        return [f"FA(3): {exc}"]
    problems = fa3.validate(xml)
    if problems:
        return [f"FA(3) XML invalid: {problem.replace(_NS, '')}" for problem in problems[:10]]
    return xml


async def store_fa3(
    store: Objects,
    tenant_id: str,
    invoice: events.InvoiceIssued,
    created_at: str,
    xml: bytes | None = None,
) -> events.Fa3Document:
    """Store the invoice's FA(3) XML once (`xml` if already built and validated) and
    describe the stored object."""
    if xml is None:
        built = build_valid(invoice, created_at)
        if isinstance(built, list):  # validated when decided: only a bug gets here
            raise PermanentError("; ".join(built))
        xml = built
    key = fa3_key(tenant_id, invoice)
    sha256, size = hashlib.sha256(xml).hexdigest(), len(xml)
    metadata = {"sha256": sha256, "invoice-id": invoice.invoice_id}
    if not await store.put(key, xml, CONTENT_TYPE, metadata, only_new=True):
        existing = await store.head(key)
        if existing and existing["metadata"].get("sha256"):  # the first one stays
            sha256, size = existing["metadata"]["sha256"], existing["size"]
        else:  # an object without its digest (written by hand?): the rebuilt bytes replace it
            await store.put(key, xml, CONTENT_TYPE, metadata)
    return events.Fa3Document(s3_bucket=store.bucket, s3_key=key, sha256=sha256, size_bytes=size)
