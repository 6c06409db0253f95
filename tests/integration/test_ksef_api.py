"""`ksef_api` against the real simulator (`python -m ksef_sim` on a free loopback port):
KSeF-token authentication, an online session with two `fa3.build` invoices, their KSeF
numbers and UPOs, a duplicate surfaced as already registered, a 429 as a retryable error."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from lxml import etree

import fa3
from ksef_api import AuthenticationFailed, KsefApi, RetryableError
from tests.support import ROOT
from tests.support.builders import SELLER_NIP, issued_invoice
from tests.support.ksef import Simulator, b64_sha256, ksef_number_ok, start_simulator

WARSAW = ZoneInfo("Europe/Warsaw")
UPO_XSD = ROOT / "deploy/local/ksef-sim/ksef_sim/schemas/upo-v4-3.xsd"
UPO_NS = {"upo": "http://upo.schematy.mf.gov.pl/KSeF/v4-3"}


def seed_token(sim: Simulator, nip: str = SELLER_NIP) -> str:
    response = httpx.post(f"{sim.base_url}/_sim/tokens", json={"nip": nip})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def invoice_xml() -> bytes:
    """A fresh invoice of today (Warsaw), built and valid as invoice-builder stores it."""
    now = datetime.now(WARSAW)
    day = now.date().isoformat()
    payment = {"method": "przelew", "due_date": (now.date() + timedelta(days=14)).isoformat()}
    number = f"FV/{secrets.token_hex(4)}/2026"
    invoice = issued_invoice(number=number, issue_date=day, sale_date=day, payment=payment)
    xml = fa3.build(invoice, created_at=now)
    assert fa3.validate(xml) == []
    return xml


def upo_valid(document: bytes) -> bool:
    schema = etree.XMLSchema(etree.parse(str(UPO_XSD)))
    return bool(schema.validate(etree.fromstring(document)))


async def test_two_invoices_get_ksef_numbers_and_upos(ksef_sim: Simulator) -> None:
    async with KsefApi(f"{ksef_sim.base_url}/v2") as api:
        tokens = await api.authenticate(SELLER_NIP, seed_token(ksef_sim))
        access = tokens.access_token
        session = await api.open_online_session(access)
        xmls = [invoice_xml(), invoice_xml()]
        refs = [await api.send_invoice(access, session, xml) for xml in xmls]
        statuses = [
            await api.settled_invoice(access, session.reference_number, ref) for ref in refs
        ]

        for xml, status in zip(xmls, statuses, strict=True):
            assert status.code == 200 and status.registered, status
            assert status.ksef_number and ksef_number_ok(status.ksef_number)
            assert status.ksef_number.startswith(f"{SELLER_NIP}-")
            assert status.acquisition_date and status.upo_download_url
            upo = await api.invoice_upo(access, session.reference_number, status.reference_number)
            assert upo_valid(upo)
            document = etree.fromstring(upo).find("upo:Dokument", UPO_NS)
            assert document is not None
            assert document.findtext("upo:NumerKSeFDokumentu", namespaces=UPO_NS) == (
                status.ksef_number
            )
            assert document.findtext("upo:SkrotDokumentu", namespaces=UPO_NS) == b64_sha256(xml)
        assert len({s.ksef_number for s in statuses}) == 2

        await api.close_online_session(access, session.reference_number)
        state = await api.session_status(access, session.reference_number)
        assert state["status"]["code"] == 200, state
        assert (state["invoiceCount"], state["successfulInvoiceCount"]) == (2, 2)
        pages = state["upo"]["pages"]
        session_upo = await api.session_upo(
            access, session.reference_number, pages[0]["referenceNumber"]
        )
        assert upo_valid(session_upo)
        numbers = etree.fromstring(session_upo).xpath(
            "//upo:NumerKSeFDokumentu/text()", namespaces=UPO_NS
        )
        assert sorted(numbers) == sorted(s.ksef_number for s in statuses)


async def test_a_duplicate_is_already_registered_with_the_original_number(
    ksef_sim: Simulator,
) -> None:
    async with KsefApi(f"{ksef_sim.base_url}/v2") as api:
        access = (await api.authenticate(SELLER_NIP, seed_token(ksef_sim))).access_token
        xml = invoice_xml()
        first_session = await api.open_online_session(access)
        first_ref = await api.send_invoice(access, first_session, xml)
        first = await api.settled_invoice(access, first_session.reference_number, first_ref)
        assert first.registered and not first.already_registered

        # A redelivery sends the same bytes again, in a later session.
        second_session = await api.open_online_session(access)
        again = await api.send_invoice(access, second_session, xml)
        second = await api.settled_invoice(access, second_session.reference_number, again)

        assert second.code == 440 and second.already_registered, second
        assert not second.registered and second.ksef_number is None
        assert second.original_ksef_number == first.ksef_number
        assert second.original_session_reference_number == first_session.reference_number


async def test_an_unknown_token_fails_authentication(ksef_sim: Simulator) -> None:
    async with KsefApi(f"{ksef_sim.base_url}/v2") as api:
        with pytest.raises(AuthenticationFailed) as failed:
            await api.authenticate(SELLER_NIP, "not-a-token")
    assert failed.value.code == 450


@pytest.fixture(scope="module")
def limited_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """A simulator with the production rate limits (`onlineSession` 10/s, 30/min)."""
    simulator = start_simulator(
        Path(tmp_path_factory.mktemp("ksef-sim-limited")), KSEF_SIM_RATE_LIMITS="production"
    )
    yield simulator
    simulator.stop()


async def test_a_429_is_a_retryable_error_carrying_the_wait(limited_sim: Simulator) -> None:
    async with KsefApi(f"{limited_sim.base_url}/v2") as api:
        access = (await api.authenticate(SELLER_NIP, seed_token(limited_sim))).access_token
        opened = 0
        with pytest.raises(RetryableError) as refused:
            for _ in range(40):
                await api.open_online_session(access)
                opened += 1
    assert 10 <= opened <= 30
    assert refused.value.http_status == 429
    assert refused.value.retry_after >= 1
