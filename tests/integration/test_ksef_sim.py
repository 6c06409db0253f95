"""The KSeF simulator as a real client sees it: over HTTP, encrypted, checked against the
OpenAPI, its KSeF numbers checked with the tests' own CRC-8 and its UPOs against the XSD."""

from __future__ import annotations

import base64
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from lxml import etree

import fa3
from tests.support import ROOT
from tests.support.builders import SELLER_NIP, issued_invoice
from tests.support.fa3_sample import fa3_invoice
from tests.support.ksef import (
    OAEP,
    KsefClient,
    Simulator,
    aes_encrypt,
    b64_sha256,
    ksef_number_ok,
    start_simulator,
)
from tests.support.openapi import check

UPO_XSD = ROOT / "deploy/local/ksef-sim/ksef_sim/schemas/upo-v4-3.xsd"
UPO_NS = {"upo": "http://upo.schematy.mf.gov.pl/KSeF/v4-3"}
WARSAW = ZoneInfo("Europe/Warsaw")
SELLER = "5265877635"
OTHER_SELLER = "1234563218"
BAD_CHECKSUM_NIP = "5265877636"


def today() -> date:
    return datetime.now(WARSAW).date()


def number() -> str:
    return f"FV/{secrets.token_hex(4)}/2026"


def seed_token(sim: Simulator, nip: str) -> str:
    response = httpx.post(f"{sim.base_url}/_sim/tokens", json={"nip": nip})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def client_in_session(sim: Simulator, nip: str = SELLER) -> tuple[KsefClient, str]:
    client = KsefClient(sim.base_url)
    client.authenticate(seed_token(sim, nip), nip)
    return client, client.open_session()


def upo_problems(document: bytes) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(UPO_XSD)))
    parsed = etree.fromstring(document)
    return [] if schema.validate(parsed) else [str(e) for e in schema.error_log]


def test_the_sample_invoice_is_valid_fa3() -> None:
    assert fa3.validate(fa3_invoice(SELLER, "FV/1/2026", today())) == []


def test_an_online_session_end_to_end(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim)
    xml = fa3_invoice(SELLER, number(), today())

    status = client.submit(session, xml)

    assert status["status"]["code"] == 200, status
    ksef_number = status["ksefNumber"]
    assert ksef_number_ok(ksef_number), ksef_number
    assert ksef_number.startswith(f"{SELLER}-{today():%Y%m%d}-")
    assert status["invoiceHash"] == b64_sha256(xml)

    headers = client.auth_headers()
    upo_path = "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo"
    upo = client.call(
        "GET",
        f"/sessions/{session}/invoices/{status['referenceNumber']}/upo",
        upo_path,
        headers=headers,
    )
    assert upo.status_code == 200
    assert upo_problems(upo.content) == []
    assert upo.headers["x-ms-meta-hash"] == b64_sha256(upo.content)
    parsed = etree.fromstring(upo.content)
    assert parsed.findtext("upo:Dokument/upo:NumerKSeFDokumentu", namespaces=UPO_NS) == ksef_number
    assert parsed.findtext("upo:Dokument/upo:SkrotDokumentu", namespaces=UPO_NS) == b64_sha256(xml)
    # The link KSeF hands out is fetched without the access token and gives the same UPO.
    linked = httpx.get(status["upoDownloadUrl"])
    assert linked.status_code == 200 and linked.content == upo.content

    by_number = client.call(
        "GET",
        f"/sessions/{session}/invoices/ksef/{ksef_number}/upo",
        "/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo",
        headers=headers,
    )
    assert by_number.content == upo.content

    listed = client.call(
        "GET",
        f"/sessions/{session}/invoices",
        "/sessions/{referenceNumber}/invoices",
        headers=headers,
    ).json()
    assert [i["ksefNumber"] for i in listed["invoices"]] == [ksef_number]

    closed = client.call(
        "POST",
        f"/sessions/online/{session}/close",
        "/sessions/online/{referenceNumber}/close",
        headers=headers,
    )
    assert closed.status_code == 204
    state = client.call(
        "GET", f"/sessions/{session}", "/sessions/{referenceNumber}", headers=headers
    ).json()
    assert state["status"]["code"] == 200
    assert (state["invoiceCount"], state["successfulInvoiceCount"]) == (1, 1)
    page = state["upo"]["pages"][0]
    session_upo = client.call(
        "GET",
        f"/sessions/{session}/upo/{page['referenceNumber']}",
        "/sessions/{referenceNumber}/upo/{upoReferenceNumber}",
        headers=headers,
    )
    assert upo_problems(session_upo.content) == []

    refused = client.send(session, client.invoice_body(fa3_invoice(SELLER, number(), today())))
    assert refused.status_code == 400
    assert refused.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21180


def test_an_invoice_from_fa3_build_is_registered(ksef_sim: Simulator) -> None:
    day = today().isoformat()
    payment = {"method": "przelew", "due_date": (today() + timedelta(days=14)).isoformat()}
    invoice = issued_invoice(number=number(), issue_date=day, sale_date=day, payment=payment)
    xml = fa3.build(invoice, created_at=datetime.now(WARSAW))
    client, session = client_in_session(ksef_sim, SELLER_NIP)
    status = client.submit(session, xml)
    assert status["status"]["code"] == 200, status
    assert ksef_number_ok(status["ksefNumber"])
    assert status["invoiceNumber"] == invoice.number


def signed_in_with_a_foreign_key(sim: Simulator) -> tuple[KsefClient, dict[str, str]]:
    """A signed-in client, and an `encryption` whose key was not encrypted for the simulator."""
    client = KsefClient(sim.base_url)
    client.authenticate(seed_token(sim, SELLER), SELLER)
    return client, client.encryption() | {
        "encryptedSymmetricKey": base64.b64encode(secrets.token_bytes(256)).decode()
    }


def test_a_session_key_that_does_not_decrypt_refuses_invoices(ksef_sim: Simulator) -> None:
    client, encryption = signed_in_with_a_foreign_key(ksef_sim)
    session = client.request_session(encryption).json()["referenceNumber"]
    state = client.call(
        "GET", f"/sessions/{session}", "/sessions/{referenceNumber}", headers=client.auth_headers()
    ).json()
    assert state["status"]["code"] == 415
    refused = client.send(session, client.invoice_body(fa3_invoice(SELLER, number(), today())))
    assert refused.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21180


def test_an_unknown_public_key_id_is_21470(ksef_sim: Simulator) -> None:
    client, encryption = signed_in_with_a_foreign_key(ksef_sim)
    unknown = base64.b64encode(bytes(32)).decode()
    refused = client.request_session(encryption | {"publicKeyId": unknown})
    assert refused.status_code == 400
    assert refused.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21470


def test_the_refresh_token_gives_a_working_access_token(ksef_sim: Simulator) -> None:
    client = KsefClient(ksef_sim.base_url)
    tokens = client.authenticate(seed_token(ksef_sim, SELLER), SELLER)
    headers = {"Authorization": f"Bearer {tokens['refreshToken']['token']}"}
    refreshed = client.call("POST", "/auth/token/refresh", "/auth/token/refresh", headers=headers)
    client.access_token = refreshed.json()["accessToken"]["token"]
    assert client.access_token != tokens["accessToken"]["token"]
    assert client.open_session()


def test_keys_survive_a_restart(tmp_path) -> None:
    first = start_simulator(tmp_path)
    try:
        before = httpx.get(f"{first.base_url}/v2/security/public-key-certificates").json()
    finally:
        first.stop()
    second = start_simulator(tmp_path)
    try:
        response = httpx.get(f"{second.base_url}/v2/security/public-key-certificates")
        check(response, "GET", "/security/public-key-certificates")
        after = response.json()
    finally:
        second.stop()
    assert {c["certificate"] for c in after} == {c["certificate"] for c in before}
    assert sorted(u for c in after for u in c["usage"]) == [
        "KsefTokenEncryption",
        "SymmetricKeyEncryption",
    ]


# --- authentication refused -------------------------------------------------------------


def test_an_unknown_token_fails_authentication(ksef_sim: Simulator) -> None:
    client = KsefClient(ksef_sim.base_url)
    started = client.start_auth("20261207-EC-0000000000-0000000000-00|nip-x|00", SELLER)
    status = client.auth_status(started)
    assert status["status"]["code"] == 450
    assert status["status"]["details"] == ["Nieprawidłowy token."]
    headers = {"Authorization": f"Bearer {started['authenticationToken']['token']}"}
    redeem = client.call("POST", "/auth/token/redeem", "/auth/token/redeem", headers=headers)
    assert redeem.status_code == 400
    assert redeem.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21301


def test_a_wrong_timestamp_fails_authentication(ksef_sim: Simulator) -> None:
    client = KsefClient(ksef_sim.base_url)
    started = client.start_auth(seed_token(ksef_sim, SELLER), SELLER, stamp_shift_ms=1)
    status = client.auth_status(started)
    assert (status["status"]["code"], status["status"]["details"]) == (
        450,
        ["Nieprawidłowy czas tokena."],
    )


def test_a_token_for_another_context_has_no_permissions(ksef_sim: Simulator) -> None:
    client = KsefClient(ksef_sim.base_url)
    started = client.start_auth(seed_token(ksef_sim, OTHER_SELLER), SELLER)
    assert client.auth_status(started)["status"]["code"] == 415


def test_a_challenge_is_used_once(ksef_sim: Simulator) -> None:
    client = KsefClient(ksef_sim.base_url)
    token = seed_token(ksef_sim, SELLER)
    challenge = client.call("POST", "/auth/challenge", "/auth/challenge").json()
    plain = f"{token}|{challenge['timestampMs']}".encode()
    body = {
        "challenge": challenge["challenge"],
        "contextIdentifier": {"type": "Nip", "value": SELLER},
        "encryptedToken": base64.b64encode(
            client.public_key("KsefTokenEncryption").encrypt(plain, OAEP)
        ).decode(),
    }
    assert client.call("POST", "/auth/ksef-token", "/auth/ksef-token", json=body).status_code == 202
    again = client.call(
        "POST",
        "/auth/ksef-token",
        "/auth/ksef-token",
        json=body,
        headers={"X-Error-Format": "problem-details"},
    )
    assert again.status_code == 400
    assert again.json()["errors"][0]["code"] == 21111


def test_no_access_token_is_401(ksef_sim: Simulator) -> None:
    client = KsefClient(ksef_sim.base_url)
    response = client.call("POST", "/sessions/online", "/sessions/online", json={})
    assert response.status_code == 401


# --- invoices refused -------------------------------------------------------------------


def test_a_wrong_encrypted_hash_or_size_is_400(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim)
    body = client.invoice_body(fa3_invoice(SELLER, number(), today()))
    bad_hash = client.send(session, body | {"encryptedInvoiceHash": b64_sha256(b"other")})
    bad_size = client.send(
        session, body | {"encryptedInvoiceSize": body["encryptedInvoiceSize"] + 16}
    )
    codes = [
        r.json()["exception"]["exceptionDetailList"][0]["exceptionCode"]
        for r in (bad_hash, bad_size)
    ]
    assert [bad_hash.status_code, bad_size.status_code, *codes] == [400, 400, 21403, 21402]


def test_an_invoice_under_another_key_does_not_decrypt(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim)
    xml = fa3_invoice(SELLER, number(), today())
    encrypted = aes_encrypt(secrets.token_bytes(32), client.iv, xml)
    body = client.invoice_body(xml) | {
        "encryptedInvoiceHash": b64_sha256(encrypted),
        "encryptedInvoiceSize": len(encrypted),
        "encryptedInvoiceContent": base64.b64encode(encrypted).decode(),
    }
    response = client.send(session, body)
    assert response.status_code == 202
    status = client.settled(session, response.json()["referenceNumber"])
    # A wrong key either fails PKCS#7 unpadding (435) or yields bytes whose hash is wrong (430).
    assert status["status"]["code"] in (430, 435)
    assert "ksefNumber" not in status


def test_a_wrong_plain_hash_is_430(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim)
    body = client.invoice_body(fa3_invoice(SELLER, number(), today()))
    response = client.send(session, body | {"invoiceHash": b64_sha256(b"not the invoice")})
    status = client.settled(session, response.json()["referenceNumber"])
    assert status["status"]["code"] == 430
    assert any("invoiceHash" in d for d in status["status"]["details"])


def test_invalid_fa3_is_430_with_the_validator_s_reasons(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim)
    xml = fa3_invoice(SELLER, number(), today()).replace(b"<P_15>123.00</P_15>", b"")
    status = client.submit(session, xml)
    assert status["status"]["code"] == 430
    assert any("P_15" in d or "Adnotacje" in d for d in status["status"]["details"])


def test_a_duplicate_is_440_with_the_original(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim)
    same = number()
    first = client.submit(session, fa3_invoice(SELLER, same, today()))
    second = client.submit(session, fa3_invoice(SELLER, same, today() - timedelta(days=1)))
    assert first["status"]["code"] == 200
    assert second["status"]["code"] == 440
    assert second["status"]["extensions"] == {
        "originalSessionReferenceNumber": session,
        "originalKsefNumber": first["ksefNumber"],
    }
    assert "ksefNumber" not in second
    failed = client.call(
        "GET",
        f"/sessions/{session}/invoices/failed",
        "/sessions/{referenceNumber}/invoices/failed",
        headers=client.auth_headers(),
    ).json()
    assert [i["referenceNumber"] for i in failed["invoices"]] == [second["referenceNumber"]]


def test_a_future_issue_date_is_450(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim)
    status = client.submit(session, fa3_invoice(SELLER, number(), today() + timedelta(days=1)))
    assert status["status"]["code"] == 450
    assert "P_1" in status["status"]["details"][0]


def test_a_seller_other_than_the_context_is_410(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim)
    status = client.submit(session, fa3_invoice(OTHER_SELLER, number(), today()))
    assert status["status"]["code"] == 410


def test_a_seller_nip_with_a_bad_checksum_is_450(ksef_sim: Simulator) -> None:
    client, session = client_in_session(ksef_sim, BAD_CHECKSUM_NIP)
    status = client.submit(session, fa3_invoice(BAD_CHECKSUM_NIP, number(), today()))
    assert status["status"]["code"] == 450
    assert BAD_CHECKSUM_NIP in status["status"]["details"][0]
