"""mailer: pdf.rendered -> one queued e-mail per invoice and recipient; the dispatcher sends
it -> mail.sent | mail.failed."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import AutoReconnect

from einvoice import events
from einvoice.bus import Outgoing, TransientError
from einvoice.outbox import Outbox
from einvoice.readmodels.mailing import token_hash
from einvoice.smtp import SmtpServer
from mailer.composer import NBSP
from mailer.dispatch import Dispatcher, Route
from mailer.handlers import Deps, PermanentSmtpError, on_pdf_rendered, on_resend_requested
from mailer.limits import Limits, MailboxLimiter
from tests.support.builders import (
    BATCH,
    TENANT,
    decoded,
    rendered_event,
    rendered_payload,
    tenant_config,
)
from tests.support.fakes import FakeMailSender, FakeSendLog, FakeTenants, html_part, text_part
from tests.support.mongo import FakeCollection

BASE = "https://faktury.example.pl"
LINK = re.compile(r"https://faktury\.example\.pl/i/([A-Za-z0-9_-]+)")
SEND_ID = f"{TENANT}/inv-1/jan.kowalski@example.pl"
PLATFORM = Route(SmtpServer("smtp.platform.test", 25), Limits())


class Mailer:
    """The handlers, the outbox and one replica's dispatcher, over in-memory fakes."""

    def __init__(self, tenants: FakeTenants) -> None:
        self.jobs = FakeCollection()
        self.outbox = Outbox(self.jobs, owner="replica-1", coalesce=True)  # as the mailer runs
        self.sendlog = FakeSendLog(self.jobs)
        self.smtp = FakeMailSender()
        self.published: list[Outgoing] = []
        self.route = PLATFORM
        self.deps = Deps(
            log=self.sendlog,
            jobs=self.outbox,
            tenants=tenants,
            public_base_url=BASE + "/",
            default_sender="E-faktury <noreply@example.pl>",
            message_domain="mail.example.pl",
        )

        async def publish(out: list[Outgoing]) -> None:
            self.published.extend(out)

        self.dispatcher = Dispatcher(
            outbox=self.outbox,
            limiter=MailboxLimiter(FakeCollection()),
            sender=self.smtp,
            route_for=lambda tenant_id: self.route,
            publish=publish,
        )
        self.deps.queued = self.dispatcher.queued  # as mailer.__main__ wires it
        self.deps.handoff_lease = self.dispatcher.handoff_lease

    async def run(self, event: events.Envelope, handler=on_pdf_rendered) -> list[dict]:
        """Handle the event, then one dispatch round: every event that came out, decoded."""
        start = len(self.published)
        immediate = await handler(event, self.deps)
        await self.dispatcher.round()
        return [decoded(o) for o in immediate + self.published[start:]]

    def job(self, job_id: str = SEND_ID) -> dict:
        return self.jobs.docs[job_id]

    def make_due(self) -> None:
        for job in self.jobs.docs.values():
            job["due_at"] = datetime.now(UTC) - timedelta(seconds=1)


@pytest.fixture
def tenants() -> FakeTenants:
    return FakeTenants()


@pytest.fixture
def mailer(tenants) -> Mailer:
    return Mailer(tenants)


@pytest.fixture
def smtp(mailer) -> FakeMailSender:
    return mailer.smtp


@pytest.fixture
def sendlog(mailer) -> FakeSendLog:
    return mailer.sendlog


async def handle(event: events.Envelope, mailer: Mailer) -> dict:
    [body] = await mailer.run(event)
    assert body["type"] in (events.MAIL_SENT, events.MAIL_FAILED)
    return body


async def test_sends_one_mail_and_announces_it(mailer, smtp, sendlog) -> None:
    before = datetime.now(UTC)
    body = await handle(rendered_event(), mailer)

    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "jan.kowalski@example.pl"
    assert message["From"] == "E-faktury <noreply@example.pl>"
    assert message["Reply-To"] is None
    assert message["Subject"] == "Faktura FV/2025/01/0001 od Acme Energia Sp. z o.o."
    assert message["Message-ID"].startswith("<inv-1.") and message["Message-ID"].endswith(
        "@mail.example.pl>"
    )

    assert body["type"] == events.MAIL_SENT
    assert body["event_id"] == events.derived_event_id("pdf-1", events.MAIL_SENT)
    assert body["tenant_id"] == TENANT and body["correlation_id"] == BATCH
    payload = body["payload"]
    assert payload["invoice_id"] == "inv-1" and payload["batch_id"] == BATCH
    assert payload["recipient"] == "jan.kowalski@example.pl"
    assert payload["message_id"] == message["Message-ID"]
    assert payload["template_version"] == 0
    assert len(sendlog.links) == 1
    assert payload["link_id"] == sendlog.links[0]["link_id"]
    expires = datetime.fromisoformat(payload["link_expires_at"])
    assert before + timedelta(days=90) <= expires <= datetime.now(UTC) + timedelta(days=90)

    job = mailer.job()
    assert job["state"] == "done" and job["published"] is True
    assert job["cause"]["event_id"] == "pdf-1"
    assert smtp.sent[0][0] == PLATFORM.server


async def test_the_mail_shows_buyer_number_amount_and_due_date(mailer, smtp) -> None:
    await handle(rendered_event(), mailer)
    text, html = text_part(smtp.messages[0]), html_part(smtp.messages[0])
    for part in (text, html):
        assert "Dzień dobry Jan Kowalski," in part
        assert "FV/2025/01/0001" in part
        assert f"1{NBSP}234,56 PLN" in part
        assert "14.02.2025" in part


async def test_the_link_token_is_long_random_and_stored_only_as_its_hash(mailer, smtp, sendlog):
    await handle(rendered_event(), mailer)
    text, html = text_part(smtp.messages[0]), html_part(smtp.messages[0])
    tokens = set(LINK.findall(text))
    assert len(tokens) == 1
    token = tokens.pop()
    assert len(token) >= 43
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert f'href="{BASE}/i/{token}"' in html

    [link] = sendlog.links
    assert link["_id"] == token_hash(token)
    assert link["invoice_id"] == "inv-1" and link["tenant_id"] == TENANT
    assert link["s3_key"] == f"{TENANT}/2025/01/inv-1.pdf"
    assert link["recipient"] == "jan.kowalski@example.pl" and link["revoked"] is False
    assert link["expires_at"] - link["created_at"] == timedelta(days=90)
    assert all(token not in str(value) for value in link.values())
    # The queued job holds the composed e-mail until it is sent; nothing else keeps the token.
    job = {k: v for k, v in mailer.job().items() if k not in ("html", "text")}
    assert all(token not in str(value) for value in job.values())


async def test_tokens_differ_between_invoices(mailer, smtp) -> None:
    await handle(rendered_event(), mailer)
    other = rendered_payload(invoice_id="inv-2", number="FV/2025/01/0002")
    body = await handle(rendered_event(other, event_id="pdf-2"), mailer)
    assert body["payload"]["invoice_id"] == "inv-2"
    tokens = [LINK.findall(text_part(m))[0] for m in smtp.messages]
    assert len(tokens) == 2 and tokens[0] != tokens[1]


async def test_one_mail_per_invoice_and_recipient_across_redeliveries(mailer, smtp, sendlog):
    first = await handle(rendered_event(), mailer)
    again = await mailer.run(rendered_event())  # the same event redelivered
    # a re-rendered invoice (new event) to the same address, spelled differently
    other_event = rendered_event(
        rendered_payload(buyer_email="Jan.Kowalski@Example.PL"), event_id="pdf-2"
    )
    later = await mailer.run(other_event)

    assert len(smtp.messages) == 1
    assert list(mailer.jobs.docs) == [SEND_ID]
    assert len(sendlog.links) == 1
    assert again == [] and later == [], "the job exists and has reported its outcome"
    assert first["type"] == events.MAIL_SENT


async def test_an_outcome_lost_before_kafka_acknowledged_it_is_reported_again(mailer) -> None:
    async def kafka_down(out: list[Outgoing]) -> None:
        raise TransientError("no broker")

    working = mailer.dispatcher.publish
    mailer.dispatcher.publish = kafka_down
    await on_pdf_rendered(rendered_event(), mailer.deps)
    with pytest.raises(TransientError):
        await mailer.dispatcher.round()
    assert mailer.job()["state"] == "done" and mailer.job()["published"] is False

    mailer.dispatcher.publish = working
    await mailer.dispatcher.report_finished()
    [out] = mailer.published
    assert decoded(out)["event_id"] == events.derived_event_id("pdf-1", events.MAIL_SENT)
    assert mailer.job()["published"] is True
    assert len(mailer.smtp.messages) == 1


async def test_a_tenant_template_sender_reply_to_and_link_ttl_are_used(mailer, smtp, tenants):
    tenants.tenants[TENANT] = tenant_config(
        mail_from="Acme <efaktury@acme.pl>",
        reply_to="bok@acme.pl",
        link_ttl_days=30,
        email_template=events.EmailTemplate(
            version=7,
            subject="Twoja faktura {{ number }}",
            html="<p>{{ buyer_name }}: {{ total }} {{ currency }} {{ link }}</p>",
            text="{{ buyer_name }}: {{ total }} {{ currency }} {{ link }} do {{ link_expires }}",
        ),
    )
    body = await handle(rendered_event(), mailer)
    message = smtp.messages[0]
    assert message["From"] == "Acme <efaktury@acme.pl>"
    assert message["Reply-To"] == "bok@acme.pl"
    assert message["Subject"] == "Twoja faktura FV/2025/01/0001"
    expires = datetime.fromisoformat(body["payload"]["link_expires_at"])
    assert text_part(message).startswith(f"Jan Kowalski: 1{NBSP}234,56 PLN {BASE}/i/")
    assert text_part(message).rstrip().endswith(f"do {expires:%d.%m.%Y}")
    assert body["payload"]["template_version"] == 7
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)


async def test_a_missing_buyer_email_fails_the_mail_permanently(mailer, smtp, sendlog) -> None:
    body = await handle(rendered_event(rendered_payload(buyer_email=None)), mailer)
    assert body["type"] == events.MAIL_FAILED
    assert body["event_id"] == events.derived_event_id("pdf-1", events.MAIL_FAILED)
    assert body["payload"] == {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "recipient": None,
        "reason": "the buyer has no e-mail address",
        "permanent": True,
    }
    assert smtp.attempts == 0 and sendlog.links == [] and mailer.jobs.docs == {}


async def test_a_header_with_a_line_break_fails_the_mail_without_sending(mailer, smtp, tenants):
    # (tenant settings are validated on the way in; this one got past it)
    config = tenant_config().model_copy(update={"reply_to": "bok@acme.pl\nBcc: victim@example.com"})
    tenants.tenants[TENANT] = config
    body = await handle(rendered_event(), mailer)
    assert body["type"] == events.MAIL_FAILED
    assert "not sendable: the Reply-To header contains a line break" in body["payload"]["reason"]
    assert smtp.attempts == 0 and mailer.job()["state"] == "failed"


async def test_a_permanent_smtp_error_fails_the_mail_with_its_reason(mailer, smtp, sendlog):
    smtp.fail_with = PermanentSmtpError("recipient refused: 550 5.1.1 no such user")
    body = await handle(rendered_event(), mailer)
    assert body["type"] == events.MAIL_FAILED
    assert body["payload"] == {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "recipient": "jan.kowalski@example.pl",
        "reason": "recipient refused: 550 5.1.1 no such user",
        "permanent": True,
    }
    assert mailer.job()["state"] == "failed"

    # a redelivery makes no other attempt
    smtp.fail_with = None
    assert await mailer.run(rendered_event()) == []
    assert smtp.attempts == 1 and smtp.messages == []


async def test_a_temporary_smtp_error_waits_with_backoff_then_sends_once(mailer, smtp, sendlog):
    smtp.fail_with = [TransientError("SMTP 451: try again later")]
    assert await mailer.run(rendered_event()) == []
    job = mailer.job()
    assert job["state"] == "queued" and job["attempts"] == 1
    assert job["waiting_for"] == "retry" and job["last_error"] == "SMTP 451: try again later"
    wait = job["due_at"] - datetime.now(UTC)
    assert timedelta(seconds=8) < wait <= timedelta(seconds=10)
    assert smtp.messages == []

    await mailer.dispatcher.round()  # not due yet: nothing happens
    assert smtp.attempts == 1

    mailer.make_due()
    smtp.fail_with = [TransientError("SMTP 421: busy")]
    await mailer.dispatcher.round()
    wait = mailer.job()["due_at"] - datetime.now(UTC)
    assert timedelta(seconds=18) < wait <= timedelta(seconds=20), "the delay doubles"

    mailer.make_due()
    await mailer.dispatcher.round()
    [out] = mailer.published
    assert decoded(out)["type"] == events.MAIL_SENT
    assert len(smtp.messages) == 1 and smtp.attempts == 3
    assert mailer.job()["state"] == "done"
    token = LINK.findall(text_part(smtp.messages[0]))[0]
    assert sendlog.links[-1]["_id"] == token_hash(token)


async def test_temporary_errors_for_too_long_end_as_failed(mailer, smtp) -> None:
    smtp.fail_with = TransientError("SMTP unavailable: connection refused")
    long_ago = datetime.now(UTC) - timedelta(hours=49)
    mailer.deps.jobs = Outbox(mailer.jobs, owner="replica-1", clock=lambda: long_ago)
    await on_pdf_rendered(rendered_event(), mailer.deps)  # queued 49 h ago
    await mailer.dispatcher.round()
    [out] = mailer.published
    body = decoded(out)
    assert body["type"] == events.MAIL_FAILED
    assert body["payload"]["reason"] == (
        "temporary failures for 48 h; last: SMTP unavailable: connection refused"
    )


async def test_mail_beyond_the_mailbox_limit_waits_for_the_next_slot(mailer, smtp) -> None:
    mailer.route = Route(SmtpServer("smtp.tenant.test", 587, "starttls"), Limits(per_minute=2))
    for n in range(5):
        pdf = rendered_payload(invoice_id=f"inv-{n}", buyer_email=f"k{n}@example.pl")
        await on_pdf_rendered(rendered_event(pdf, event_id=f"pdf-{n}"), mailer.deps)
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 2
    waiting = [j for j in mailer.jobs.docs.values() if j["state"] == "queued"]
    assert len(waiting) == 3
    assert {j["waiting_for"] for j in waiting} == {"mailbox limit"}
    slot = waiting[0]["due_at"]
    assert timedelta(seconds=59) < slot - datetime.now(UTC) <= timedelta(seconds=61)
    assert all(j["attempts"] == 0 for j in waiting), "waiting for a slot is not a failure"

    await mailer.dispatcher.round()  # a second round (or replica) gets no slot either
    assert len(smtp.messages) == 2
    assert all(server.host == "smtp.tenant.test" for server, _ in smtp.sent)


async def test_a_hostile_tenant_template_and_buyer_name_are_escaped_in_html(
    mailer, smtp, tenants
) -> None:
    tenants.tenants[TENANT] = tenant_config(
        email_template=events.EmailTemplate(
            subject="Faktura {{ number }}",
            html='<p>{{ "<b>" }}{{ buyer_name }}</p><a href="{{ link }}">x</a>',
            text="{{ buyer_name }} {{ link }}",
        )
    )
    pdf = rendered_payload(buyer_name='<script>alert("x")</script> & Syn')
    await handle(rendered_event(pdf), mailer)
    html = html_part(smtp.messages[0])
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;b&gt;" in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Syn" in html
    # plain text is not HTML: it shows the name as it is
    assert text_part(smtp.messages[0]).startswith('<script>alert("x")</script> & Syn ')


async def test_the_subject_never_contains_line_breaks(mailer, smtp, tenants) -> None:
    tenants.tenants[TENANT] = tenant_config(
        email_template=events.EmailTemplate(
            subject="Faktura {{ number }}\r\nBcc: victim@example.com\n{{ buyer_name }}",
            html="<p>{{ link }}</p>",
            text="{{ link }}",
        )
    )
    pdf = rendered_payload(buyer_name="Jan\r\nBcc: evil@example.com")
    await handle(rendered_event(pdf), mailer)
    message = smtp.messages[0]
    subject = message["Subject"]
    assert "\n" not in subject and "\r" not in subject
    assert subject == ("Faktura FV/2025/01/0001 Bcc: victim@example.com Jan Bcc: evil@example.com")
    assert message.get_all("Bcc") is None
    assert "\nBcc:" not in message.as_string()


@pytest.mark.parametrize(
    ("html", "fragment"),
    [
        ("<p>{{ no_such_variable }}</p>", "'no_such_variable' is undefined"),
        ("<p>{{ link.__class__.__mro__ }}</p>", "unsafe"),
    ],
    ids=["undefined-variable", "sandbox"],
)
async def test_a_broken_tenant_template_fails_the_mail_without_sending_or_a_link(
    mailer, smtp, sendlog, tenants, html: str, fragment: str
) -> None:
    tenants.tenants[TENANT] = tenant_config(
        email_template=events.EmailTemplate(subject="Faktura", html=html, text="{{ link }}")
    )
    body = await handle(rendered_event(), mailer)
    assert body["type"] == events.MAIL_FAILED
    assert body["payload"]["reason"].startswith("the e-mail template does not render")
    assert fragment in body["payload"]["reason"]
    assert smtp.attempts == 0 and sendlog.links == []
    assert mailer.jobs.docs == {}, "nothing queued: once the template is fixed, a replay sends"


async def test_a_retail_invoice_goes_to_the_shopper_and_the_chains_accounting(
    mailer, smtp, tenants
) -> None:
    tenants.tenants[TENANT] = tenant_config(kind="retail")
    payload = rendered_payload(recipients=["ola@example.pl", "ksiegowosc@sklep.pl"])
    shopper_waits = rendered_event(payload).model_copy(update={"lane": "interactive"})
    first = await mailer.run(shopper_waits)
    assert sorted(m["To"] for m in smtp.messages) == ["ksiegowosc@sklep.pl", "ola@example.pl"]
    assert [b["type"] for b in first] == [events.MAIL_SENT, events.MAIL_SENT]
    assert len({b["event_id"] for b in first}) == 2, "one event per recipient, told apart"
    assert {j["priority"] for j in mailer.jobs.docs.values()} == {0}, "before bulk mail"
    assert {b["lane"] for b in first} == {"interactive"}, "its outcome stays in the lane"
    assert [o.topic for o in mailer.published] == ["mail.sent.interactive"] * 2
    assert await mailer.run(shopper_waits) == []
    assert len(smtp.messages) == 2, "a redelivery sends nothing again"


async def test_a_resend_mails_a_new_link_and_revokes_the_old_ones(mailer, smtp, sendlog) -> None:
    await mailer.run(rendered_event())
    old_token = LINK.search(text_part(smtp.messages[0])).group(1)
    command = events.envelope(
        events.MAIL_RESEND_REQUESTED,
        events.MailResendRequested(invoice_id="inv-1", batch_id=BATCH, request_id="r1"),
        tenant_id=TENANT,
        correlation_id=BATCH,
        event_id="resend-1",
    )
    [out] = await mailer.run(command, on_resend_requested)
    again = await mailer.run(command, on_resend_requested)  # redelivered: nothing new
    assert len(smtp.messages) == 2
    new_token = LINK.search(text_part(smtp.messages[1])).group(1)
    assert new_token != old_token
    by_hash = {link["_id"]: link for link in sendlog.links}
    assert by_hash[token_hash(old_token)]["revoked"] is True
    assert by_hash[token_hash(new_token)]["revoked"] is False
    assert out["type"] == events.MAIL_SENT
    assert out["event_id"] == events.derived_event_id(
        "resend-1", events.MAIL_SENT, "jan.kowalski@example.pl"
    )
    assert again == []


class CountingOutbox(Outbox):
    """Counts the rounds that asked the database what is due, and the jobs claimed."""

    polls = 0
    claims = 0

    async def due(self, limit: int) -> list[dict]:
        self.polls += 1
        return await super().due(limit)

    async def claim_many(self, jobs: list[dict]) -> list[dict]:
        self.claims += len(jobs)
        return await super().claim_many(jobs)


async def test_a_round_sends_what_this_replica_queued_without_asking_the_database(
    mailer, smtp
) -> None:
    outbox = CountingOutbox(mailer.jobs, owner="replica-1")
    mailer.deps.jobs = mailer.dispatcher.outbox = outbox
    mailer.dispatcher.db_poll = 3600
    for n in range(3):
        pdf = rendered_payload(invoice_id=f"inv-{n}", buyer_email=f"k{n}@example.pl")
        await on_pdf_rendered(rendered_event(pdf, event_id=f"pdf-{n}"), mailer.deps)
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 3 and outbox.polls == 1  # the first round looks once
    for n in range(3, 6):
        pdf = rendered_payload(invoice_id=f"inv-{n}", buyer_email=f"k{n}@example.pl")
        await on_pdf_rendered(rendered_event(pdf, event_id=f"pdf-{n}"), mailer.deps)
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 6 and outbox.polls == 1
    assert {j["state"] for j in mailer.jobs.docs.values()} == {"done"}
    await mailer.dispatcher.round()  # nothing handed off: the database is asked
    assert outbox.polls == 2 and len(smtp.messages) == 6  # and nothing is sent twice


async def test_a_handed_off_job_is_stored_claimed_and_sent_without_a_claim_write(
    mailer, smtp
) -> None:
    outbox = CountingOutbox(mailer.jobs, owner="replica-1")
    mailer.deps.jobs = mailer.dispatcher.outbox = outbox
    await on_pdf_rendered(rendered_event(), mailer.deps)
    stored = mailer.job()
    assert stored["state"] == "working" and stored["owner"] == "replica-1"
    hold = stored["lease_until"] - datetime.now(UTC)
    assert timedelta(seconds=110) < hold <= timedelta(minutes=2)  # the hand-off's lease
    assert not mailer.dispatcher._held  # not in the heartbeat's write while it waits
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 1 and outbox.claims == 0
    assert mailer.job()["state"] == "done" and not mailer.dispatcher._held


async def test_a_handed_off_job_whose_lease_ran_out_is_sent_once(mailer, smtp) -> None:
    """The database was away long enough for the lease of a job waiting in the hand-off to
    run out: this replica's own poll finds it among the stale jobs, and does not take it a
    second time."""
    dispatcher = mailer.dispatcher
    dispatcher.db_poll = 0
    await on_pdf_rendered(rendered_event(), mailer.deps)
    mailer.job()["lease_until"] = datetime.now(UTC) - timedelta(seconds=1)
    assert [job["_id"] for job in await mailer.outbox.due(10)] == [SEND_ID]
    await dispatcher.round()
    await dispatcher.round()
    assert len(smtp.messages) == 1 and mailer.job()["state"] == "done"


async def test_a_job_that_waited_long_in_the_hand_off_is_renewed_or_left(mailer, smtp) -> None:
    """Less than a lease left of its hold: renewed before it is sent; taken over by another
    replica meanwhile: left to it."""
    long_ago = datetime.now(UTC) - timedelta(seconds=100)
    mailer.deps.jobs = Outbox(mailer.jobs, owner="replica-1", clock=lambda: long_ago)
    await on_pdf_rendered(rendered_event(), mailer.deps)  # 20 s of its hold left
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 1 and mailer.job()["v"] == 2  # renewed, then finished
    pdf = rendered_payload(invoice_id="inv-2", buyer_email="k2@example.pl")
    await on_pdf_rendered(rendered_event(pdf, event_id="pdf-2"), mailer.deps)
    other = f"{TENANT}/inv-2/k2@example.pl"
    mailer.jobs.docs[other] |= {"owner": "replica-2", "v": 1}  # its hold ran out; taken over
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 1 and mailer.job(other)["owner"] == "replica-2"


async def test_a_full_hand_off_holds_the_batch_back_but_never_a_shopper(mailer, smtp) -> None:
    dispatcher = Dispatcher(
        outbox=mailer.outbox,
        limiter=MailboxLimiter(FakeCollection()),
        sender=smtp,
        route_for=lambda tenant_id: mailer.route,
        publish=mailer.dispatcher.publish,
        handoff_limit=2,
    )
    mailer.deps.queued = dispatcher.queued
    for n in range(2):
        pdf = rendered_payload(invoice_id=f"inv-{n}", buyer_email=f"k{n}@example.pl")
        await on_pdf_rendered(rendered_event(pdf, event_id=f"pdf-{n}"), mailer.deps)
    third = asyncio.ensure_future(
        on_pdf_rendered(
            rendered_event(rendered_payload(invoice_id="inv-2"), event_id="pdf-2"), mailer.deps
        )
    )
    await asyncio.sleep(0.05)
    assert not third.done(), "the consumer waits while the hand-off is full"
    await dispatcher.queued({"_id": "s", "priority": 0, "tenant_id": TENANT, "state": "x"})
    await dispatcher.round()
    await asyncio.wait_for(third, 1)
    await dispatcher.round()
    assert len(smtp.messages) == 3


class AwayOutbox(Outbox):
    """The database is unreachable for the first `away` attempts to record a finished job."""

    away = 2
    tries = 0

    async def finish(self, job: dict, state: str, result: dict) -> bool:
        self.tries += 1
        if self.tries <= self.away:
            raise AutoReconnect("connection refused")
        return await super().finish(job, state, result)


async def test_a_send_is_recorded_once_the_database_is_back_not_sent_again(mailer, smtp) -> None:
    outbox = AwayOutbox(mailer.jobs, owner="replica-1", lease=timedelta(minutes=2))
    mailer.deps.jobs = mailer.dispatcher.outbox = outbox
    await mailer.run(rendered_event())
    assert outbox.tries == 3 and len(smtp.messages) == 1
    assert mailer.job()["state"] == "done"
    mailer.make_due()
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 1, "recorded as sent: nothing is sent again"


class TakenOverOutbox(Outbox):
    """Another replica takes every job over right after this one claimed it (or stored it
    claimed, to hand it off): its lease ran out, say, while the database was away."""

    async def claim_many(self, jobs: list[dict]) -> list[dict]:
        claimed = await super().claim_many(jobs)
        for job in claimed:
            self.jobs.docs[job["_id"]] |= {"owner": "replica-2", "v": job["v"] + 1}
        return claimed

    async def enqueue(self, job_id: str, job: dict, priority: int = 1, *, hold=None):
        stored = await super().enqueue(job_id, job, priority, hold=hold)
        if stored is not None and hold is not None:
            ran_out = {"lease_until": datetime.now(UTC) - timedelta(seconds=1)}
            self.jobs.docs[job_id] |= ran_out | {"owner": "replica-2", "v": stored["v"] + 1}
            stored |= ran_out
        return stored


async def test_a_job_is_sent_only_while_its_lease_is_held(mailer, smtp) -> None:
    # A lease shorter than a send may last is renewed before sending...
    short = Outbox(mailer.jobs, owner="replica-1", lease=timedelta(seconds=3))
    mailer.deps.jobs = mailer.dispatcher.outbox = short
    await on_pdf_rendered(rendered_event(), mailer.deps)
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 1
    # ...and a job another replica took over meanwhile is left to it.
    taken = TakenOverOutbox(mailer.jobs, owner="replica-1", lease=timedelta(seconds=3))
    mailer.deps.jobs = mailer.dispatcher.outbox = taken
    pdf = rendered_payload(invoice_id="inv-2", buyer_email="k2@example.pl")
    await on_pdf_rendered(rendered_event(pdf, event_id="pdf-2"), mailer.deps)
    await mailer.dispatcher.round()
    assert len(smtp.messages) == 1
    assert mailer.job(f"{TENANT}/inv-2/k2@example.pl")["owner"] == "replica-2"
