"""Validating a chain's invoice layout before it is published: the template is compiled and
filled in pdf-renderer's sandbox with a sample retail invoice, then built into a PDF;
refusals name the line and the reason. Logos must be PNGs of at most 256 kB."""

from __future__ import annotations

import base64
import io
import struct
import zlib

from pypdf import PdfReader

from einvoice import events
from einvoice_tools import demo
from gateway.chain.layout import (
    LOGO_MAX_BYTES,
    check_layout,
    normalise_template,
    read_logo,
)
from invoice_pdf.samples import sample_invoice

CHAIN = events.TenantConfig(
    tenant_id="chain-unit",
    name="Sklepy Testowe Sp. z o.o.",
    kind="retail",
    seller=events.Party.model_validate(demo.DEMO_CHAIN_SELLER),
)
INVOICE = sample_invoice(CHAIN)


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x1f\x3a\x5f" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def layout(template: str | None, **kwargs) -> events.Branding:
    return events.Branding(invoice_template=template, **kwargs)


def test_the_sample_is_a_consistent_retail_invoice_of_the_chain() -> None:
    assert INVOICE.receipt is not None and INVOICE.seller == CHAIN.seller
    assert sum(line.gross for line in INVOICE.lines) == INVOICE.totals.gross
    assert sum(row.net for row in INVOICE.vat_summary) == INVOICE.totals.net
    assert sum(row.vat for row in INVOICE.vat_summary) == INVOICE.totals.vat
    assert INVOICE.totals.net + INVOICE.totals.vat == INVOICE.totals.gross


def test_the_default_layout_renders_with_new_colours_and_a_logo() -> None:
    branding = layout(
        None,
        primary_color="#aa0000",
        accent_color="#ffeeee",
        logo_png_base64=base64.b64encode(png()).decode(),
    )
    pdf, problem = check_layout(INVOICE, branding)
    assert problem is None and pdf is not None
    text = text_of(pdf)
    assert INVOICE.number in text and "FP: faktura do paragonu nr 000123" in text
    assert "Do zapłaty: 141,33 PLN" in text


def test_a_good_template_renders_its_marker() -> None:
    template = (
        "<html><head><style>{{ font_css }} body { font-family: DejaVuSans; "
        "color: {{ brand.primary }}; }</style></head><body>\n"
        "<h1>Znacznik sieci ŻÓŁW-42</h1>\n"
        "<p>{{ title }} · {{ invoice.buyer.name }} · {{ invoice.totals.gross|money }}</p>\n"
        "</body></html>"
    )
    pdf, problem = check_layout(INVOICE, layout(template, primary_color="#123456"))
    assert problem is None
    text = text_of(pdf)
    assert "Znacznik sieci ŻÓŁW-42" in text and "141,33" in text


def test_a_syntax_error_is_refused_with_its_line() -> None:
    pdf, problem = check_layout(INVOICE, layout("<p>a</p>\n<p>{{ invoice.number </p>\n<p>b</p>"))
    assert pdf is None
    assert (problem.kind, problem.line) == ("syntax", 2)
    assert problem.message


def test_an_unclosed_expression_at_the_end() -> None:
    _, problem = check_layout(INVOICE, layout("<p>a</p>\n{{ invoice.number"))
    assert (problem.kind, problem.line) == ("syntax", 2)
    assert "end of print statement" in problem.message


def test_what_the_sandbox_forbids_is_refused() -> None:
    for template in ("{{ ''.__class__ }}", "<p>\n{{ invoice.__class__.__mro__ }}</p>"):
        _, problem = check_layout(INVOICE, layout(template))
        assert problem is not None and problem.kind in {"sandbox", "render"}, template
    _, problem = check_layout(INVOICE, layout("x\ny\n{{ ''.__class__ }}"))
    assert (problem.kind, problem.line) == ("sandbox", 3)
    assert "__class__" in problem.message and "unsafe" in problem.message


def test_a_template_failing_on_the_sample_data_is_refused_with_its_line() -> None:
    _, problem = check_layout(INVOICE, layout("<p>ok</p>\n<p>{{ invoice.no_such_field }}</p>"))
    assert (problem.kind, problem.line) == ("render", 2)
    assert "no_such_field" in problem.message
    _, problem = check_layout(INVOICE, layout("<p>{{ 1 / 0 }}</p>"))
    assert problem.kind == "render" and "ZeroDivisionError" in problem.message


def test_the_packaged_template_cannot_be_escaped_through_the_loader() -> None:
    _, problem = check_layout(INVOICE, layout("{% include '../../../../etc/passwd' %}"))
    assert problem is not None and problem.kind == "render"


def test_logos() -> None:
    encoded, error = read_logo(png())
    assert error is None and base64.b64decode(encoded) == png()
    assert read_logo(b"GIF89a" + b"\x00" * 50) == (None, "chain_err_logo_png")
    assert read_logo(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40) == (None, "chain_err_logo_png")
    too_big = png() + b"\x00" * LOGO_MAX_BYTES
    assert read_logo(too_big) == (None, "chain_err_logo_size")
    assert read_logo(png() + b"\x00" * (LOGO_MAX_BYTES - len(png())))[1] is None


def test_templates_from_a_textarea() -> None:
    assert normalise_template("a\r\nb\rc") == "a\nb\nc"
    assert normalise_template("  \r\n ") is None
    assert normalise_template("") is None
