"""Checking a chain's invoice layout (colours, logo, its own HTML template) before it is
published: the template is filled with a sample retail invoice in the renderer's sandbox
(`invoice_pdf`, the code pdf-renderer draws with), then built into a PDF.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError

from einvoice import events
from einvoice.emailtemplates import short_reason, template_line
from invoice_pdf.render import render_invoice_html, render_invoice_pdf

LOGO_MAX_BYTES = 256 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEMPLATE_MAX_CHARS = 200_000


@dataclass(frozen=True)
class TemplateProblem:
    """Why a layout was refused: `kind` is syntax, sandbox, render or pdf."""

    kind: str
    line: int | None
    message: str


def check_layout(
    invoice: events.InvoiceIssued, branding: events.Branding
) -> tuple[bytes | None, TemplateProblem | None]:
    """Render `invoice` with `branding` exactly as pdf-renderer would: the PDF, or why not.

    CPU-bound (xhtml2pdf): call it in a thread."""
    template = branding.invoice_template
    data = branding.model_dump()
    try:
        render_invoice_html(invoice, template_html=template, branding=data)
    except TemplateSyntaxError as exc:
        return None, TemplateProblem("syntax", exc.lineno, short_reason(exc.message or str(exc)))
    except SecurityError as exc:
        return None, TemplateProblem("sandbox", template_line(exc), short_reason(str(exc)))
    except Exception as exc:  # any failure of a tenant template is a refusal
        reason = f"{type(exc).__name__}: {exc}"
        return None, TemplateProblem("render", template_line(exc), short_reason(reason))
    try:
        pdf = render_invoice_pdf(invoice, template_html=template, branding=data)
    except Exception as exc:  # xhtml2pdf fails in many ways
        return None, TemplateProblem("pdf", None, short_reason(f"{type(exc).__name__}: {exc}"))
    return pdf, None


def read_logo(content: bytes) -> tuple[str | None, str | None]:
    """The logo as base64, or the text key of why it is refused."""
    if len(content) > LOGO_MAX_BYTES:
        return None, "chain_err_logo_size"
    if not content.startswith(PNG_SIGNATURE) or content[12:16] != b"IHDR":
        return None, "chain_err_logo_png"
    return base64.b64encode(content).decode("ascii"), None


def normalise_template(text: str) -> str | None:
    """Browsers send textarea lines with CRLF; an empty template means the default one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.strip() else None
