"""UPO, the official receipt: XML valid against the UPO v4-3 schema (`schemas/upo-v4-3.xsd`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from .store import Invoice, Session

NAMESPACE = "http://upo.schematy.mf.gov.pl/KSeF/v4-3"
UPO_XSD = Path(__file__).resolve().parent / "schemas" / "upo-v4-3.xsd"
WARSAW = ZoneInfo("Europe/Warsaw")
# The schema fixes this value (the Ministry's TE samples say more and do not validate).
RECEIVER = "Ministerstwo Finansów"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    if text is not None:
        element.text = text
    return element


def _stamp(moment: datetime) -> str:
    return moment.astimezone(WARSAW).isoformat(timespec="milliseconds")


def render(session: Session, token_reference: str | None, invoices: Sequence[Invoice]) -> bytes:
    """The UPO of `invoices` (all registered, each with a KSeF number) sent in `session`."""
    root = etree.Element(f"{{{NAMESPACE}}}Potwierdzenie", nsmap={None: NAMESPACE})
    _sub(root, "NazwaPodmiotuPrzyjmujacego", RECEIVER)
    _sub(root, "NumerReferencyjnySesji", session.reference_number)
    auth = _sub(root, "Uwierzytelnienie")
    _sub(_sub(auth, "IdKontekstu"), "Nip", session.nip)
    _sub(auth, "NumerReferencyjnyTokenaKSeF", token_reference or session.auth_reference)
    _sub(root, "NazwaStrukturyLogicznej", "Schemat_FA(3)_v1-0E.xsd")
    _sub(root, "KodFormularza", "FA (3)")
    for invoice in invoices:
        assert invoice.ksef_number and invoice.issue_date and invoice.acquired
        document = _sub(root, "Dokument")
        _sub(document, "NipSprzedawcy", invoice.seller_nip)
        _sub(document, "NumerKSeFDokumentu", invoice.ksef_number)
        _sub(document, "NumerFaktury", invoice.invoice_number)
        _sub(document, "DataWystawieniaFaktury", invoice.issue_date.isoformat())
        _sub(document, "DataPrzeslaniaDokumentu", _stamp(invoice.received))
        _sub(document, "DataNadaniaNumeruKSeF", _stamp(invoice.acquired))
        _sub(document, "SkrotDokumentu", invoice.invoice_hash)
        offline = session.batch is not None and session.batch.offline_mode
        _sub(document, "TrybWysylki", "Offline" if offline else "Online")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
