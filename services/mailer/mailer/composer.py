"""Render a tenant's e-mail (subject, HTML, plain text) in a sandboxed Jinja2 environment."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from functools import cache
from importlib import resources

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from einvoice import events


@dataclass(frozen=True)
class Composed:
    subject: str
    html: str
    text: str
    template_version: int


@cache
def default_template() -> events.EmailTemplate:
    folder = resources.files("mailer") / "templates"
    return events.EmailTemplate(
        version=0,
        subject=(folder / "default_subject.txt").read_text("utf-8").strip(),
        html=(folder / "default.html").read_text("utf-8"),
        text=(folder / "default.txt").read_text("utf-8"),
    )


def _env(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined)


_HTML, _TEXT = _env(True), _env(False)
NBSP = "\u00a0"


def format_pln(amount: Decimal) -> str:
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return whole.replace(",", NBSP) + "," + cents


def compose(
    template: events.EmailTemplate, pdf: events.PdfRendered, link: str, link_expires: str
) -> Composed:
    variables = {
        "buyer_name": pdf.buyer_name,
        "seller_name": pdf.seller_name,
        "number": pdf.number,
        "total": format_pln(pdf.total_gross),
        "currency": pdf.currency,
        "due_date": pdf.due_date.strftime("%d.%m.%Y") if pdf.due_date else None,
        "issue_date": pdf.issue_date.strftime("%d.%m.%Y"),
        "link": link,
        "link_expires": link_expires,
    }
    subject = _TEXT.from_string(template.subject).render(variables)
    return Composed(
        subject=" ".join(subject.split()),  # no header injection through line breaks
        html=_HTML.from_string(template.html).render(variables),
        text=_TEXT.from_string(template.text).render(variables),
        template_version=template.version,
    )


def build_message(
    composed: Composed, *, sender: str, recipient: str, message_id: str, reply_to: str | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = composed.subject
    message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(composed.text)
    message.add_alternative(composed.html, subtype="html")
    return message
