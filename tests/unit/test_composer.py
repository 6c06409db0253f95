"""Composing the invoice e-mail (einvoice.emailtemplates, which the mailer uses through
mailer.composer): the default Polish e-mail, amounts, sandboxed tenant templates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from einvoice import events
from einvoice.emailtemplates import NBSP, build_message, compose, default_template, format_pln
from tests.support.builders import rendered_payload
from tests.support.fakes import html_part, on_the_wire, text_part

LINK = "https://faktury.example.pl/i/tok_123-ABC"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0", "0,00"),
        ("0.5", "0,50"),
        ("999.99", "999,99"),
        ("1000", f"1{NBSP}000,00"),
        ("1234.56", f"1{NBSP}234,56"),
        ("1234567.8", f"1{NBSP}234{NBSP}567,80"),
        ("999999999999.99", f"999{NBSP}999{NBSP}999{NBSP}999,99"),
    ],
)
def test_format_pln_uses_nbsp_thousands_and_decimal_comma(amount: str, text: str) -> None:
    assert format_pln(Decimal(amount)) == text


def test_nbsp_is_the_no_break_space() -> None:
    assert NBSP == "\u00a0"


def test_the_mailer_composes_with_the_shared_module() -> None:
    from mailer import composer

    assert composer.compose is compose and composer.default_template is default_template
    assert composer.build_message is build_message


def test_the_default_template_is_polish_and_version_zero() -> None:
    template = default_template()
    assert template.version == 0
    assert template.subject == "Faktura {{ number }} od {{ seller_name }}"
    assert "Dzień dobry" in template.text and 'lang="pl"' in template.html


def test_the_default_template_renders_every_detail() -> None:
    composed = compose(default_template(), rendered_payload(), LINK, "01.05.2025")
    assert composed.subject == "Faktura FV/2025/01/0001 od Acme Energia Sp. z o.o."
    assert composed.template_version == 0
    assert composed.text.startswith("Dzień dobry Jan Kowalski,\n")
    assert (
        "Acme Energia Sp. z o.o. wystawił(a) dla Państwa fakturę FV/2025/01/0001 na kwotę "
        f"1{NBSP}234,56 PLN, z terminem płatności 14.02.2025." in composed.text
    )
    assert f"\n{LINK}\n" in composed.text
    assert "Link jest ważny do 01.05.2025." in composed.text
    assert f'<a href="{LINK}"' in composed.html
    assert f"<strong>1{NBSP}234,56 PLN</strong>" in composed.html
    assert "<strong>14.02.2025</strong>" in composed.html


def test_without_due_date_the_payment_term_is_left_out() -> None:
    composed = compose(default_template(), rendered_payload(due_date=None), LINK, "01.05.2025")
    assert "terminem" not in composed.text and "terminem" not in composed.html
    assert f"na kwotę 1{NBSP}234,56 PLN." in composed.text


def test_html_is_escaped_but_text_is_not() -> None:
    pdf = rendered_payload(buyer_name="Kowalski & <Syn>", seller_name='"Zdrój"')
    composed = compose(default_template(), pdf, LINK, "01.05.2025")
    assert "Dzień dobry Kowalski &amp; &lt;Syn&gt;," in composed.html
    assert "&#34;Zdrój&#34;" in composed.html
    assert "Dzień dobry Kowalski & <Syn>," in composed.text


def test_subject_whitespace_and_line_breaks_are_collapsed() -> None:
    template = events.EmailTemplate(subject="  A\n\n{{ number }}\r\n\tB  ", html="x", text="x")
    assert compose(template, rendered_payload(), LINK, "x").subject == "A FV/2025/01/0001 B"


def test_an_unknown_variable_is_an_error_not_a_blank() -> None:
    template = events.EmailTemplate(subject="{{ numer }}", html="x", text="x")
    with pytest.raises(UndefinedError):
        compose(template, rendered_payload(), LINK, "x")


def test_templates_run_in_a_sandbox() -> None:
    template = events.EmailTemplate(
        subject="x", html="{{ buyer_name.__class__.__mro__ }}", text="x"
    )
    with pytest.raises(SecurityError):
        compose(template, rendered_payload(), LINK, "x")


def test_build_message_has_both_parts_and_headers() -> None:
    composed = compose(default_template(), rendered_payload(), LINK, "01.05.2025")
    message = on_the_wire(
        build_message(
            composed,
            sender="Zdrój <efaktury@zdroj.pl>",
            recipient="jan@example.pl",
            message_id="<inv-1.abc@example.pl>",
            reply_to="bok@zdroj.pl",
        )
    )
    assert message["Date"] is not None
    assert message["From"] == "Zdrój <efaktury@zdroj.pl>"
    assert message["To"] == "jan@example.pl"
    assert message["Subject"] == composed.subject
    assert message["Message-ID"] == "<inv-1.abc@example.pl>"
    assert message["Reply-To"] == "bok@zdroj.pl"
    assert message.get_content_type() == "multipart/alternative"
    assert text_part(message).rstrip("\n") == composed.text.rstrip("\n")
    assert html_part(message).rstrip("\n") == composed.html.rstrip("\n")


def test_build_message_without_reply_to() -> None:
    composed = compose(default_template(), rendered_payload(), LINK, "01.05.2025")
    message = build_message(
        composed, sender="a@b.pl", recipient="c@d.pl", message_id="<x@y>", reply_to=None
    )
    assert "Reply-To" not in message


@pytest.mark.parametrize(
    "source", ["{{ 'x' * 1000000 }}", "{{ [1] * 200000 }}", "{{ 9 ** 999999 }}"]
)
def test_the_sandbox_refuses_huge_repetitions_and_powers(source: str) -> None:
    template = events.EmailTemplate(subject="x", html="x", text=source)
    with pytest.raises(SecurityError):
        compose(template, rendered_payload(), LINK, "x")


def test_modest_repetitions_still_work() -> None:
    template = events.EmailTemplate(subject="x", html="x", text="{{ '-' * 20 }}{{ 2 ** 10 }}")
    assert compose(template, rendered_payload(), LINK, "x").text == "-" * 20 + "1024"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recipient", "jan@example.pl\r\nBcc: victim@example.com"),
        ("sender", "Zdrój <a@b.pl>\nBcc: victim@example.com"),
        ("reply_to", "bok@zdroj.pl\rBcc: victim@example.com"),
        ("message_id", "<x@y>\r\nBcc: victim@example.com"),
    ],
)
def test_a_line_break_in_a_header_is_refused(field: str, value: str) -> None:
    composed = compose(default_template(), rendered_payload(), LINK, "01.05.2025")
    headers = {"sender": "a@b.pl", "recipient": "c@d.pl", "message_id": "<x@y>"}
    with pytest.raises(ValueError, match="line break"):
        build_message(composed, **{"reply_to": None, **headers, field: value})


def test_polish_text_survives_the_wire() -> None:
    pdf = rendered_payload(buyer_name="Żaneta Łęcka-Ćwik", seller_name="Wodociągi Łódź")
    composed = compose(default_template(), pdf, LINK, "01.05.2025")
    message = on_the_wire(
        build_message(
            composed,
            sender="Wodociągi Łódź <faktury@example.pl>",
            recipient="zaneta@example.pl",
            message_id="<x@y>",
            reply_to=None,
        )
    )
    assert message["From"] == "Wodociągi Łódź <faktury@example.pl>"
    assert message["Subject"] == composed.subject and "Wodociągi Łódź" in composed.subject
    assert "Żaneta Łęcka-Ćwik" in text_part(message)
    assert "Żaneta Łęcka-Ćwik" in html_part(message)
    assert message.as_bytes().isascii()  # quoted-printable and encoded words on the wire
