"""The simulator's UPO against the official UPO v4-3 schema, offline."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lxml import etree

from ksef_sim import upo
from ksef_sim.store import Invoice, OnlineSession
from tests.support import ROOT

UPO_XSD = ROOT / "deploy/local/ksef-sim/ksef_sim/schemas/upo-v4-3.xsd"
SAMPLE = "5265877635-20250916-0200A0D6723E-C2"


def _invoice(ksef_number: str, number: str) -> Invoice:
    moment = datetime(2026, 12, 7, 10, 5, 40, 841000, tzinfo=UTC)
    return Invoice(
        reference_number="20261207-EE-0000000001-0000000001-01",
        session_reference="20261207-SO-0000000001-0000000001-01",
        ordinal=1,
        invoice_hash="GZMGNVzs3krF6URKgvaw77OOeG3nJ+WGziT5xguliQ8=",
        received=moment,
        ready_at=moment,
        status_code=200,
        status_description="Sukces",
        ksef_number=ksef_number,
        invoice_number=number,
        seller_nip="5265877635",
        issue_date=date(2026, 12, 7),
        acquired=moment,
    )


def _session() -> OnlineSession:
    moment = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    return OnlineSession(
        "20261207-SO-0000000001-0000000001-01",
        "5265877635",
        "20261207-AU-0000000001-0000000001-01",
        ("FA (3)", "1-0E", "FA"),
        moment,
        moment,
        moment,
        b"k" * 32,
        b"i" * 16,
    )


def _problems(document: bytes) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(UPO_XSD)))
    return [] if schema.validate(etree.fromstring(document)) else [str(e) for e in schema.error_log]


def test_an_invoice_upo_is_valid_v4_3() -> None:
    document = upo.render(
        _session(), "20261207-EC-0000000001-0000000001-01", [_invoice(SAMPLE, "FV/1")]
    )
    assert _problems(document) == []


def test_a_session_upo_with_two_invoices_is_valid_v4_3() -> None:
    other = "5265877635-20261207-0100001AF629-" + "00"
    invoices = [_invoice(SAMPLE, "FV/1"), _invoice(other, "FV/2")]
    assert _problems(upo.render(_session(), None, invoices)) == []


def test_the_schema_refuses_what_it_should() -> None:
    # The check above can fail: the TE wording of the receiver is not the fixed value.
    document = upo.render(_session(), None, [_invoice(SAMPLE, "FV/1")])
    changed = document.replace(
        b"Ministerstwo Finans\xc3\xb3w<",
        b"Ministerstwo Finans\xc3\xb3w - \xc5\x9brodowisko testowe (TE)<",
    )
    assert changed != document
    assert _problems(changed)
