"""What one online session costs the client: authenticate with a KSeF token, open an online
session, send N FA(3) invoices, wait for each one's verdict (KSeF number), close, wait for the
session's status 200 and download its UPO and every invoice's UPO — against the local
simulator (`python -m ksef_sim`, rate limits off, no processing delay), with our `ksef_api`
and with the `ksef-client` SDK from PyPI (both asyncio, the same poll interval, one client
process). Wall time and the client process's CPU time (`time.process_time`); the median of
the runs. The simulator runs in its own process and is not counted.

    .venv/bin/python bench/ksef_client_cost.py [--invoices 50] [--runs 5]
    PYTHONPATH=/tmp/kc-lib .venv/bin/python bench/ksef_client_cost.py   # with ksef-client:
    # pip install --no-deps --target /tmp/kc-lib ksef-client==0.20.0 (not a project dependency)
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ksef_api import KsefApi  # noqa: E402
from tests.support.fa3_sample import fa3_invoice  # noqa: E402
from tests.support.ksef import start_simulator  # noqa: E402

SELLER = "5265877635"
POLL = 0.05


def invoices(count: int) -> list[bytes]:
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    return [fa3_invoice(SELLER, f"FV/{secrets.token_hex(6)}", today) for _ in range(count)]


async def with_ksef_api(base_url: str, token: str, xmls: list[bytes]) -> list[str]:
    async with KsefApi(f"{base_url}/v2") as api:
        tokens = await api.authenticate(SELLER, token, poll_interval=POLL)
        access = tokens.access_token
        session = await api.open_online_session(access)
        refs = [await api.send_invoice(access, session, xml) for xml in xmls]
        numbers = []
        for ref in refs:
            status = await api.settled_invoice(
                access, session.reference_number, ref, poll_interval=POLL
            )
            assert status.registered, status
            numbers.append(status.ksef_number or "")
            await api.invoice_upo(access, session.reference_number, ref)
        await api.close_online_session(access, session.reference_number)
        while True:
            state = await api.session_status(access, session.reference_number)
            if state["status"]["code"] == 200:
                break
            await asyncio.sleep(POLL)
        for page in state["upo"]["pages"]:
            await api.session_upo(access, session.reference_number, page["referenceNumber"])
        return numbers


async def with_ksef_client(base_url: str, token: str, xmls: list[bytes]) -> list[str]:
    from ksef_client import AsyncKsefClient, KsefClientOptions
    from ksef_client.models import FormCode
    from ksef_client.services import AsyncAuthCoordinator, AsyncOnlineSessionWorkflow

    async with AsyncKsefClient(KsefClientOptions(base_url=f"{base_url}/v2")) as client:
        certificates = await client.security.get_public_key_certificates()

        def certificate(usage: str) -> Any:
            for each in certificates:
                if usage in [getattr(u, "value", u) for u in each.usage]:
                    return each
            raise LookupError(usage)

        token_certificate = certificate("KsefTokenEncryption")
        auth = await AsyncAuthCoordinator(client.auth).authenticate_with_ksef_token(
            token=token,
            public_certificate=token_certificate.certificate,
            context_identifier_type="Nip",
            context_identifier_value=SELLER,
            poll_interval_seconds=POLL,
        )
        access = auth.access_token
        session = await AsyncOnlineSessionWorkflow(client.sessions).open_session(
            form_code=FormCode(system_code="FA (3)", schema_version="1-0E", value="FA"),
            public_certificate=certificate("SymmetricKeyEncryption").certificate,
            access_token=access,
        )
        ref = session.reference_number
        sent = [await session.send_invoice(xml, access_token=access) for xml in xmls]
        numbers = []
        for answer in sent:
            while True:
                status = await client.sessions.get_session_invoice_status(
                    ref, answer.reference_number, access_token=access
                )
                if status.status.code >= 200:
                    break
                await asyncio.sleep(POLL)
            assert status.status.code == 200 and status.ksef_number, status
            numbers.append(status.ksef_number)
            await client.sessions.get_session_invoice_upo_by_ref(
                ref, answer.reference_number, access_token=access
            )
        await client.sessions.close_online_session(ref, access)
        while True:
            closed = await client.sessions.get_session_status(ref, access)
            if closed.status.code == 200:
                break
            await asyncio.sleep(POLL)
        assert closed.upo is not None
        for page in closed.upo.pages:
            await client.sessions.get_session_upo(ref, page.reference_number, access_token=access)
        return numbers


Run = Callable[[str, str, list[bytes]], Awaitable[list[str]]]


def once(run: Run, base_url: str, count: int) -> tuple[float, float]:
    """One session's wall and client CPU seconds (a fresh token and fresh invoices)."""
    token = httpx.post(f"{base_url}/_sim/tokens", json={"nip": SELLER}).json()["token"]
    xmls = invoices(count)
    wall, cpu = time.perf_counter(), time.process_time()
    numbers = asyncio.run(run(base_url, token, xmls))
    result = time.perf_counter() - wall, time.process_time() - cpu
    assert len(set(numbers)) == count
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=50)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    clients: dict[str, Run] = {"ksef_api": with_ksef_api}
    try:
        import ksef_client  # noqa: F401
    except ImportError:
        print("ksef-client is not importable: measuring ksef_api only (see the docstring)")
    else:
        clients["ksef-client"] = with_ksef_client
    with tempfile.TemporaryDirectory() as data:
        sim = start_simulator(
            Path(data), KSEF_SIM_RATE_LIMITS="off", KSEF_SIM_PROCESSING_DELAY_SECONDS="0"
        )
        try:
            for run in clients.values():  # warm imports and caches, not counted
                once(run, sim.base_url, args.invoices)
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
            order = list(clients)
            for _ in range(args.runs):  # interleaved, alternating order, so drift hits both
                for name in order:
                    samples[name].append(once(clients[name], sim.base_url, args.invoices))
                order.reverse()
        finally:
            sim.stop()
    for name, runs in samples.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"{name}: {args.invoices} invoices, wall {statistics.median(walls):.3f} s, "
            f"client CPU {statistics.median(cpus) * 1000:.0f} ms (median of {args.runs}; "
            f"wall min {min(walls):.3f} max {max(walls):.3f}, "
            f"CPU ms min {min(cpus) * 1000:.0f} max {max(cpus) * 1000:.0f})"
        )


if __name__ == "__main__":
    main()
