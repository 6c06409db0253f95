"""A sample invoice: what a chain tries its layout on, and what pdf-renderer warms its
workers up with."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

from einvoice import events
from invoice_pdf.ksef import KsefMark


def sample_invoice(
    tenant: events.TenantConfig | None = None, today: date | None = None
) -> events.InvoiceIssued:
    """A retail invoice (FP, for a receipt) of this chain to try a layout on; without a
    tenant, of an example chain (what pdf-renderer warms its workers up with)."""
    today = today or datetime.now(UTC).date()
    seller = (tenant.seller if tenant else None) or events.Party(
        name=tenant.name if tenant else "Przykładowa Sieć S.A.",
        address=events.Address(street="ul. Przykładowa 1", postal_code="00-001", city="Warszawa"),
    )
    d = Decimal
    lines = [
        events.LineOut(
            position=1,
            name="Kawa ziarnista 1 kg",
            quantity=d("2"),
            unit="szt.",
            unit_price=d("59.99"),
            vat_rate="23",
            net=d("97.54"),
            vat=d("22.44"),
            gross=d("119.98"),
        ),
        events.LineOut(
            position=2,
            name="Ser gouda",
            quantity=d("0.535"),
            unit="kg",
            unit_price=d("39.90"),
            vat_rate="5",
            net=d("20.33"),
            vat=d("1.02"),
            gross=d("21.35"),
        ),
    ]
    return events.InvoiceIssued(
        invoice_id="sample",
        batch_id="sample-receipt",
        number=f"FV/{today:%Y/%m}/000001",
        issue_date=today,
        sale_date=today,
        price_basis="gross",
        currency="PLN",
        seller=seller,
        buyer=events.Party(
            name="Przykładowa Firma Sp. z o.o.",
            nip="5261040828",
            address=events.Address(street="ul. Ogrodowa 3", postal_code="60-101", city="Poznań"),
            email="ksiegowosc@example.com",
        ),
        lines=lines,
        vat_summary=[
            events.VatSummaryRow(vat_rate="23", net=d("97.54"), vat=d("22.44"), gross=d("119.98")),
            events.VatSummaryRow(vat_rate="5", net=d("20.33"), vat=d("1.02"), gross=d("21.35")),
        ],
        totals=events.Totals(net=d("117.87"), vat=d("23.46"), gross=d("141.33")),
        payment=events.Payment(method="karta"),
        receipt=events.ReceiptRef(
            receipt_id="sample-receipt",
            number="000123",
            store_id="S001",
            purchased_at=datetime.combine(today, datetime.min.time(), UTC),
        ),
    )


def _crc8(data: bytes) -> int:
    """The KSeF number's checksum: CRC-8, polynomial 0x07, initial value 0."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def sample_ksef_mark(invoice: events.InvoiceIssued) -> KsefMark:
    """A made-up KSeF mark of `invoice`, well-formed (a KSeF number with its checksum, KOD I
    of the test environment with a hash of the invoice's number): to try a layout on, and
    what pdf-renderer warms its workers up with. KSeF knows neither."""
    nip = invoice.seller.nip or "5265877635"
    digest = hashlib.sha256(invoice.number.encode()).digest()
    stem = f"{nip}-{invoice.issue_date:%Y%m%d}-{digest[:6].hex().upper()}"
    file_hash = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return KsefMark(
        number=f"{stem}-{_crc8(stem.encode()):02X}",
        url=(
            "https://qr-test.ksef.mf.gov.pl/invoice/"
            f"{nip}/{invoice.issue_date:%d-%m-%Y}/{file_hash}"
        ),
    )
