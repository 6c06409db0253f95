"""Tenants' invoice e-mails: the sandbox their templates render in, the variables a template
may use, the Polish default, and the check an editor runs before a template is saved.

The mailer composes every e-mail with `compose`; the gateway's editor previews and checks a
template with the same code against `sample_pdf`, so what passes the check renders the same
way when real invoices are mailed.
"""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import ValidationError

from einvoice import events

Field = Literal["subject", "html", "text"]
FIELDS: tuple[Field, ...] = ("subject", "html", "text")
NBSP = "\u00a0"
# Repetition (`'x' * n`) and powers are the sandbox's cheap ways to exhaust memory or CPU.
MAX_REPEAT = 100_000
MAX_EXPONENT = 100


@dataclass(frozen=True)
class Composed:
    subject: str
    html: str
    text: str
    template_version: int


@dataclass(frozen=True)
class Variable:
    name: str
    pl: str
    en: str
    sample: str


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "buyer_name", "Nazwa nabywcy (klienta)", "The buyer's (customer's) name", "Jan Kowalski"
    ),
    Variable("seller_name", "Nazwa wystawcy faktury", "The issuer's name", "Wodociągi Sp. z o.o."),
    Variable("number", "Numer faktury", "The invoice number", "FV/2025/01/0001"),
    Variable("total", "Kwota brutto do zapłaty", "The gross amount due", f"1{NBSP}234,56"),
    Variable("currency", "Waluta", "The currency", "PLN"),
    Variable(
        "due_date",
        "Termin płatności (bywa pusty: użyj {% if due_date %})",
        "The due date (may be empty: use {% if due_date %})",
        "14.02.2025",
    ),
    Variable("issue_date", "Data wystawienia", "The issue date", "31.01.2025"),
    Variable(
        "link",
        "Link do faktury (otwarcie potwierdza odbiór)",
        "The invoice's link (opening it confirms receipt)",
        "https://faktury.example.pl/i/przyklad",
    ),
    Variable("link_expires", "Data ważności linku", "The link's expiry date", "01.05.2025"),
    Variable(
        "ksef_number",
        "Numer KSeF faktury (pusty poza KSeF: użyj {% if ksef_number %})",
        "The invoice's KSeF number (empty outside KSeF: use {% if ksef_number %})",
        "5265877635-20250131-0A1B2C3D4E5F-63",
    ),
)
_SAMPLES = {v.name: v.sample for v in VARIABLES}


@dataclass(frozen=True)
class Problem:
    """Why a template is refused. `kind`: syntax, sandbox, undefined, render, invalid."""

    field: Field
    line: int | None
    reason: str
    kind: str = "render"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int):
                    if len(seq) * n > MAX_REPEAT:
                        raise SecurityError(f"repetition longer than {MAX_REPEAT} is not allowed")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponents above {MAX_EXPONENT} are not allowed")
        return super().call_binop(context, operator, left, right)


_HTML = _Sandbox(autoescape=True, undefined=StrictUndefined)
_TEXT = _Sandbox(autoescape=False, undefined=StrictUndefined)


@cache
def default_template() -> events.EmailTemplate:
    folder = resources.files("einvoice") / "templates" / "email"
    return events.EmailTemplate(
        version=0,
        subject=(folder / "default_subject.txt").read_text("utf-8").strip(),
        html=(folder / "default.html").read_text("utf-8"),
        text=(folder / "default.txt").read_text("utf-8"),
    )


def format_pln(amount: Decimal) -> str:
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return whole.replace(",", NBSP) + "," + cents


def _variables(pdf: events.PdfRendered, link: str, link_expires: str) -> dict[str, Any]:
    return {
        "buyer_name": pdf.buyer_name,
        "seller_name": pdf.seller_name,
        "number": pdf.number,
        "total": format_pln(pdf.total_gross),
        "currency": pdf.currency,
        "due_date": pdf.due_date.strftime("%d.%m.%Y") if pdf.due_date else None,
        "issue_date": pdf.issue_date.strftime("%d.%m.%Y"),
        "link": link,
        "link_expires": link_expires,
        "ksef_number": pdf.ksef_number,
    }


def compose(
    template: events.EmailTemplate, pdf: events.PdfRendered, link: str, link_expires: str
) -> Composed:
    variables = _variables(pdf, link, link_expires)
    subject = _compiled(False, template.subject).render(variables)
    return Composed(
        subject=" ".join(subject.split()),  # no header injection through line breaks
        html=_compiled(True, template.html).render(variables),
        text=_compiled(False, template.text).render(variables),
        template_version=template.version,
    )


@lru_cache(maxsize=512)
def _compiled(html: bool, source: str) -> Template:
    """Compiling costs ten times what rendering does; a batch uses one template for all."""
    return (_HTML if html else _TEXT).from_string(source)


# Bodies in quoted-printable UTF-8: Polish text stays readable in the raw message.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def build_message(
    composed: Composed, *, sender: str, recipient: str, message_id: str, reply_to: str | None
) -> Message:
    """The e-mail as it goes on the wire: multipart/alternative, text and HTML.

    Built with the `email` package's compat32 classes (MIMEMultipart, MIMEText, Header):
    EmailMessage's header parsing and refolding was most of the mailer's CPU under a batch
    (ADR 0007). What EmailMessage also did, refusing a
    line break in a header, is checked here: no header can smuggle in another (Bcc:)."""
    headers = {"From": sender, "To": recipient, "Message-ID": message_id}
    if reply_to:
        headers["Reply-To"] = reply_to
    for name, value in {**headers, "Subject": composed.subject}.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"the {name} header contains a line break: {value!r}")
    message = MIMEMultipart("alternative")
    message["From"] = _address(sender)
    message["To"] = _address(recipient)
    # A Header keeps the subject's encoding (typeshed types MIMEMultipart's values as str).
    message["Subject"] = Header(composed.subject, "utf-8")  # type: ignore[assignment]
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = _address(reply_to)
    # MIMEText hands the charset to set_payload, which takes a Charset (typeshed: str only).
    message.attach(MIMEText(composed.text, "plain", _UTF8_QP))  # type: ignore[arg-type]
    message.attach(MIMEText(composed.html, "html", _UTF8_QP))  # type: ignore[arg-type]
    return message


def _address(value: str) -> str:
    """`Name <addr>` with the name encoded (RFC 2047) if it is not ASCII."""
    name, address = parseaddr(value)
    return formataddr((name, address), "utf-8") if address else value


# --- previews and checks --------------------------------------------------------------------


def sample_pdf(tenant: events.TenantConfig | None = None) -> events.PdfRendered:
    """A utility invoice of `tenant` (as `VARIABLES` shows it) to preview a template on; with
    a KSeF number unless the tenant is known not to send invoices to KSeF."""
    return events.PdfRendered(
        invoice_id="sample",
        batch_id="sample",
        number=_SAMPLES["number"],
        issue_date=date(2025, 1, 31),
        s3_bucket="sample",
        s3_key="sample/sample.pdf",
        sha256="0" * 64,
        size_bytes=1,
        seller_name=tenant.name if tenant else _SAMPLES["seller_name"],
        buyer_name=_SAMPLES["buyer_name"],
        buyer_email="jan.kowalski@example.pl",
        total_gross=Decimal("1234.56"),
        currency=_SAMPLES["currency"],
        due_date=date(2025, 2, 14),
        ksef_number=_SAMPLES["ksef_number"] if tenant is None or tenant.ksef else None,
    )


def preview(template: events.EmailTemplate, tenant: events.TenantConfig | None = None) -> Composed:
    """The e-mail `template` makes of the sample invoice (raises what `compose` raises)."""
    return compose(template, sample_pdf(tenant), _SAMPLES["link"], _SAMPLES["link_expires"])


def template_line(exc: BaseException) -> int | None:
    """The template line a render error happened on (jinja rewrites the traceback so that
    the template's own frames carry its line numbers)."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def short_reason(message: str) -> str:
    message = " ".join(str(message).split())
    return message[:300] + ("…" if len(message) > 300 else "")


def _refusal(field: Field, exc: Exception) -> Problem:
    if isinstance(exc, TemplateSyntaxError):
        return Problem(field, exc.lineno, short_reason(exc.message or str(exc)), "syntax")
    if isinstance(exc, SecurityError):
        return Problem(field, template_line(exc), short_reason(str(exc)), "sandbox")
    if isinstance(exc, UndefinedError):
        return Problem(field, template_line(exc), short_reason(str(exc)), "undefined")
    reason = short_reason(f"{type(exc).__name__}: {exc}")
    return Problem(field, template_line(exc), reason, "render")


def check(
    template: events.EmailTemplate, tenant: events.TenantConfig | None = None
) -> list[Problem]:
    """Every field's first problem: syntax, sandbox refusals, unknown variables, and any
    failure to render the sample invoice, with and without a due date, in KSeF and not."""
    full = _variables(sample_pdf(tenant), _SAMPLES["link"], _SAMPLES["link_expires"])
    full["ksef_number"] = _SAMPLES["ksef_number"]
    samples = (full, full | {"due_date": None}, full | {"ksef_number": None})
    problems = []
    for field in FIELDS:
        env = _HTML if field == "html" else _TEXT
        try:
            compiled = env.from_string(getattr(template, field))
            for variables in samples:
                compiled.render(variables)
        except Exception as exc:  # any failure of a tenant's template is a refusal
            problems.append(_refusal(field, exc))
    return problems


def checked(
    subject: str,
    html: str,
    text: str,
    version: int = 1,
    tenant: events.TenantConfig | None = None,
) -> tuple[events.EmailTemplate | None, list[Problem]]:
    """The template the three texts make (line breaks normalised), or why it is refused."""
    values = {
        name: value.replace("\r\n", "\n").replace("\r", "\n")
        for name, value in zip(FIELDS, (subject, html, text), strict=True)
    }
    try:
        template = events.EmailTemplate(version=version, **values)
    except ValidationError as exc:
        return None, [
            # The template's other field, `version`, comes from the code: every error the
            # texts cause is about one of FIELDS.
            Problem(str(error["loc"][0]), None, short_reason(error["msg"]), "invalid")  # type: ignore[arg-type]
            for error in exc.errors()
        ]
    problems = check(template, tenant)
    return (None, problems) if problems else (template, [])
