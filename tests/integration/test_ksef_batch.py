"""Batch sessions through `ksef_api` against the real simulator (`python -m ksef_sim` on a free
loopback port): a ZIP of FA(3) invoices in AES-256 encrypted parts uploaded to the
simulator's pre-signed URLs, the package processed after close, every invoice's status (paged),
KSeF numbers, UPOs; duplicates, invalid files, tampered parts, the documented limits, the
fault switch and the processing delay. Every `/v2` answer the client gets is checked against
the OpenAPI (`checking_openapi`)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from lxml import etree

from ksef_api import (
    BatchPackage,
    BatchPart,
    KsefApi,
    KsefError,
    PartUpload,
    RetryableError,
    aes_cbc_encrypt,
    b64_sha256,
    build_batch,
    build_zip,
    split_parts,
)
from tests.support import ROOT
from tests.support.fa3_sample import fa3_invoice
from tests.support.ksef import Simulator, checking_openapi, ksef_number_ok, start_simulator
from tests.support.openapi import check

WARSAW = ZoneInfo("Europe/Warsaw")
SELLER = "5265877635"
UPO_XSD = ROOT / "deploy/local/ksef-sim/ksef_sim/schemas/upo-v4-3.xsd"
UPO_NS = {"upo": "http://upo.schematy.mf.gov.pl/KSeF/v4-3"}


def today() -> date:
    return datetime.now(WARSAW).date()


def invoices(count: int, prefix: str = "FV") -> list[tuple[str, bytes]]:
    """`count` valid FA(3) invoices of today with distinct numbers, named as files."""
    run = secrets.token_hex(4)
    return [
        (f"faktura-{i:05d}.xml", fa3_invoice(SELLER, f"{prefix}/{run}/{i}", today()))
        for i in range(1, count + 1)
    ]


def upo_valid(document: bytes) -> bool:
    schema = etree.XMLSchema(etree.parse(str(UPO_XSD)))
    return bool(schema.validate(etree.fromstring(document)))


def seed_token(sim: Simulator, nip: str = SELLER) -> str:
    response = httpx.post(f"{sim.base_url}/_sim/tokens", json={"nip": nip})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


class Client:
    """A `KsefApi` whose `/v2` answers are checked against the OpenAPI, authenticated."""

    def __init__(self, sim: Simulator) -> None:
        self.checked: list[str] = []
        self.api = KsefApi(f"{sim.base_url}/v2", http=checking_openapi(self.checked))
        self.sim = sim
        self.access = ""

    async def __aenter__(self) -> Client:
        self.access = (await self.api.authenticate(SELLER, seed_token(self.sim))).access_token
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.api.aclose()


@pytest.fixture
async def client(ksef_sim: Simulator) -> AsyncIterator[Client]:
    async with Client(ksef_sim) as opened:
        yield opened


async def test_a_batch_of_50_invoices_is_registered_with_ksef_numbers_and_upos(
    client: Client,
) -> None:
    api, access = client.api, client.access
    files = invoices(50)
    # Parts of at most 8 kB before encryption: the ZIP (about 30 kB) goes in several parts.
    reference, package = await api.send_batch(access, files, max_part_bytes=8_000)
    assert len(package.parts) >= 3
    assert reference[9:11] == "SB"

    state = await api.settled_session(access, reference, poll_interval=0.05)
    assert state["status"]["code"] == 200, state
    assert (state["invoiceCount"], state["successfulInvoiceCount"]) == (50, 50)
    assert state["failedInvoiceCount"] == 0

    statuses = await api.session_invoices(access, reference, page_size=10)  # five pages
    assert len(statuses) == 50
    assert [s.ordinal_number for s in statuses] == list(range(1, 51))
    assert [s.invoice_file_name for s in statuses] == [name for name, _ in files]
    for status in statuses:
        assert status.registered, status
        assert status.ksef_number and ksef_number_ok(status.ksef_number)
        assert status.ksef_number.startswith(f"{SELLER}-{today():%Y%m%d}-")
        assert status.invoice_hash == package.invoice_hashes[status.invoice_file_name or ""]
        assert status.acquisition_date and status.upo_download_url
    assert len({s.ksef_number for s in statuses}) == 50
    assert await api.session_invoices(access, reference, failed_only=True) == []

    for status in statuses[:3]:
        upo = await api.invoice_upo(access, reference, status.reference_number)
        assert upo_valid(upo)
        assert etree.fromstring(upo).xpath(
            "//upo:NumerKSeFDokumentu/text()", namespaces=UPO_NS
        ) == [status.ksef_number]
    session_upo = await api.session_upo(
        access, reference, state["upo"]["pages"][0]["referenceNumber"]
    )
    assert upo_valid(session_upo)
    numbers = etree.fromstring(session_upo).xpath(
        "//upo:NumerKSeFDokumentu/text()", namespaces=UPO_NS
    )
    assert sorted(numbers) == sorted(s.ksef_number for s in statuses)
    async with httpx.AsyncClient() as http:
        # By KSeF number, as the OpenAPI's other UPO path has it.
        by_number = await http.get(
            f"{client.sim.base_url}/v2/sessions/{reference}/invoices/ksef/"
            f"{statuses[-1].ksef_number}/upo",
            headers={"Authorization": f"Bearer {access}"},
        )
        check(by_number, "GET", "/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo")
        assert by_number.headers["x-ms-meta-hash"] == b64_sha256(by_number.content)
        assert upo_valid(by_number.content)
        assert etree.fromstring(by_number.content).xpath(
            "//upo:NumerFaktury/text()", namespaces=UPO_NS
        ) == [statuses[-1].invoice_number]
        # The storage link needs no token, as KSeF's.
        stored = await http.get(statuses[0].upo_download_url or "")
    assert stored.status_code == 200 and upo_valid(stored.content)

    for operation in (
        "POST /sessions/batch",
        "POST /sessions/batch/{referenceNumber}/close",
        "GET /sessions/{referenceNumber}",
        "GET /sessions/{referenceNumber}/invoices",
        "GET /sessions/{referenceNumber}/invoices/failed",
        "GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
        "GET /sessions/{referenceNumber}/upo/{upoReferenceNumber}",
    ):
        assert operation in client.checked


async def test_a_duplicate_in_a_later_batch_is_already_registered_with_the_original_number(
    client: Client,
) -> None:
    api, access = client.api, client.access
    first_files = invoices(3)
    first_ref, _ = await api.send_batch(access, first_files)
    assert (await api.settled_session(access, first_ref, poll_interval=0.05))["status"][
        "code"
    ] == 200
    first = {s.invoice_file_name: s for s in await api.session_invoices(access, first_ref)}

    # A redelivery: the second invoice's exact bytes again, beside a new one.
    second_files = [("again.xml", first_files[1][1]), *invoices(1, "FN")]
    second_ref, _ = await api.send_batch(access, second_files)
    state = await api.settled_session(access, second_ref, poll_interval=0.05)
    assert state["status"]["code"] == 200, state
    assert (state["successfulInvoiceCount"], state["failedInvoiceCount"]) == (1, 1)
    again, new = await api.session_invoices(access, second_ref)

    original = first[first_files[1][0]]
    assert again.code == 440 and again.already_registered, again
    assert not again.registered and again.ksef_number is None
    assert again.original_ksef_number == original.ksef_number
    assert again.original_session_reference_number == first_ref
    assert new.registered
    failed = await api.session_invoices(access, second_ref, failed_only=True)
    assert [f.invoice_file_name for f in failed] == ["again.xml"]


async def test_a_batch_with_invalid_invoices_registers_the_others(client: Client) -> None:
    api, access = client.api, client.access
    good = invoices(6)
    broken = good[1][1].replace(b"<P_2>", b"<P_2_typo>").replace(b"</P_2>", b"</P_2_typo>")
    tomorrow = today() + timedelta(days=1)
    files = [
        good[0],
        ("broken.xml", broken),
        good[2],
        ("future.xml", fa3_invoice(SELLER, f"FF/{secrets.token_hex(4)}", tomorrow)),
        (
            "bad-buyer-nip.xml",
            fa3_invoice(SELLER, f"FB/{secrets.token_hex(4)}", today(), "5213017229"),
        ),
        ("not-ours.xml", fa3_invoice("5260250274", f"FO/{secrets.token_hex(4)}", today())),
        ("twin.xml", good[2][1]),  # the same invoice twice in one package
        good[3],
    ]
    reference, _ = await api.send_batch(access, files)
    state = await api.settled_session(access, reference, poll_interval=0.05)
    assert state["status"]["code"] == 200, state
    assert (state["invoiceCount"], state["successfulInvoiceCount"]) == (8, 3)

    by_file = {s.invoice_file_name: s for s in await api.session_invoices(access, reference)}
    assert all(by_file[name].registered for name, _ in (good[0], good[2], good[3]))
    assert by_file["broken.xml"].code == 430
    assert any("P_2_typo" in detail for detail in by_file["broken.xml"].details)
    assert by_file["future.xml"].code == 450
    assert "P_1" in by_file["future.xml"].details[0]
    assert by_file["bad-buyer-nip.xml"].code == 450
    assert "5213017229" in by_file["bad-buyer-nip.xml"].details[0]
    assert by_file["not-ours.xml"].code == 410
    twin = by_file["twin.xml"]
    assert twin.code == 440 and twin.original_ksef_number == by_file[good[2][0]].ksef_number
    assert twin.original_session_reference_number == reference
    failed = await api.session_invoices(access, reference, failed_only=True)
    assert sorted(f.invoice_file_name or "" for f in failed) == sorted(
        ["broken.xml", "future.xml", "bad-buyer-nip.xml", "not-ours.xml", "twin.xml"]
    )


async def test_a_tampered_part_is_refused_and_the_session_cannot_close(client: Client) -> None:
    api, access = client.api, client.access
    package = build_batch(invoices(20), max_part_bytes=5_000)
    session = await api.open_batch_session(access, package)
    first, second, *rest = package.parts
    uploads = {u.ordinal_number: u for u in session.part_uploads}

    # Bytes changed after the hash was declared: same size, another SHA-256.
    tampered = bytearray(first.content)
    tampered[7] ^= 0xFF
    with pytest.raises(KsefError) as refused:
        await api.upload_part(uploads[1], BatchPart(1, bytes(tampered), first.file_hash))
    assert refused.value.http_status == 400 and "InvalidPartHash" in refused.value.message
    # A part cut short.
    with pytest.raises(KsefError) as short:
        await api.upload_part(uploads[2], BatchPart(2, second.content[:-16], second.file_hash))
    assert short.value.http_status == 400 and "InvalidPartSize" in short.value.message
    # Another part's URL; a forged signature.
    with pytest.raises(KsefError) as forged:
        forged_url = uploads[1].url.replace("sig=", "sig=x")
        await api.upload_part(PartUpload(1, "PUT", forged_url, uploads[1].headers), first)
    assert forged.value.http_status == 401

    for part in rest:
        await api.upload_part(uploads[part.ordinal_number], part)
    with pytest.raises(KsefError) as not_closed:
        await api.close_batch_session(access, session.reference_number)
    assert not_closed.value.codes == [21205]

    # The right bytes are then accepted and the package goes through.
    await api.upload_part(uploads[1], first)
    await api.upload_part(uploads[2], second)
    await api.close_batch_session(access, session.reference_number)
    state = await api.settled_session(access, session.reference_number, poll_interval=0.05)
    assert state["status"]["code"] == 200 and state["successfulInvoiceCount"] == 20
    # Closed: no more uploads, no second close.
    with pytest.raises(KsefError) as late:
        await api.upload_part(uploads[1], first)
    assert late.value.http_status == 403
    with pytest.raises(KsefError) as again:
        await api.close_batch_session(access, session.reference_number)
    assert again.value.codes == [21180]


def package_of(archive: bytes, *, part_bytes: int = 100_000_000) -> BatchPackage:
    """A package around any archive bytes (`build_batch` refuses what KSeF would refuse)."""
    key, iv = secrets.token_bytes(32), secrets.token_bytes(16)
    parts = []
    for number, piece in enumerate(split_parts(archive, part_bytes), start=1):
        encrypted = aes_cbc_encrypt(key, iv, piece)
        parts.append(BatchPart(number, encrypted, b64_sha256(encrypted)))
    return BatchPackage(len(archive), b64_sha256(archive), parts, key, iv, {})


async def settle_package(client: Client, package: BatchPackage) -> dict[str, Any]:
    session = await client.api.open_batch_session(client.access, package)
    await client.api.upload_parts(session, package)
    await client.api.close_batch_session(client.access, session.reference_number)
    return await client.api.settled_session(
        client.access, session.reference_number, poll_interval=0.05
    )


async def test_package_level_failures_have_the_documented_session_statuses(
    client: Client,
) -> None:
    # 405: the joined parts are not the declared ZIP (its hash declared wrong).
    good = package_of(build_zip(invoices(2)))
    wrong_hash = BatchPackage(
        good.zip_size, b64_sha256(b"other"), good.parts, good.key, good.iv, {}
    )
    state = await settle_package(client, wrong_hash)
    assert state["status"]["code"] == 405, state
    # 430: not an archive at all.
    state = await settle_package(client, package_of(b"this is not a zip file" * 10))
    assert state["status"]["code"] == 430, state
    # 440: an archive with no invoice.
    state = await settle_package(client, package_of(build_zip([])))
    assert state["status"]["code"] == 440, state
    # 445: every invoice refused.
    state = await settle_package(client, package_of(build_zip([("x.xml", b"<x/>")])))
    assert state["status"]["code"] == 445, state


async def test_more_than_10000_invoices_is_420(client: Client) -> None:
    xml = fa3_invoice(SELLER, "FV/limit", today())
    archive = build_zip((f"{i}.xml", xml) for i in range(10_001))
    state = await settle_package(client, package_of(archive))
    assert state["status"]["code"] == 420, state
    assert state["invoiceCount"] == 0


async def test_open_refuses_what_the_documented_limits_refuse(client: Client) -> None:
    api, access = client.api, client.access
    good = build_batch(invoices(1))
    part = good.parts[0]
    many = BatchPackage(
        good.zip_size,
        good.zip_hash,
        [BatchPart(n, part.content, part.file_hash) for n in range(1, 52)],
        good.key,
        good.iv,
        {},
    )
    with pytest.raises(KsefError) as too_many:
        await api.open_batch_session(access, many)
    assert too_many.value.codes == [21161]

    async with httpx.AsyncClient() as http:
        huge = await http.post(
            f"{client.sim.base_url}/v2/sessions/batch",
            headers={"Authorization": f"Bearer {access}"},
            json={
                "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
                "batchFile": {
                    "fileSize": 200_000_000,
                    "fileHash": good.zip_hash,
                    "fileParts": [
                        {"ordinalNumber": 1, "fileSize": 100_000_048, "fileHash": part.file_hash},
                        {"ordinalNumber": 2, "fileSize": 100_000_000, "fileHash": part.file_hash},
                    ],
                },
                "encryption": {
                    "encryptedSymmetricKey": base64.b64encode(b"k" * 256).decode(),
                    "initializationVector": base64.b64encode(good.iv).decode(),
                },
            },
        )
        assert huge.status_code == 400
        check(huge, "POST", "/sessions/batch")
        assert huge.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21157

        # A package over 5 GB is refused by the schema's maximum (21405).
        body = json.loads(huge.request.content)
        body["batchFile"]["fileSize"] = 5_000_000_001
        body["batchFile"]["fileParts"] = [
            {"ordinalNumber": 1, "fileSize": 16, "fileHash": part.file_hash}
        ]
        over = await http.post(
            f"{client.sim.base_url}/v2/sessions/batch",
            headers={"Authorization": f"Bearer {access}"},
            json=body,
        )
        check(over, "POST", "/sessions/batch")
        assert over.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21405


async def test_the_fault_switch_covers_batch_sessions_and_uploads(
    client: Client, ksef_sim: Simulator
) -> None:
    api, access = client.api, client.access
    package = build_batch(invoices(2))
    session = await api.open_batch_session(access, package)
    faults = f"{ksef_sim.base_url}/_sim/faults"
    async with httpx.AsyncClient() as http:
        (await http.post(faults, json={"outage": True})).raise_for_status()
        try:
            with pytest.raises(RetryableError) as upload:
                await api.upload_parts(session, package)
            with pytest.raises(RetryableError) as opening:
                await api.open_batch_session(access, package)
        finally:
            (await http.post(faults, json={"outage": False})).raise_for_status()
    assert upload.value.http_status == 503 and upload.value.retry_after == 5
    assert opening.value.http_status == 503
    await api.upload_parts(session, package)
    await api.close_batch_session(access, session.reference_number)
    state = await api.settled_session(access, session.reference_number, poll_interval=0.05)
    assert state["status"]["code"] == 200


@pytest.fixture(scope="module")
def slow_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """A simulator that keeps a closed batch processing for a second."""
    simulator = start_simulator(
        Path(tmp_path_factory.mktemp("ksef-sim-slow")),
        KSEF_SIM_BATCH_PROCESSING_DELAY_SECONDS="1",
    )
    yield simulator
    simulator.stop()


async def test_a_closed_batch_shows_150_for_the_processing_delay(slow_sim: Simulator) -> None:
    async with Client(slow_sim) as client:
        api, access = client.api, client.access
        package = build_batch(invoices(2))
        session = await api.open_batch_session(access, package)
        opened = await api.session_status(access, session.reference_number)
        assert opened["status"]["code"] == 100
        await api.upload_parts(session, package)
        await api.close_batch_session(access, session.reference_number)
        closed_at = time.monotonic()
        processing = await api.session_status(access, session.reference_number)
        assert processing["status"]["code"] == 150
        assert await api.session_invoices(access, session.reference_number) == []
        state = await api.settled_session(access, session.reference_number, poll_interval=0.05)
        assert state["status"]["code"] == 200
        assert time.monotonic() - closed_at >= 0.9
