"""An issued invoice as FA(3) XML: `build(invoice, created_at=...) -> bytes`.

The bytes are a function of the invoice and `created_at` alone (no clock, no random ids, a
fixed element order and number format), because KSeF and the invoice's verification code
(KOD I) hash the exact bytes: rebuilding a stored invoice gives the very same file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from einvoice import events
from fa3 import parties
from fa3.values import (
    RATES,
    SUM_ORDER,
    Fa3Error,
    account,
    amount,
    day,
    moment,
    payment_form,
    plain,
    price,
    root,
    sub,
)

WARSAW = ZoneInfo("Europe/Warsaw")
PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>\n'
SYSTEM_INFO = "einvoice"


def build(
    invoice: events.InvoiceIssued, *, created_at: datetime, system_info: str = SYSTEM_INFO
) -> bytes:
    """The FA(3) XML of `invoice`, UTF-8 without a BOM; `created_at` (zone-aware) is
    `DataWytworzeniaFa`. Raises `Fa3Error` for an invoice FA(3) cannot express; validate
    the result with `fa3.validate`."""
    faktura = root("Faktura")
    _header(faktura, created_at, system_info)
    parties.seller(faktura, invoice.seller)
    parties.buyer(faktura, invoice)
    parties.buyer_unit(faktura, invoice)
    _fa(sub(faktura, "Fa"), invoice)
    if invoice.notes:
        sub(sub(sub(faktura, "Stopka"), "Informacje"), "StopkaFaktury", invoice.notes)
    body: bytes = etree.tostring(faktura, encoding="UTF-8", pretty_print=True)
    return PROLOG + body


def _header(parent: Any, created_at: datetime, system_info: str) -> None:
    header = sub(parent, "Naglowek")
    code = sub(header, "KodFormularza", "FA")
    code.set("kodSystemowy", "FA (3)")
    code.set("wersjaSchemy", "1-0E")
    sub(header, "WariantFormularza", "3")
    sub(header, "DataWytworzeniaFa", moment(created_at))
    sub(header, "SystemInfo", system_info)


def _fa(fa: Any, invoice: events.InvoiceIssued) -> None:
    sub(fa, "KodWaluty", invoice.currency)
    sub(fa, "P_1", day(invoice.issue_date))
    sub(fa, "P_2", invoice.number)
    if invoice.billing_period is not None:
        period = sub(fa, "OkresFa")
        sub(period, "P_6_Od", day(invoice.billing_period.start))
        sub(period, "P_6_Do", day(invoice.billing_period.end))
    elif invoice.sale_date is not None and invoice.sale_date != invoice.issue_date:
        # P_6 only "if the date is known and differs from the issue date" (the XSD).
        sub(fa, "P_6", day(invoice.sale_date))
    _sums(fa, invoice)
    sub(fa, "P_15", amount(invoice.totals.gross))
    _annotations(sub(fa, "Adnotacje"), invoice)
    sub(fa, "RodzajFaktury", "VAT")
    if invoice.receipt is not None:
        sub(fa, "FP", "1")  # issued for a till receipt (art. 109 ust. 3d)
        _receipt(fa, invoice.receipt)
    for line in invoice.lines:
        _row(sub(fa, "FaWiersz"), line, invoice.price_basis)
    _payment(fa, invoice)


def _sums(fa: Any, invoice: events.InvoiceIssued) -> None:
    """Per rate: the net sum (P_13_x) and, for the taxed rates, the VAT (P_14_x), from the
    binding VAT summary."""
    rows = {row.vat_rate: row for row in invoice.vat_summary}
    for rate in SUM_ORDER:
        if (row := rows.get(rate)) is None:
            continue
        _, net_field, vat_field = RATES[rate]
        sub(fa, net_field, amount(row.net))
        if vat_field is not None:
            sub(fa, vat_field, amount(row.vat))


def _annotations(node: Any, invoice: events.InvoiceIssued) -> None:
    sub(node, "P_16", "2")  # no cash accounting ("metoda kasowa")
    sub(node, "P_17", "2")  # no self-billing
    sub(node, "P_18", "2")  # no reverse charge
    sub(node, "P_18A", "1" if invoice.split_payment else "2")
    exemption = sub(node, "Zwolnienie")
    if any(line.vat_rate == "zw" for line in invoice.lines):
        if invoice.exemption is None:
            raise Fa3Error("a zw line needs the legal basis of the exemption")
        sub(exemption, "P_19", "1")
        field = {"act": "P_19A", "directive": "P_19B", "other": "P_19C"}[invoice.exemption.basis]
        sub(exemption, field, invoice.exemption.text)
    else:
        sub(exemption, "P_19N", "1")
    sub(sub(node, "NoweSrodkiTransportu"), "P_22N", "1")
    sub(node, "P_23", "2")  # not the simplified triangular procedure
    sub(sub(node, "PMarzy"), "P_PMarzyN", "1")


def _receipt(fa: Any, receipt: events.ReceiptRef) -> None:
    """FA(3) has no field for the receipt itself: it goes in `DodatkowyOpis`."""
    purchased = receipt.purchased_at.astimezone(WARSAW)
    note = sub(fa, "DodatkowyOpis")
    sub(note, "Klucz", "Paragon fiskalny")
    sub(
        note,
        "Wartosc",
        f"nr {receipt.number} z dnia {purchased:%d.%m.%Y %H:%M}, sklep {receipt.store_id}",
    )


def _row(row: Any, line: events.LineOut, price_basis: str) -> None:
    sub(row, "NrWierszaFa", str(line.position))
    sub(row, "P_7", line.name)
    sub(row, "P_8A", line.unit)
    sub(row, "P_8B", plain(line.quantity))
    if price_basis == "gross":  # art. 106e ust. 7: unit price and value with the tax
        sub(row, "P_9B", price(line.unit_price))
        sub(row, "P_11A", amount(line.gross))
    else:
        sub(row, "P_9A", price(line.unit_price))
        sub(row, "P_11", amount(line.net))
    sub(row, "P_12", RATES[line.vat_rate][0])


def _payment(fa: Any, invoice: events.InvoiceIssued) -> None:
    payment = invoice.payment
    node = sub(fa, "Platnosc")
    if invoice.receipt is not None:  # paid at the till
        sub(node, "Zaplacono", "1")
        sub(node, "DataZaplaty", day(invoice.receipt.purchased_at.astimezone(WARSAW).date()))
    if payment.due_date is not None:
        sub(sub(node, "TerminPlatnosci"), "Termin", day(payment.due_date))
    if (form := payment_form(payment.method)) is not None:
        sub(node, "FormaPlatnosci", str(form))
    else:
        sub(node, "PlatnoscInna", "1")
        sub(node, "OpisPlatnosci", payment.method)
    if payment.bank_account:
        sub(sub(node, "RachunekBankowy"), "NrRB", account(payment.bank_account))


__all__ = ["Fa3Error", "build"]
