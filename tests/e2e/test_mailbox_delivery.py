"""A tenant's own mailbox: its sending limit holds across mailer replicas and a killed
replica, temporary SMTP refusals are retried until the server accepts (one e-mail arrives),
and a permanent refusal ends as a visible failure, for the operator and for billing.

The mailboxes are set up the way an operator does it: on the operator's mailbox page."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from einvoice_tools.demo import demo_invoices
from tests.support import CSRF_FIELD, GATEWAY, PYTHON, ROOT, eventually, launcher, mails_to
from tests.support.parties import Tenant, register_tenant

pytestmark = [pytest.mark.e2e]

LIMIT = 100
COUNT = 300


async def new_tenant(stack: dict[str, str], name: str) -> Tenant:
    tenant = await register_tenant(stack["kafka_bootstrap"], name)

    async def known() -> bool:
        async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
            return (await client.get("/api/v1/batches/none")).status_code == 404

    await eventually(known, timeout=30, what="the gateway to learn the tenant")
    return tenant


async def configure_mailbox(tenant: Tenant, **fields: str) -> httpx.Response:
    """Sign in as the tenant's operator and save the mailbox form; wait until it is in use."""
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        csrf = CSRF_FIELD.search((await client.get("/operator")).text).group(1)
        signed = await client.post(
            "/operator/login", data={"api_key": tenant.api_key, "csrf": csrf}
        )
        assert signed.status_code == 303
        csrf = CSRF_FIELD.search((await client.get("/operator/mailbox")).text).group(1)
        form = {"tls": "none", "user": "", "password": "", "reply_to": ""} | fields
        saved = await client.post("/operator/mailbox", data=form | {"csrf": csrf, "action": "save"})
        if saved.status_code != 303:
            return saved
        shown = f"{fields['host']}:{fields['port']}"

        async def in_use() -> bool:
            return shown in (await client.get("/operator/mailbox")).text

        await eventually(in_use, timeout=30, what="the saved mailbox")
        # Every service follows tenant.config; the mailer's view is as fresh as the gateway's
        # give or take its half-second poll.
        await asyncio.sleep(2)
        return saved


async def publish(tenant: Tenant, invoices: list[dict]) -> str:
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=60) as client:
        accepted = await client.post("/api/v1/batches", json={"invoices": invoices})
    assert accepted.status_code == 202, accepted.text
    return accepted.json()["batch_id"]


async def batch_status(tenant: Tenant, batch_id: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=30) as client:
            response = await client.get(f"/api/v1/batches/{batch_id}")
    except httpx.TransportError:  # the gateway restarting; the mail goes on regardless
        return {}
    return response.json() if response.status_code == 200 else {}


def max_in_any_window(times: list[float], seconds: float) -> int:
    """The most sends inside any window of `seconds` (it ends at some send)."""
    times = sorted(times)
    return max((i + 1 - bisect_left(times, t - seconds) for i, t in enumerate(times)), default=0)


def start_replica(replica_id: str) -> subprocess.Popen:
    env = launcher().service_env() | {
        "EINVOICE_REPLICA_ID": replica_id,
        "EINVOICE_METRICS_PORT": "0",
    }
    log = open(ROOT / ".run" / "logs" / f"{replica_id}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        [str(PYTHON), "-m", "mailer"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
        proc.wait(timeout=10)


async def test_a_mailbox_limit_holds_across_replicas_and_a_killed_replica(
    stack: dict[str, str], services: bool
) -> None:
    tenant = await new_tenant(stack, "Ciepłownia Limitowa Sp. z o.o.")
    domain = f"limit.{tenant.email_domain}"
    sender = f"faktury@{domain}"
    saved = await configure_mailbox(
        tenant,
        host="127.0.0.1",
        port="1025",
        per_minute=str(LIMIT),
        mail_from=f"Ciepłownia <{sender}>",
    )
    assert saved.status_code == 303, saved.text

    invoices = demo_invoices(COUNT, seed=404, email_domain=domain, series="LIM/2026/11")
    started = time.monotonic()
    batch_id = await publish(tenant, invoices)
    replica_b = start_replica("mailer-test-b")
    waiting_seen: list[tuple[int, str]] = []
    kills = 0
    try:
        while time.monotonic() - started < 600:
            summary = await batch_status(tenant, batch_id)
            waiting = summary.get("mail_waiting") or {}
            if waiting.get("for_mailbox_limit"):
                waiting_seen.append(
                    (waiting["for_mailbox_limit"], waiting["for_mailbox_limit_next_at"])
                )
            mailed = summary.get("counts", {}).get("mailed", 0)
            if kills == 0 and mailed >= 120:
                kill(replica_b)  # mid-batch, while it may hold jobs: no shutdown code runs
                replica_b = start_replica("mailer-test-b")
                kills += 1
            if summary.get("complete"):
                break
            await asyncio.sleep(1)
    finally:
        kill(replica_b)
    elapsed = time.monotonic() - started
    assert summary.get("complete"), f"batch incomplete after {elapsed:.0f}s: {summary}"
    assert summary["counts"]["mailed"] == COUNT and summary["counts"]["failed"] == 0

    async def all_arrived() -> list | None:
        found = [m for m in await mails_to(domain) if m["from"][0]["address"] == sender]
        return found if len({m["to"][0]["address"] for m in found}) >= COUNT else None

    mails = await eventually(all_arrived, timeout=60, what="every e-mail in maildev")
    received = [datetime.fromisoformat(m["time"].replace("Z", "+00:00")).timestamp() for m in mails]
    per_recipient = Counter(m["to"][0]["address"] for m in mails)
    assert set(per_recipient) == {i["buyer"]["email"] for i in invoices}, "all arrive"
    busiest = max_in_any_window(received, 60)
    span = max(received) - min(received)
    print(
        f"\nmailbox limit {LIMIT}/min: {len(mails)} e-mails ({len(per_recipient)} recipients) "
        f"over {span:.1f}s through 2 replicas (one killed and restarted {kills}x); "
        f"max in any 60 s window: {busiest}; batch status showed up to "
        f"{max((n for n, _ in waiting_seen), default=0)} waiting for the limit"
    )
    assert busiest <= LIMIT
    assert waiting_seen, "the batch status said mail was waiting for the mailbox's limit"
    assert all(next_at for _, next_at in waiting_seen), "with the time of the next slot"
    assert span >= 60 * (COUNT // LIMIT - 1), "the limit spread the sending out"


class Refusing:
    """An SMTP server that answers the first `refusals` recipients with `reply`, then
    accepts; it keeps what it accepted."""

    def __init__(self, reply: str, refusals: int) -> None:
        self.reply = reply
        self.refusals = refusals
        self.refused: list[tuple[float, str]] = []
        self.accepted: list[tuple[float, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if self.refusals > 0:
            self.refusals -= 1
            self.refused.append((time.time(), address))
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        for address in envelope.rcpt_tos:
            self.accepted.append((time.time(), address))
        return "250 Message accepted for delivery"


@pytest.fixture
async def smtp_server() -> AsyncIterator[Any]:
    controllers: list[Controller] = []

    def start(handler: Refusing) -> int:
        with socket.socket() as probe:  # a free port (aiosmtpd checks it by connecting)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


async def one_invoice_through(
    stack: dict[str, str], port: int, name: str, label: str, seed: int
) -> tuple[Tenant, dict[str, Any], str]:
    """A new tenant whose mailbox is the test's SMTP server on `port`, and one invoice of
    theirs published: (tenant, invoice, batch id)."""
    tenant = await new_tenant(stack, name)
    domain = f"{label}.{tenant.email_domain}"
    await configure_mailbox(
        tenant, host="127.0.0.1", port=str(port), mail_from=f"Faktury <faktury@{domain}>"
    )
    series = f"{label.upper()}/2026/11"
    [invoice] = demo_invoices(1, seed=seed, email_domain=domain, series=series)
    return tenant, invoice, await publish(tenant, [invoice])


async def test_a_temporary_refusal_is_retried_and_exactly_one_email_arrives(
    stack: dict[str, str], services: bool, smtp_server: Any
) -> None:
    handler = Refusing("451 4.7.1 Greylisted, try again later", refusals=1)
    tenant, invoice, batch_id = await one_invoice_through(
        stack, smtp_server(handler), "Wodociągi Szare Listy Sp. z o.o.", "grey", seed=451
    )

    async def waiting_for_retry() -> dict | None:
        waiting = (await batch_status(tenant, batch_id)).get("mail_waiting") or {}
        return waiting if waiting.get("for_retry") else None

    waiting = await eventually(waiting_for_retry, timeout=60, what="the mail to wait for a retry")
    assert waiting["for_retry"] == 1 and waiting["for_retry_next_at"]

    async def mailed() -> dict | None:
        summary = await batch_status(tenant, batch_id)
        return summary if summary.get("complete") else None

    summary = await eventually(mailed, timeout=90, what="the retry to be accepted")
    assert summary["counts"]["mailed"] == 1 and summary["counts"]["failed"] == 0
    await asyncio.sleep(2)  # nothing else may arrive afterwards
    assert [address for _, address in handler.accepted] == [invoice["buyer"]["email"]]
    delay = handler.accepted[0][0] - handler.refused[0][0]
    print(
        f"\n451 then accept: 1 refusal, {len(handler.accepted)} accepted, "
        f"retried after {delay:.1f}s"
    )
    assert delay >= 5, "the retry waited (backoff), it did not hammer the server"


async def test_a_permanent_refusal_is_a_failure_for_the_operator_and_for_billing(
    stack: dict[str, str], services: bool, smtp_server: Any
) -> None:
    handler = Refusing("550 5.1.1 <nobody>: Recipient address rejected", refusals=10)
    tenant, invoice, batch_id = await one_invoice_through(
        stack, smtp_server(handler), "Odpady Odrzucone Sp. z o.o.", "bounce", seed=550
    )

    async def failed() -> dict | None:
        summary = await batch_status(tenant, batch_id)
        return summary if summary.get("counts", {}).get("failed") else None

    summary = await eventually(failed, timeout=60, what="the mail to fail")
    [failure] = summary["failures"]
    assert failure["stage"] == "mail"
    assert "550" in failure["reasons"][0] and "Recipient address rejected" in failure["reasons"][0]
    assert len(handler.refused) == 1, "a permanent refusal is not retried"

    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as operator:
        csrf = CSRF_FIELD.search((await operator.get("/operator")).text).group(1)
        await operator.post("/operator/login", data={"api_key": tenant.api_key, "csrf": csrf})
        page = await operator.get(f"/operator/batches/{batch_id}")
    assert "Recipient address rejected" in page.text, "the operator sees the reason"

    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        feed = (await client.get("/api/v1/confirmations/feed")).json()
    [item] = feed["items"]
    assert item["status"] == "failed" and item["stage"] == "mail"
    assert item["number"] == invoice["number"] and "550" in item["reasons"][0]
    print(f"\n550: mail.failed '{failure['reasons'][0]}'; operator page and billing feed show it")


async def test_the_mailbox_password_is_sealed_and_a_blank_field_keeps_it(
    stack: dict[str, str], services: bool
) -> None:
    from aiokafka import AIOKafkaConsumer

    from einvoice import events
    from einvoice.kafka_admin import partitions_of
    from einvoice.sealing import Sealer
    from tests.support import local_settings

    tenant = await new_tenant(stack, "Telekom Zapieczętowany Sp. z o.o.")
    password = "Tajne-hasło-" + tenant.tenant_id
    fields = {
        "host": "smtp.example.invalid",
        "port": "587",
        "tls": "starttls",
        "user": f"faktury@{tenant.email_domain}",
        "mail_from": f"Faktury <faktury@{tenant.email_domain}>",
        "per_minute": "30",
        "per_day": "10000",
    }
    assert (await configure_mailbox(tenant, **fields, password=password)).status_code == 303
    # Saved again with the password field left empty (as the form shows it): still there.
    fields["per_minute"] = "25"
    assert (await configure_mailbox(tenant, **fields)).status_code == 303

    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack["kafka_bootstrap"], enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, events.TENANT_CONFIG)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        raw: list[bytes] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                raw += [r.value for r in records if r.key == tenant.tenant_id.encode()]
    finally:
        await consumer.stop()
    assert len(raw) >= 3, "registered, then saved twice"
    assert all(password.encode() not in value for value in raw), "never in clear on Kafka"
    latest = events.TenantConfig.model_validate(
        events.Envelope.model_validate_json(raw[-1]).payload
    )
    assert latest.mailbox.per_minute == 25 and latest.mailbox.per_day == 10000
    sealer = Sealer(local_settings()["sealing_keys"].split(","))
    assert sealer.unseal(latest.mailbox.password_sealed) == password
