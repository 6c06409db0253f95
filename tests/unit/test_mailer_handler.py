"""mailer: pdf.rendered -> one e-mail per invoice and recipient -> mail.sent | mail.failed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from einvoice import events
from einvoice.bus import TransientError
from einvoice.readmodels import token_hash
from mailer.composer import NBSP
from mailer.handlers import Deps, PermanentSmtpError, on_pdf_rendered, on_resend_requested
from tests.unit.fakes import (
    BATCH,
    TENANT,
    FakeSendLog,
    FakeSmtp,
    FakeTenants,
    decoded,
    html_part,
    rendered_event,
    rendered_payload,
    tenant_config,
    text_part,
)

BASE = "https://faktury.example.pl"
LINK = re.compile(r"https://faktury\.example\.pl/i/([A-Za-z0-9_-]+)")
SEND_ID = f"{TENANT}/inv-1/jan.kowalski@example.pl"


@pytest.fixture
def sendlog() -> FakeSendLog:
    return FakeSendLog()


@pytest.fixture
def smtp() -> FakeSmtp:
    return FakeSmtp()


@pytest.fixture
def tenants() -> FakeTenants:
    return FakeTenants()


@pytest.fixture
def deps(sendlog, smtp, tenants) -> Deps:
    return Deps(
        log=sendlog,
        smtp=smtp,
        tenants=tenants,
        public_base_url=BASE + "/",
        default_sender="E-faktury <noreply@example.pl>",
        message_domain="mail.example.pl",
    )


async def handle(event: events.Envelope, deps: Deps) -> dict:
    out = await on_pdf_rendered(event, deps)
    assert len(out) == 1 and out[0].key == "inv-1"
    body = decoded(out[0])
    assert body["type"] == out[0].topic
    return body


async def test_sends_one_mail_and_announces_it(deps, smtp, sendlog) -> None:
    before = datetime.now(UTC)
    body = await handle(rendered_event(), deps)

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

    assert sendlog.marks == [SEND_ID]
    assert sendlog.sends[SEND_ID]["status"] == "sent"
    assert sendlog.sends[SEND_ID]["cause_event_id"] == "pdf-1"


async def test_the_mail_shows_buyer_number_amount_and_due_date(deps, smtp) -> None:
    await handle(rendered_event(), deps)
    text, html = text_part(smtp.messages[0]), html_part(smtp.messages[0])
    for part in (text, html):
        assert "Dzień dobry Jan Kowalski," in part
        assert "FV/2025/01/0001" in part
        assert f"1{NBSP}234,56 PLN" in part
        assert "14.02.2025" in part


async def test_the_link_token_is_long_random_and_stored_only_as_its_hash(deps, smtp, sendlog):
    await handle(rendered_event(), deps)
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
    assert all(token not in str(value) for value in sendlog.sends[SEND_ID].values())


async def test_tokens_differ_between_invoices(deps, smtp) -> None:
    await handle(rendered_event(), deps)
    other = rendered_payload(invoice_id="inv-2", number="FV/2025/01/0002")
    out = await on_pdf_rendered(rendered_event(other, event_id="pdf-2"), deps)
    assert out[0].key == "inv-2"
    tokens = [LINK.findall(text_part(m))[0] for m in smtp.messages]
    assert len(tokens) == 2 and tokens[0] != tokens[1]


async def test_one_mail_per_invoice_and_recipient_across_redeliveries(deps, smtp, sendlog):
    first = await handle(rendered_event(), deps)
    again = await handle(rendered_event(), deps)  # the same event redelivered
    # a re-rendered invoice (new event) to the same address, spelled differently
    other_event = rendered_event(
        rendered_payload(buyer_email="Jan.Kowalski@Example.PL"), event_id="pdf-2"
    )
    later = await handle(other_event, deps)

    assert len(smtp.messages) == 1
    assert sendlog.marks == [SEND_ID]
    assert len(sendlog.links) == 1
    assert again["event_id"] == first["event_id"]
    assert again["payload"] == first["payload"] == later["payload"]
    assert later["type"] == events.MAIL_SENT


async def test_a_tenant_template_sender_reply_to_and_link_ttl_are_used(deps, smtp, tenants):
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
    body = await handle(rendered_event(), deps)
    message = smtp.messages[0]
    assert message["From"] == "Acme <efaktury@acme.pl>"
    assert message["Reply-To"] == "bok@acme.pl"
    assert message["Subject"] == "Twoja faktura FV/2025/01/0001"
    expires = datetime.fromisoformat(body["payload"]["link_expires_at"])
    assert text_part(message).startswith(f"Jan Kowalski: 1{NBSP}234,56 PLN {BASE}/i/")
    assert text_part(message).rstrip().endswith(f"do {expires:%d.%m.%Y}")
    assert body["payload"]["template_version"] == 7
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)


async def test_a_missing_buyer_email_fails_the_mail_permanently(deps, smtp, sendlog) -> None:
    body = await handle(rendered_event(rendered_payload(buyer_email=None)), deps)
    assert body["type"] == events.MAIL_FAILED
    assert body["event_id"] == events.derived_event_id("pdf-1", events.MAIL_FAILED)
    assert body["payload"] == {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "recipient": None,
        "reason": "the buyer has no e-mail address",
        "permanent": True,
    }
    assert smtp.attempts == 0 and sendlog.links == [] and sendlog.marks == []


async def test_a_permanent_smtp_error_fails_the_mail_with_its_reason(deps, smtp, sendlog):
    smtp.fail_with = PermanentSmtpError("recipient refused: 550 5.1.1 no such user")
    body = await handle(rendered_event(), deps)
    assert body["type"] == events.MAIL_FAILED
    assert body["payload"] == {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "recipient": "jan.kowalski@example.pl",
        "reason": "recipient refused: 550 5.1.1 no such user",
        "permanent": True,
    }
    assert sendlog.sends[SEND_ID]["status"] == "failed"

    # a redelivery repeats the outcome without another attempt
    smtp.fail_with = None
    again = await handle(rendered_event(), deps)
    assert again == body | {"occurred_at": again["occurred_at"]}
    assert smtp.attempts == 1 and smtp.messages == []


async def test_a_transient_smtp_error_propagates_and_marks_nothing(deps, smtp, sendlog) -> None:
    smtp.fail_with = TransientError("SMTP unavailable")
    with pytest.raises(TransientError, match="SMTP unavailable"):
        await on_pdf_rendered(rendered_event(), deps)
    assert sendlog.marks == [] and sendlog.sends == {}
    assert smtp.messages == []

    # the loop retries once the server is back: exactly one mail goes out
    smtp.fail_with = None
    body = await handle(rendered_event(), deps)
    assert body["type"] == events.MAIL_SENT
    assert len(smtp.messages) == 1 and sendlog.marks == [SEND_ID]
    assert body["payload"]["link_id"] == sendlog.links[-1]["link_id"]
    token = LINK.findall(text_part(smtp.messages[0]))[0]
    assert sendlog.links[-1]["_id"] == token_hash(token)


async def test_a_hostile_tenant_template_and_buyer_name_are_escaped_in_html(
    deps, smtp, tenants
) -> None:
    tenants.tenants[TENANT] = tenant_config(
        email_template=events.EmailTemplate(
            subject="Faktura {{ number }}",
            html='<p>{{ "<b>" }}{{ buyer_name }}</p><a href="{{ link }}">x</a>',
            text="{{ buyer_name }} {{ link }}",
        )
    )
    pdf = rendered_payload(buyer_name='<script>alert("x")</script> & Syn')
    await handle(rendered_event(pdf), deps)
    html = html_part(smtp.messages[0])
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;b&gt;" in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Syn" in html
    # plain text is not HTML: it shows the name as it is
    assert text_part(smtp.messages[0]).startswith('<script>alert("x")</script> & Syn ')


async def test_the_subject_never_contains_line_breaks(deps, smtp, tenants) -> None:
    tenants.tenants[TENANT] = tenant_config(
        email_template=events.EmailTemplate(
            subject="Faktura {{ number }}\r\nBcc: victim@example.com\n{{ buyer_name }}",
            html="<p>{{ link }}</p>",
            text="{{ link }}",
        )
    )
    pdf = rendered_payload(buyer_name="Jan\r\nBcc: evil@example.com")
    await handle(rendered_event(pdf), deps)
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
    deps, smtp, sendlog, tenants, html: str, fragment: str
) -> None:
    tenants.tenants[TENANT] = tenant_config(
        email_template=events.EmailTemplate(subject="Faktura", html=html, text="{{ link }}")
    )
    body = await handle(rendered_event(), deps)
    assert body["type"] == events.MAIL_FAILED
    assert body["payload"]["reason"].startswith("the e-mail template does not render")
    assert fragment in body["payload"]["reason"]
    assert smtp.attempts == 0 and sendlog.links == []
    assert sendlog.marks == [], "not recorded as sent or failed: a fixed template may retry"


async def test_a_retail_invoice_goes_to_the_shopper_and_the_chains_accounting(
    deps, smtp, sendlog
) -> None:
    payload = rendered_payload(recipients=["ola@example.pl", "ksiegowosc@sklep.pl"])
    first = [decoded(o) for o in await on_pdf_rendered(rendered_event(payload), deps)]
    assert [m["To"] for m in smtp.messages] == ["ola@example.pl", "ksiegowosc@sklep.pl"]
    assert [b["type"] for b in first] == [events.MAIL_SENT, events.MAIL_SENT]
    assert len({b["event_id"] for b in first}) == 2, "one event per recipient, told apart"
    again = [decoded(o) for o in await on_pdf_rendered(rendered_event(payload), deps)]
    assert len(smtp.messages) == 2, "a redelivery sends nothing again"
    assert [b["event_id"] for b in again] == [b["event_id"] for b in first]


async def test_a_resend_mails_a_new_link_and_revokes_the_old_ones(deps, smtp, sendlog) -> None:
    await on_pdf_rendered(rendered_event(), deps)
    old_token = LINK.search(text_part(smtp.messages[0])).group(1)
    command = events.envelope(
        events.MAIL_RESEND_REQUESTED,
        events.MailResendRequested(invoice_id="inv-1", batch_id=BATCH, request_id="r1"),
        tenant_id=TENANT,
        correlation_id=BATCH,
        event_id="resend-1",
    )
    [out] = await on_resend_requested(command, deps)
    again = await on_resend_requested(command, deps)  # redelivered: nothing new
    assert len(smtp.messages) == 2
    new_token = LINK.search(text_part(smtp.messages[1])).group(1)
    assert new_token != old_token
    by_hash = {link["_id"]: link for link in sendlog.links}
    assert by_hash[token_hash(old_token)]["revoked"] is True
    assert by_hash[token_hash(new_token)]["revoked"] is False
    assert decoded(out)["type"] == events.MAIL_SENT
    assert decoded(again[0])["event_id"] == decoded(out)["event_id"]
