"""Render an issued invoice to a PDF: jinja2 (sandboxed, autoescaped) + xhtml2pdf.

`render_invoice_pdf` is pure and synchronous: it reads nothing but the packaged template
and fonts, writes nothing, and touches no network, so it can run in a ProcessPoolExecutor.
The jinja Environment is built once per process, on first use.

Formats in the output (and so in the PDF's text layer):

* money: ``1 234,56`` - comma decimal, two places, a NO-BREAK SPACE (U+00A0) between
  thousands; xhtml2pdf draws it with the font's space glyph, so pypdf extracts a plain
  ASCII space and the text matches ``"1 234,56"``. Negative: ``-1 234,56``.
* quantities and unit prices: comma decimal, trailing zeros dropped (``1,5``, ``3``);
  unit prices keep at least two places (``12,50``, ``0,1234``).
* VAT rates: ``23%``, ``8%``, ``5%``, ``0%``, ``zw``, ``np``.
* dates: ISO ``2024-01-31``.
* "Słownie:" uses :func:`invoice_pdf.words.amount_in_words`.

An invoice registered in KSeF carries its mark (`invoice_pdf.ksef`): every template gets
``ksef_number``, ``ksef_url``, ``ksef_qr`` and ``ksef_mark`` (all None without a mark; see
`render_invoice_pdf`).
"""

from __future__ import annotations

import functools
import io
import logging
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, Template, meta
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from einvoice.events import InvoiceIssued
from invoice_pdf.ksef import KsefMark, mark_html, qr_png_data_uri
from invoice_pdf.words import amount_in_words

__all__ = [
    "FONTS_DIR",
    "TEMPLATE_NAME",
    "PdfRenderError",
    "format_money",
    "format_quantity",
    "format_unit_price",
    "format_vat_rate",
    "render_invoice_html",
    "render_invoice_pdf",
]

PACKAGE_DIR = Path(__file__).resolve().parent
FONTS_DIR = PACKAGE_DIR / "fonts"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
TEMPLATE_NAME = "invoice.html.j2"
FONT_FAMILY = "DejaVuSans"
FONT_REGULAR = FONTS_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONTS_DIR / "DejaVuSans-Bold.ttf"

NBSP = "\u00a0"
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
log = logging.getLogger(__name__)
_CENT = Decimal("0.01")

PRICE_LABELS = {"net": "netto", "gross": "brutto"}


class PdfRenderError(RuntimeError):
    """xhtml2pdf reported errors while building the document."""


# --- formatting ---------------------------------------------------------------------------


def _group_thousands(digits: str) -> str:
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return NBSP.join(groups)


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return Decimal(value)


def format_money(value: Any) -> str:
    """``Decimal("1234.5")`` -> ``"1 234,50"`` (U+00A0 between thousands)."""
    amount = _as_decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    whole, _, frac = f"{abs(amount):f}".partition(".")
    return f"{sign}{_group_thousands(whole)},{frac}"


def _format_plain(value: Any, min_places: int, max_places: int) -> str:
    number = _as_decimal(value).quantize(Decimal(1).scaleb(-max_places), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _, frac = f"{abs(number):f}".partition(".")
    frac = frac.rstrip("0").ljust(min_places, "0")
    return f"{sign}{_group_thousands(whole)}" + (f",{frac}" if frac else "")


def format_quantity(value: Any) -> str:
    """``Decimal("1.5000")`` -> ``"1,5"``; ``Decimal("3")`` -> ``"3"``."""
    return _format_plain(value, 0, 4)


def format_unit_price(value: Any) -> str:
    """``Decimal("12.5")`` -> ``"12,50"``; ``Decimal("0.1234")`` -> ``"0,1234"``."""
    return _format_plain(value, 2, 4)


def format_vat_rate(rate: str) -> str:
    """``"23"`` -> ``"23%"``; ``"zw"`` and ``"np"`` stay as they are."""
    return f"{rate}%" if rate.isdigit() else rate


def format_date(value: date | datetime | None) -> str:
    """ISO dates; a moment (a receipt's time) as its date in Poland."""
    if isinstance(value, datetime):
        value = value.astimezone(WARSAW).date()
    return value.isoformat() if value else ""


WARSAW = ZoneInfo("Europe/Warsaw")
_NRB = re.compile(r"^(PL)?(\d{26})$")


def format_bank_account(value: str | None) -> str:
    """A Polish NRB/IBAN in the usual groups (``PL61 1090 1014 ...``); anything else as is."""
    if not value:
        return ""
    match = _NRB.match(value.replace(" ", "").upper())
    if not match:
        return value
    prefix, digits = match.group(1) or "", match.group(2)
    return f"{prefix}{digits[:2]} " + " ".join(digits[i : i + 4] for i in range(2, 26, 4))


# --- jinja --------------------------------------------------------------------------------


@functools.cache
def _environment() -> SandboxedEnvironment:
    """The process-wide Environment; built lazily so importing this module stays cheap."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, including tenant strings given to from_string
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        money=format_money,
        qty=format_quantity,
        unit_price=format_unit_price,
        vat_rate=format_vat_rate,
        date=format_date,
        bank_account=format_bank_account,
    )
    return env


@functools.lru_cache(maxsize=64)
def _compiled(template_html: str | None) -> Template:
    env = _environment()
    if template_html is None:
        return env.get_template(TEMPLATE_NAME)
    return env.from_string(template_html)


def _font_css() -> Markup:
    """@font-face rules with absolute paths (xhtml2pdf resolves nothing else reliably)."""
    rules = []
    for path, weight in ((FONT_REGULAR, "normal"), (FONT_BOLD, "bold")):
        posix = path.as_posix()
        if any(c in posix for c in "\"'()\\<>&"):
            raise PdfRenderError(f"font path unusable in CSS: {posix!r}")
        rules.append(
            f'@font-face {{ font-family: {FONT_FAMILY}; src: url("{posix}"); '
            f"font-weight: {weight}; font-style: normal; }}"
        )
    return Markup("\n".join(rules))  # noqa: S704 - built from our own constant paths


DEFAULT_BRAND = {"primary": "#1f3a5f", "accent": "#eef2f7", "logo": None}
_LOGO = re.compile(r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+$")


def _brand(branding: dict[str, Any] | None) -> dict[str, Any]:
    """Colours (already validated as #rrggbb by the event schema) and an inline logo."""
    brand = dict(DEFAULT_BRAND)
    if branding:
        brand["primary"] = branding.get("primary_color") or brand["primary"]
        brand["accent"] = branding.get("accent_color") or brand["accent"]
        if branding.get("logo_png_base64"):
            brand["logo"] = f"data:image/png;base64,{branding['logo_png_base64']}"
    return brand


# What a template must use to show the QR code itself; one that uses neither gets the mark.
MARK_VARIABLES = frozenset({"ksef_qr", "ksef_mark"})
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def _shows_mark(template_html: str | None) -> bool:
    """Whether the template places the KSeF QR code itself (the packaged one does)."""
    if template_html is None:
        return True
    used = meta.find_undeclared_variables(_environment().parse(template_html))
    return bool(used & MARK_VARIABLES)


def _with_mark(html: str, mark: Markup) -> str:
    """The default placement of the mark in a template that leaves it out: first in the
    body, so that it is on the first page, above the template's own content."""
    body = _BODY.search(html)
    at = body.end() if body else 0
    return html[:at] + str(mark) + html[at:]


def _context(
    invoice: InvoiceIssued,
    branding: dict[str, Any] | None = None,
    ksef: KsefMark | None = None,
) -> dict[str, Any]:
    # Plain dicts/Decimals/dates rather than the pydantic model: a tenant template sees
    # data, not objects with methods.
    data = invoice.model_dump(mode="python")
    return {
        "brand": _brand(branding),
        "invoice": data,
        "title": f"Faktura VAT nr {invoice.number}",
        "sale_date": invoice.sale_date or invoice.issue_date,
        "price_label": PRICE_LABELS[invoice.price_basis],
        "amount_in_words": amount_in_words(invoice.totals.gross, invoice.currency),
        "font_css": _font_css(),
        "font_family": FONT_FAMILY,
        "ksef_number": ksef.number if ksef else None,
        "ksef_url": ksef.url if ksef else None,
        "ksef_qr": qr_png_data_uri(ksef.url) if ksef else None,
        "ksef_mark": mark_html(ksef) if ksef else None,
    }


def render_invoice_html(
    invoice: InvoiceIssued,
    *,
    template_html: str | None = None,
    branding: dict[str, Any] | None = None,
    ksef: KsefMark | None = None,
) -> str:
    """The XHTML that `render_invoice_pdf` converts; useful to debug a template."""
    html = _compiled(template_html).render(_context(invoice, branding, ksef))
    if ksef is not None and not _shows_mark(template_html):
        html = _with_mark(html, mark_html(ksef))
    return html


# --- xhtml2pdf ----------------------------------------------------------------------------


# What a refused resource is rewritten to: a path inside FONTS_DIR that does not exist,
# so xhtml2pdf finds nothing there, logs it, and renders without the resource.
_BLOCKED = FONTS_DIR / ".blocked-resource"


def _link_callback(uri: Any, rel: str | None = None) -> str:
    """Resolve a resource the document asks for: only existing files inside FONTS_DIR.

    Everything else - http(s), file:, data:, relative paths, paths outside the folder -
    is rewritten to a path that does not exist, so nothing is fetched and the resource is
    left out. (Returning "" or None would NOT block: xhtml2pdf then fetches the original
    URI. Raising aborts the whole render for a mere ``<link>``.)
    """
    if isinstance(uri, str) and _LOGO.match(uri) and len(uri) < 600_000:
        return uri  # the tenant's own inline logo: decoded in memory, nothing fetched
    if isinstance(uri, str) and not _SCHEME.match(uri):
        candidate = Path(uri)
        if candidate.is_absolute():
            try:
                resolved = candidate.resolve()
            except OSError:
                resolved = None
            if resolved is not None and resolved.is_relative_to(FONTS_DIR) and resolved.is_file():
                return str(resolved)
    log.warning("blocked resource in invoice template: %.120r", uri)
    return str(_BLOCKED)


@functools.cache
def _resource_policy() -> ResourceAccessPolicy:
    # Defence in depth for the fetch paths that bypass link_callback: no network at all,
    # local reads confined to the fonts folder, and every size/time limit on.
    return ResourceAccessPolicy.server(base_dir=FONTS_DIR, allow_remote=False)


def render_invoice_pdf(
    invoice: InvoiceIssued,
    *,
    template_html: str | None = None,
    branding: dict[str, Any] | None = None,
    ksef: KsefMark | None = None,
) -> bytes:
    """Render `invoice` as a PDF (A4) and return its bytes.

    `template_html` replaces the packaged ``templates/invoice.html.j2``; it is compiled in
    the same sandboxed, autoescaping Environment and gets the same context (``invoice`` as
    plain data, ``title``, ``sale_date``, ``price_label``, ``amount_in_words``, ``brand``,
    ``font_css`` to put inside ``<style>``, ``font_family``, and the filters ``money``,
    ``qty``, ``unit_price``, ``vat_rate``, ``date``, ``bank_account``).

    `ksef`: the mark of an invoice registered in KSeF. Every template gets these variables,
    all None for an invoice without a mark (so test them: ``{% if ksef_number %}``):

    * ``ksef_number``: the KSeF number, to print under the QR code (the Ministry's rule);
    * ``ksef_url``: KOD I, the verification link the QR code holds;
    * ``ksef_qr``: the QR code of KOD I as a ``data:image/png;base64,…`` URI for
      ``<img src="{{ ksef_qr }}">``, its white quiet zone (4 modules) included; print it at
      least 30 mm wide (``style="width: 30mm; height: 30mm;"``) so phones read it;
    * ``ksef_mark``: the ready block, the code with the number centred under it, aligned
      right; ``{{ ksef_mark }}`` wherever the template wants it.

    A template that uses neither ``ksef_qr`` nor ``ksef_mark`` gets ``ksef_mark`` at the top
    of its ``<body>`` (so on the first page); an invoice without a mark renders exactly as
    it did before these variables existed.
    """
    html = render_invoice_html(invoice, template_html=template_html, branding=branding, ksef=ksef)
    out = io.BytesIO()
    status = pisa.CreatePDF(
        html,
        dest=out,
        encoding="utf-8",
        link_callback=_link_callback,
        resource_policy=_resource_policy(),
        raise_exception=True,
    )
    if status.err:
        raise PdfRenderError(f"xhtml2pdf reported {status.err} error(s) rendering {invoice.number}")
    return out.getvalue()
