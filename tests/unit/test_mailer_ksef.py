"""mailer and KSeF: a PDF announced with its KSeF number (pdf.rendered's `ksef_number`)
gives an e-mail that names it ("Numer KSeF: …" in the default template, `ksef_number` in a
tenant's) and a link record the landing page can read it from (`links.ksef_number`)."""

from __future__ import annotations

import pytest

from einvoice import events
from einvoice.emailtemplates import (
    VARIABLES,
    check,
    compose,
    default_template,
    preview,
    sample_pdf,
)
from einvoice.readmodels.mailing import token_hash
from mailer.handlers import on_resend_requested
from tests.support.builders import BATCH, TENANT, rendered_event, rendered_payload, tenant_config
from tests.support.fakes import FakeTenants, html_part, text_part
from tests.unit.test_mailer_handler import LINK, Mailer

NUMBER = "5260250274-20250131-0A1B2C3D4E5F-EA"
SAMPLE = "5265877635-20250131-0A1B2C3D4E5F-63"  # the editor's sample (VARIABLES)


@pytest.fixture
def mailer() -> Mailer:
    return Mailer(FakeTenants())


def in_ksef(**overrides) -> events.Envelope:
    return rendered_event(rendered_payload(ksef_number=NUMBER, **overrides))


async def test_the_default_email_names_the_ksef_number(mailer) -> None:
    await mailer.run(in_ksef())
    [message] = mailer.smtp.messages
    text, html = text_part(message), html_part(message)
    assert f"Numer KSeF: {NUMBER}" in text
    assert f"Numer KSeF: <strong>{NUMBER}</strong>" in html
    # where it stands: after the invoice's sentence, before the link
    assert text.index("14.02.2025.") < text.index("Numer KSeF") < text.index("Fakturę można")


async def test_without_a_ksef_number_the_email_is_as_before(mailer) -> None:
    await mailer.run(rendered_event())
    [message] = mailer.smtp.messages
    assert "KSeF" not in text_part(message) and "KSeF" not in html_part(message)
    [link] = mailer.sendlog.links
    assert "ksef_number" not in link


async def test_the_link_record_carries_the_ksef_number(mailer) -> None:
    await mailer.run(in_ksef())
    token = LINK.search(text_part(mailer.smtp.messages[0])).group(1)
    [link] = mailer.sendlog.links
    assert link["_id"] == token_hash(token)
    assert link["ksef_number"] == NUMBER and link["invoice_id"] == "inv-1"


async def test_a_resend_keeps_the_ksef_number(mailer) -> None:
    await mailer.run(in_ksef())
    command = events.envelope(
        events.MAIL_RESEND_REQUESTED,
        events.MailResendRequested(invoice_id="inv-1", batch_id=BATCH, request_id="r1"),
        tenant_id=TENANT,
        correlation_id=BATCH,
        event_id="resend-1",
    )
    await mailer.run(command, on_resend_requested)
    assert len(mailer.smtp.messages) == 2
    assert f"Numer KSeF: {NUMBER}" in text_part(mailer.smtp.messages[1])
    assert [link.get("ksef_number") for link in mailer.sendlog.links] == [NUMBER, NUMBER]


async def test_a_tenants_template_gets_ksef_number(mailer) -> None:
    template = events.EmailTemplate(
        version=3,
        subject="Faktura {{ number }}{% if ksef_number %} (KSeF {{ ksef_number }}){% endif %}",
        html="<p>{{ link }}</p>",
        text="{{ link }} [{{ ksef_number }}]",
    )
    mailer.deps.tenants = FakeTenants({TENANT: tenant_config(email_template=template)})
    await mailer.run(in_ksef())
    [message] = mailer.smtp.messages
    assert str(message["Subject"]) == f"Faktura FV/2025/01/0001 (KSeF {NUMBER})"
    assert text_part(message).rstrip().endswith(f"[{NUMBER}]")


def test_ksef_number_is_a_documented_variable_checked_both_ways() -> None:
    [variable] = [v for v in VARIABLES if v.name == "ksef_number"]
    assert "{% if ksef_number %}" in variable.pl and variable.sample == SAMPLE
    assert check(default_template()) == []
    # a template that uses it without asking whether it is there still renders
    unguarded = events.EmailTemplate(
        version=1, subject="S", html="<p>x</p>", text="{{ ksef_number }}"
    )
    assert check(unguarded) == []
    composed = compose(default_template(), rendered_payload(ksef_number=NUMBER), "L", "E")
    assert NUMBER in composed.text and NUMBER in composed.html


def test_the_preview_shows_the_number_only_for_a_tenant_that_may_use_ksef() -> None:
    assert sample_pdf().ksef_number == SAMPLE
    assert f"Numer KSeF: {SAMPLE}" in preview(default_template()).text
    utility = events.TenantConfig(tenant_id="t", name="Ciepłownia", kind="utility")
    assert sample_pdf(utility).ksef_number is None
    assert "KSeF" not in preview(default_template(), utility).text
