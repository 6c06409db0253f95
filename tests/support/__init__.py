"""What the tests share; test modules import helpers from here, never from each other.

This module: the local stack's addresses and settings, waiting on a condition with a
deadline (tests never sleep blindly), the stack's start and stop for the harnesses outside
pytest, an operator's session, a tail of the topics and a shopper's request event.

Beside it: `builders` (events and records), `fakes` (the ports' fakes), `mongo` (the
MongoDB fake), `clock` (the test clock), `passwords`, `pdf` and `reservations` for the unit
tests; `loop` for the integration tests; `parties` (tenants, chains, the till's push),
`retail`, `browser`, and the authorization matrix (`authz_matrix`, `authz_world`) for the
end-to-end tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
STACK_SCRIPT = ROOT / "deploy" / "local" / "stack.py"
LAUNCHER_SCRIPT = ROOT / "deploy" / "local" / "launcher.py"
GATEWAY = "http://127.0.0.1:8000"
MAILDEV = "http://127.0.0.1:1080"
STACK_PORTS = {
    "kafka": 9092,
    "seaweedfs": 8333,
    "secantusdb": 27017,
    "maildev": 1080,
    "ksef": 8088,
}

T = TypeVar("T")


def launcher() -> Any:
    spec = importlib.util.spec_from_file_location("einvoice_launcher", LAUNCHER_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def local_settings() -> dict[str, str]:
    """deploy/local/local.env as keyword arguments for the Settings classes."""
    values = {}
    for line in (ROOT / "deploy/local/local.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.removeprefix("EINVOICE_").lower()] = value
    return values


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 60,
    interval: float = 0.3,
    what: str = "condition",
) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def mails_to(domain: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=MAILDEV, timeout=10) as client:
        response = await client.get("/email")
        response.raise_for_status()
    return [
        m
        for m in response.json()
        if any(to["address"].endswith("@" + domain) for to in m.get("to", []))
    ]


class LocalStack:
    """`launcher.py up` (reuses what runs); `down()` stops only what `up()` started. For the
    harnesses that run outside pytest (`make bench`, `make chaos`)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.ports: dict[str, tuple[str, int]] = launcher().SERVICES
        self.services = list(self.ports)
        self.stack_before: set[str] = set()
        self.services_before: set[str] = set()
        self.started = False

    def up(self, timeout: float) -> None:
        self.stack_before = {n for n, port in STACK_PORTS.items() if port_open(port)}
        self.services_before = {n for n, (_, port) in self.ports.items() if port_open(port)}
        self.started = True
        done = subprocess.run(
            [str(PYTHON), str(LAUNCHER_SCRIPT), "up"],
            capture_output=True,
            text=True,
            timeout=max(timeout, 1),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError("launcher.py up failed:\n" + (done.stdout + done.stderr)[-3000:])
        fresh = sorted(set(self.services) - self.services_before)
        fresh_stack = sorted(set(STACK_PORTS) - self.stack_before)
        self.say(f"   reused: {', '.join(sorted(self.stack_before | self.services_before)) or '-'}")
        self.say(f"   started: {', '.join(fresh_stack + fresh) or '-'}")

    def down(self) -> None:
        if not self.started:
            return
        services = sorted(set(self.services) - self.services_before)
        if services:
            self.say(f"== stopping the services this run started: {', '.join(services)}")
            _quietly([str(PYTHON), str(LAUNCHER_SCRIPT), "stop-services", *services])
        parts = sorted(set(STACK_PORTS) - self.stack_before)
        if parts:
            self.say(f"== stopping the stack parts this run started: {', '.join(parts)}")
            _quietly([str(PYTHON), str(STACK_SCRIPT), "down", *parts])


def _quietly(command: list[str]) -> None:
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, timeout=180)


def kill_service_hard(name: str) -> int:
    """SIGKILL a service the launcher started, and its render workers (its process group):
    no shutdown code runs. Returns the pid it had."""
    pid = int((ROOT / ".run" / "pids" / f"svc-{name}.pid").read_text())
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"{name} (pid {pid}) survived SIGKILL")


CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@contextlib.asynccontextmanager
async def operator_session(api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in to the operator's pages with the tenant's API key."""
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        csrf = CSRF_FIELD.search((await client.get("/operator")).text).group(1)
        signed = await client.post("/operator/login", data={"api_key": api_key, "csrf": csrf})
        assert signed.status_code == 303, signed.text[:300]
        yield client


async def tail_from_end(bootstrap: str, topics: list[str]) -> Any:
    """A consumer (no group, nothing committed) positioned at the current end of every
    partition of `topics`: it sees what is produced from now on. For the harnesses that
    follow the pipeline's output (`make bench`, `make chaos`)."""
    from aiokafka import AIOKafkaConsumer

    from einvoice.kafka_admin import partitions_of

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    partitions = [p for topic in topics for p in await partitions_of(consumer, topic)]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for partition in partitions:  # resolve the lazy seek now, before anything is published
        await consumer.position(partition)
    return consumer


def shopper_request(
    chain_id: str, receipt_id: str, email: str, picks: list[tuple[int, str]]
) -> Any:
    """A shopper's `retail.invoice.requested`, as the portal produces it (interactive lane):
    an invoice for `picks` (line index, quantity) of the receipt, for a private buyer."""
    import uuid

    from einvoice import events

    request = events.RetailInvoiceRequested(
        invoice_id=str(uuid.uuid4()),
        receipt_id=receipt_id,
        shopper_id=f"shopper-{email}",
        shopper_email=email,
        buyer_kind="person",
        buyer={
            "name": "Józefina Żółkiewska",
            "email": email,
            "address": {"street": "ul. Ogrodowa 3", "postal_code": "60-101", "city": "Poznań"},
        },
        picks=[{"line": i, "quantity": q} for i, q in picks],
    )
    return events.envelope(
        events.RETAIL_REQUESTED,
        request,
        tenant_id=chain_id,
        correlation_id=receipt_id,
        lane=events.INTERACTIVE,
    )
