"""The simulator's switches as a client meets them: rate limits (429 + Retry-After), a
processing delay (150 before the verdict), an outage (503)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.fa3_sample import fa3_invoice
from tests.support.ksef import KsefClient, Simulator, start_simulator, until

SELLER = "5265877635"


@pytest.fixture(scope="module")
def strict_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """A simulator with production rate limits and a one-second processing delay."""
    simulator = start_simulator(
        Path(tmp_path_factory.mktemp("ksef-sim-strict")),
        KSEF_SIM_RATE_LIMITS="production",
        KSEF_SIM_PROCESSING_DELAY_SECONDS="1",
    )
    yield simulator
    simulator.stop()


def session_for(sim: Simulator, nip: str) -> tuple[KsefClient, str]:
    token = httpx.post(f"{sim.base_url}/_sim/tokens", json={"nip": nip}).json()["token"]
    client = KsefClient(sim.base_url)
    client.authenticate(token, nip)
    return client, client.open_session()


def test_an_invoice_is_processing_before_its_verdict(strict_sim: Simulator) -> None:
    client, session = session_for(strict_sim, SELLER)
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    xml = fa3_invoice(SELLER, f"FV/{secrets.token_hex(4)}", today)
    reference = client.send(session, client.invoice_body(xml)).json()["referenceNumber"]
    first = client.invoice_status(session, reference)
    assert first["status"]["code"] == 150
    assert "ksefNumber" not in first
    settled = client.settled(session, reference)
    assert settled["status"]["code"] == 200 and settled["ksefNumber"]


def test_sending_over_the_limit_is_429_with_retry_after(strict_sim: Simulator) -> None:
    client, session = session_for(strict_sim, "1234563218")
    body = client.invoice_body(fa3_invoice("1234563218", "FV/LIMIT/1", date(2026, 1, 2)))
    answers = []
    for _ in range(31):  # 30 a minute at most, 10 a second
        answers.append(client.send(session, body))
        if answers[-1].status_code == 429:
            break
    refused = answers[-1]
    assert refused.status_code == 429, [a.status_code for a in answers]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["status"]["code"] == 429
    as_problem = client.send(session, body, headers={"X-Error-Format": "problem-details"})
    assert as_problem.status_code == 429 and int(as_problem.headers["Retry-After"]) >= 1
    assert as_problem.json()["status"] == 429
    accepted = len(answers) - 1
    assert all(a.status_code == 202 for a in answers[:-1])
    listed = client.call(
        "GET",
        f"/sessions/{session}/invoices",
        "/sessions/{referenceNumber}/invoices",
        params={"pageSize": 100},
        headers=client.auth_headers(),
    ).json()
    assert len(listed["invoices"]) == accepted  # the refused request left nothing behind


def test_an_outage_answers_503_until_switched_off(strict_sim: Simulator) -> None:
    faults = f"{strict_sim.base_url}/_sim/faults"
    assert httpx.post(faults, json={"outage": True}).status_code == 200
    try:
        assert httpx.post(f"{strict_sim.base_url}/v2/auth/challenge").status_code == 503
    finally:
        httpx.post(faults, json={"outage": False})
    until(
        lambda: httpx.post(f"{strict_sim.base_url}/v2/auth/challenge").status_code == 200,
        what="the simulator to answer again",
    )
