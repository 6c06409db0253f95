"""What N invoices cost the client in one batch session against one online session, on the
local simulator (`python -m ksef_sim`, rate limits off, no processing delay, its own process,
not counted), same run, interleaved, alternating order.

Both end with every invoice's KSeF number in hand and the session's UPO downloaded:
- online: authenticate, open, send the N invoices one after the other, read each one's
  status (200, its KSeF number), close, wait for the session's 200, download its UPO;
- batch: authenticate, build the package (ZIP, parts, AES-256), open, upload the parts,
  close, wait for the session's 200, list every invoice's status (1,000 a page), download
  the session's UPO.

Wall time (`perf_counter`) and the client process's CPU time (`process_time`); the median
of the runs. The invoices are `tests/support/fa3_sample.py`'s, fresh numbers every run.

    .venv/bin/python libs/ksef-api/bench/batch_vs_online.py [--invoices 1000] [--runs 3]
"""

# ruff: noqa: T201

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
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from ksef_api import KsefApi  # noqa: E402
from tests.support.fa3_sample import fa3_invoice  # noqa: E402
from tests.support.ksef import start_simulator  # noqa: E402

SELLER = "5265877635"
POLL = 0.05


def invoices(count: int) -> list[tuple[str, bytes]]:
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    run = secrets.token_hex(4)
    return [(f"{i:05d}.xml", fa3_invoice(SELLER, f"FV/{run}/{i}", today)) for i in range(count)]


async def online(base_url: str, token: str, files: list[tuple[str, bytes]]) -> list[str]:
    async with KsefApi(f"{base_url}/v2") as api:
        access = (await api.authenticate(SELLER, token, poll_interval=POLL)).access_token
        session = await api.open_online_session(access)
        refs = [await api.send_invoice(access, session, xml) for _, xml in files]
        numbers = []
        for ref in refs:
            status = await api.settled_invoice(
                access, session.reference_number, ref, poll_interval=POLL
            )
            assert status.registered, status
            numbers.append(status.ksef_number or "")
        await api.close_online_session(access, session.reference_number)
        state = await api.settled_session(access, session.reference_number, poll_interval=POLL)
        assert state["status"]["code"] == 200, state
        for page in state["upo"]["pages"]:
            await api.session_upo(access, session.reference_number, page["referenceNumber"])
        return numbers


async def batch(base_url: str, token: str, files: list[tuple[str, bytes]]) -> list[str]:
    async with KsefApi(f"{base_url}/v2") as api:
        access = (await api.authenticate(SELLER, token, poll_interval=POLL)).access_token
        reference, _ = await api.send_batch(access, files)
        state = await api.settled_session(access, reference, poll_interval=POLL)
        assert state["status"]["code"] == 200, state
        statuses = await api.session_invoices(access, reference)
        assert all(status.registered for status in statuses)
        for page in state["upo"]["pages"]:
            await api.session_upo(access, reference, page["referenceNumber"])
        return [status.ksef_number or "" for status in statuses]


Run = Callable[[str, str, list[tuple[str, bytes]]], Awaitable[list[str]]]


def once(run: Run, base_url: str, count: int) -> tuple[float, float]:
    """One session's wall and client CPU seconds (a fresh token and fresh invoices)."""
    token = httpx.post(f"{base_url}/_sim/tokens", json={"nip": SELLER}).json()["token"]
    files = invoices(count)
    wall, cpu = time.perf_counter(), time.process_time()
    numbers = asyncio.run(run(base_url, token, files))
    result = time.perf_counter() - wall, time.process_time() - cpu
    assert len(set(numbers)) == count
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    modes: dict[str, Run] = {"online": online, "batch": batch}
    with tempfile.TemporaryDirectory() as data:
        sim = start_simulator(
            Path(data), KSEF_SIM_RATE_LIMITS="off", KSEF_SIM_PROCESSING_DELAY_SECONDS="0"
        )
        try:
            for run in modes.values():  # warm imports and caches, not counted
                once(run, sim.base_url, 20)
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in modes}
            order = list(modes)
            for _ in range(args.runs):
                for name in order:
                    samples[name].append(once(modes[name], sim.base_url, args.invoices))
                order.reverse()
        finally:
            sim.stop()
    for name, runs in samples.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        cpu = statistics.median(cpus)
        print(
            f"{name}: {args.invoices} invoices, wall {statistics.median(walls):.2f} s "
            f"(min {min(walls):.2f}, max {max(walls):.2f}), client CPU {cpu * 1000:.0f} ms "
            f"(min {min(cpus) * 1000:.0f}, max {max(cpus) * 1000:.0f}), "
            f"{cpu * 1000 / args.invoices:.2f} CPU-ms per invoice (median of {args.runs})"
        )


if __name__ == "__main__":
    main()
