"""Webhooks: the signature, the payloads, enqueueing once per event, and the dispatcher's
retries with backoff, delivery log and giving up."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from einvoice import events, webhooks
from einvoice.outbox import Outbox
from read_tracker import handlers as h
from read_tracker.webhook_http import HttpPoster, TargetRefused
from read_tracker.webhooks import Target, WebhookDispatcher, WebhookJobs
from tests.support.builders import BATCH, TENANT, event_of, tenant_config
from tests.support.clock import Clock
from tests.support.fakes import FakeDeliveries, FakeReverseDns, FakeTenants
from tests.support.mongo import FakeCollection

SECRET = "whsec_test-secret"
BODY = b'{"id":"d-1","type":"invoice.confirmed"}'
T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
IP = "203.0.113.9"

# --- the signature ------------------------------------------------------------------------


def test_a_signed_body_verifies() -> None:
    header = webhooks.sign(SECRET, 1_700_000_000, BODY)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert webhooks.verify(SECRET, header, BODY, now=1_700_000_010) == 1_700_000_000


@pytest.mark.parametrize(
    ("secret", "body", "now", "why"),
    [
        (SECRET, BODY.replace(b"d-1", b"d-2"), 1_700_000_000, "does not match"),
        ("whsec_another", BODY, 1_700_000_000, "does not match"),
        (SECRET, BODY, 1_700_000_301, "tolerance"),
        (SECRET, BODY, 1_699_999_699, "tolerance"),
    ],
    ids=["tampered body", "wrong secret", "stale", "from the future"],
)
def test_what_does_not_verify(secret: str, body: bytes, now: int, why: str) -> None:
    header = webhooks.sign(SECRET, 1_700_000_000, BODY)
    with pytest.raises(webhooks.SignatureError, match=why):
        webhooks.verify(secret, header, body, now=now)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=1700000000", "t=x,v1=ab", "garbage"])
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify(SECRET, header, BODY, now=1_700_000_000)


def test_any_of_several_signatures_may_match_during_a_rotation() -> None:
    good = webhooks.sign(SECRET, 1_700_000_000, BODY).split(",")[1]
    header = f"t=1700000000,v1={'0' * 64},{good}"
    assert webhooks.verify(SECRET, header, BODY, now=1_700_000_000)


def test_new_secrets_are_long_and_random() -> None:
    first, second = webhooks.new_secret(), webhooks.new_secret()
    assert first != second and first.startswith("whsec_") and len(first) >= 40


# --- enqueueing ---------------------------------------------------------------------------


def hooked(**webhook) -> events.TenantConfig:
    hook = {"url": "https://billing.example.pl/hooks", "secret_sealed": "sealed:" + SECRET}
    return tenant_config(webhook=events.Webhook.model_validate(hook | webhook))


@dataclass
class FakePoster:
    """Answers with the given statuses in turn (an exception is raised instead)."""

    answers: list[int | Exception]
    calls: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((url, body, headers))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Tracker:
    """read-tracker's handlers, webhook outbox and one dispatcher, over fakes."""

    def __init__(self, tenant: events.TenantConfig | None, answers: list[int | Exception]):
        self.clock = Clock(T0)
        self.jobs = FakeCollection()
        self.outbox = Outbox(self.jobs, owner="replica-1", clock=self.clock)
        self.tenants = FakeTenants({TENANT: tenant} if tenant else {})
        self.deliveries = FakeDeliveries()
        self.poster = FakePoster(answers)

        async def confirmation_of(tenant_id: str, invoice_id: str) -> dict:
            doc = self.deliveries.docs.get((tenant_id, invoice_id), {})
            counted = sorted(
                (o for o in self.deliveries.opens.values() if o["counted"]),
                key=lambda o: o["opened_at"],
            )
            first = counted[0] if counted else {}
            return {
                "number": doc.get("number"),
                "customer_id": doc.get("customer_id"),
                "first_opened_at": doc.get("first_opened_at"),
                "ip": first.get("ip"),
                "host": first.get("host"),
                "user_agent": first.get("user_agent"),
                "open_count": len(counted),
            }

        self.webhooks = WebhookJobs(self.outbox, self.tenants, confirmation_of, self.deliveries.get)
        self.deps = h.Deps(
            deliveries=self.deliveries,
            reverse_dns=FakeReverseDns({IP: "host-9.example.pl"}),
            webhooks=self.webhooks,
        )
        self.dispatcher = WebhookDispatcher(
            outbox=self.outbox,
            poster=self.poster,
            target_for=lambda tenant_id: Target(self.tenants.get(tenant_id).webhook.url, SECRET),
            clock=self.clock,
        )

    async def requested(self) -> None:
        await self.deliveries.update(
            TENANT,
            "inv-1",
            {"number": "FV/2025/03/0001", "customer_id": "KL-42"},
            {"tenant_id": TENANT, "batch_id": BATCH},
        )

    def opened_event(self, event_id: str, at: datetime) -> events.Envelope:
        payload = events.InvoiceOpened(
            invoice_id="inv-1",
            batch_id=BATCH,
            link_id="link-1",
            action="download",
            opened_at=at,
            ip=IP,
            user_agent="Mozilla/5.0 (Thunderbird)",
            browser_signals=["accept-language", "sec-fetch-user", "landing-cookie"],
        )
        return event_of(events.INVOICE_OPENED, payload, event_id=event_id, when=at)

    def later(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)

    def job(self) -> dict:
        [job] = self.jobs.docs.values()
        return job


async def test_a_confirmation_enqueues_one_delivery_with_the_feeds_fields() -> None:
    tracker = Tracker(hooked(), [200])
    await tracker.requested()
    event = tracker.opened_event("open-1", T0)
    [out] = await h.on_opened(event, tracker.deps)
    await h.on_opened(event, tracker.deps)  # redelivered: still one delivery
    job = tracker.job()
    confirmed_id = json.loads(out.value)["event_id"]
    assert job["_id"] == confirmed_id and job["event"] == "invoice.confirmed"
    body = json.loads(job["body"])
    assert body["id"] == confirmed_id and body["type"] == "invoice.confirmed"
    assert body["tenant_id"] == TENANT
    assert body["data"] | {"opened_at": None} == {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "number": "FV/2025/03/0001",
        "customer_id": "KL-42",
        "first_opened_at": "2025-03-03T12:00:00Z",
        "ip": IP,
        "host": "host-9.example.pl",
        "user_agent": "Mozilla/5.0 (Thunderbird)",
        "open_count": 1,
        "opened_at": None,
        "first_open": True,
        "ksef_status": None,  # the fake's confirmation_of knows nothing of KSeF
        "ksef_number": None,
    }


async def test_a_second_open_carries_the_first_opens_details_and_the_count() -> None:
    tracker = Tracker(hooked(), [200])
    await tracker.requested()
    await h.on_opened(tracker.opened_event("open-1", T0), tracker.deps)
    await h.on_opened(tracker.opened_event("open-2", T0 + timedelta(hours=2)), tracker.deps)
    second = [json.loads(j["body"])["data"] for j in tracker.jobs.docs.values()][1]
    assert second["open_count"] == 2 and second["first_open"] is False
    assert second["first_opened_at"] == "2025-03-03T12:00:00Z"
    assert second["opened_at"] == "2025-03-03T14:00:00Z"


async def test_nothing_is_enqueued_without_a_webhook_or_a_subscription() -> None:
    for tenant in (None, tenant_config(), hooked(events=["mail.failed"])):
        tracker = Tracker(tenant, [200])
        await tracker.requested()
        await h.on_opened(tracker.opened_event("open-1", T0), tracker.deps)
        assert tracker.jobs.docs == {}


async def test_a_failed_mail_enqueues_one_delivery_by_the_events_id() -> None:
    tracker = Tracker(hooked(events=["mail.failed"]), [200])
    await tracker.requested()
    failed = events.MailFailed(
        invoice_id="inv-1",
        batch_id=BATCH,
        recipient="jan@example.pl",
        reason="550 mailbox unavailable",
        permanent=True,
    )
    event = event_of(events.MAIL_FAILED, failed, event_id="failed-1")
    assert await h.on_mail_failed(event, tracker.deps) == []
    await h.on_mail_failed(event, tracker.deps)
    job = tracker.job()
    assert job["_id"] == "failed-1" and job["event"] == "mail.failed"
    data = json.loads(job["body"])["data"]
    assert data["reason"] == "550 mailbox unavailable" and data["permanent"] is True
    assert data["number"] == "FV/2025/03/0001" and data["customer_id"] == "KL-42"
    assert tracker.deliveries.docs[(TENANT, "inv-1")]["failed_stage"] == "mail"


# --- the dispatcher -----------------------------------------------------------------------


async def confirmed(tracker: Tracker) -> None:
    await tracker.requested()
    await h.on_opened(tracker.opened_event("open-1", T0), tracker.deps)


async def test_a_500_is_retried_after_backoff_and_a_200_ends_the_delivery() -> None:
    tracker = Tracker(hooked(), [500, 200])
    await confirmed(tracker)
    assert await tracker.dispatcher.round() == 1
    job = tracker.job()
    assert job["state"] == "queued" and job["due_at"] == T0 + timedelta(seconds=5)
    assert job["last_error"] == "HTTP 500"
    assert await tracker.dispatcher.round() == 0, "not due yet"

    tracker.later(5)
    await tracker.dispatcher.round()
    job = tracker.job()
    assert job["state"] == "done"
    assert [(a["status"], a["error"]) for a in job["log"]] == [(500, None), (200, None)]
    assert [a["at"] for a in job["log"]] == [T0, T0 + timedelta(seconds=5)]
    assert all(isinstance(a["duration_ms"], int) for a in job["log"])

    [(url, body, headers), (_, again, headers2)] = tracker.poster.calls
    assert url == "https://billing.example.pl/hooks" and body == again == job["body"].encode()
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Einvoice-Event"] == "invoice.confirmed"
    assert headers["X-Einvoice-Delivery"] == headers2["X-Einvoice-Delivery"] == job["_id"]
    now = T0.timestamp()
    assert webhooks.verify(SECRET, headers["X-Einvoice-Signature"], body, now=now)
    assert webhooks.verify(SECRET, headers2["X-Einvoice-Signature"], body, now=now + 5)


async def test_the_delay_doubles_up_to_the_cap_and_errors_are_logged() -> None:
    failures: list[int | Exception] = [
        httpx.ConnectTimeout("timed out"),
        httpx.ConnectError("connection refused"),
        302,
        503,
    ]
    tracker = Tracker(hooked(), failures)
    tracker.dispatcher.retry_cap = 30
    await confirmed(tracker)
    delays = []
    for _ in range(6):
        before = tracker.clock.now
        await tracker.dispatcher.round()
        delay = tracker.job()["due_at"] - before
        delays.append(delay.total_seconds())
        tracker.later(delay.total_seconds())
    assert delays == [5, 10, 20, 30, 30, 30]
    log = tracker.job()["log"]
    assert log[0]["error"].startswith("timeout") and log[0]["status"] is None
    assert log[1]["error"] == "connection error: connection refused"
    assert [a["status"] for a in log[2:]] == [302, 503, 503, 503], "redirects are not followed"


async def test_after_24_hours_without_a_2xx_the_delivery_fails() -> None:
    tracker = Tracker(hooked(), [500])
    await confirmed(tracker)
    attempts = 0
    while tracker.job()["state"] == "queued":
        await tracker.dispatcher.round()
        attempts += 1
        tracker.clock.now = max(tracker.clock.now, tracker.job()["due_at"])
    job = tracker.job()
    assert job["state"] == "failed" and len(job["log"]) == attempts
    assert job["reason"] == "no 2xx answer for 24 h; last: HTTP 500"
    assert job["log"][-1]["at"] - T0 >= timedelta(hours=24)
    assert job["log"][-2]["at"] - T0 < timedelta(hours=24)
    # 5 s, 10 s, ... 2560 s, then hourly: 10 attempts in the first 1.4 h, then 23 more.
    assert attempts == 34


async def test_a_removed_webhook_ends_its_waiting_deliveries() -> None:
    tracker = Tracker(hooked(), [500])
    await confirmed(tracker)
    tracker.dispatcher.target_for = lambda tenant_id: None
    await tracker.dispatcher.round()
    assert tracker.job()["state"] == "failed" and tracker.poster.calls == []


# --- the HTTP poster ----------------------------------------------------------------------


async def test_private_targets_are_refused_unless_allowed() -> None:
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"Location": "http://10.0.0.1/"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer), follow_redirects=False)
    strict = HttpPoster(client, allow_private=False)
    for url in ("http://127.0.0.1:9/hook", "http://[::1]/hook", "http://localhost/hook"):
        with pytest.raises(TargetRefused):
            await strict.post(url, BODY, {})
    with pytest.raises(TargetRefused):
        await strict.post("ftp://billing.example.pl/hook", BODY, {})
    assert seen == []
    local = HttpPoster(client, allow_private=True)
    assert await local.post("http://127.0.0.1:9/hook", BODY, {}) == 307
    assert len(seen) == 1, "the redirect was not followed"
    await client.aclose()


def test_secrets_compare_in_constant_time_whatever_characters_they_hold() -> None:
    from einvoice.sealing import same_secret

    assert same_secret("tok-123", "tok-123")
    assert not same_secret("tok-123", "tok-124")
    assert not same_secret("tok-123", "żółw \u202e 😀")  # hmac.compare_digest would raise
    assert not same_secret("tok-123", "\udcff")  # a lone surrogate
