"""The KSeF mark on an invoice's PDF (`invoice_pdf.ksef`): the QR code of KOD I with the
KSeF number under it, on the first page, in the drawn layout, the packaged HTML template and
a chain's own template. Each PDF is rasterized (pdfium) and its code decoded (zxing-cpp):
the code must read back as the exact link, at print and at screen resolution."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from datetime import date
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
import zxingcpp

from einvoice import events
from invoice_pdf.drawn import render_for, render_invoice_pdf_drawn
from invoice_pdf.ksef import QR_SIZE_MM, KsefMark, qr_modules, qr_png_data_uri
from invoice_pdf.render import render_invoice_html, render_invoice_pdf
from invoice_pdf.samples import sample_invoice, sample_ksef_mark
from invoice_pdf.view import invoice_view
from tests.support.builders import issued_invoice

URL = (
    "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
)
MARK = KsefMark(number="5265877635-20250729-01004014E040-00", url=URL)
MM = 72 / 25.4
RETAIL = sample_invoice(today=date(2026, 12, 7))
UTILITY = issued_invoice()

CHAIN_TEMPLATE = """<html>
<head><meta charset="utf-8"/>
<style>
{{ font_css }}
body { font-family: {{ font_family }}; font-size: 10pt; }
h1 { color: {{ brand.primary }}; background-color: {{ brand.accent }}; }
</style></head>
<body>
<h1>UKŁAD SIECI</h1>
<p>Faktura VAT nr {{ invoice.number }}</p>
<p>Nabywca: {{ invoice.buyer.name }}</p>
<p>Do zapłaty: {{ invoice.totals.gross|money }} {{ invoice.currency }}</p>
</body>
</html>
"""


def chain(template: str = CHAIN_TEMPLATE) -> events.Branding:
    return events.Branding(
        primary_color="#b00b1e", accent_color="#fff1e0", invoice_template=template
    )


def codes(pdf: bytes, page: int = 0, dpi: int = 150) -> list[zxingcpp.Barcode]:
    """The QR codes zxing-cpp reads on one page rendered at `dpi`."""
    document = pdfium.PdfDocument(pdf)
    image = document[page].render(scale=dpi / 72, grayscale=True).to_pil()
    return [c for c in zxingcpp.read_barcodes(image) if c.format == zxingcpp.BarcodeFormat.QRCode]


def page_count(pdf: bytes) -> int:
    return len(pdfium.PdfDocument(pdf))


def text(pdf: bytes, page: int = 0) -> str:
    return pdfium.PdfDocument(pdf)[page].get_textpage().get_text_range()


def char_boxes(pdf: bytes, page: int = 0) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every drawn character with its box (left, bottom, right, top) in points."""
    textpage = pdfium.PdfDocument(pdf)[page].get_textpage()
    out = []
    for i in range(textpage.count_chars()):
        char = textpage.get_text_range(i, 1)
        if char.strip():
            out.append((char, textpage.get_charbox(i)))
    return out


def code_box(code: zxingcpp.Barcode, dpi: int) -> tuple[float, float, float, float]:
    """The decoded symbol's outer corners as a box in PDF points (left, bottom, right, top)."""
    p = code.position
    corners = (p.top_left, p.top_right, p.bottom_left, p.bottom_right)
    xs, ys = [c.x * 72 / dpi for c in corners], [c.y * 72 / dpi for c in corners]
    page_h = 841.89
    return min(xs), page_h - max(ys), max(xs), page_h - min(ys)


def _png() -> bytes:
    """A 60 x 20 logo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 60, 20, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x1f\x3a\x5f" * 60 for _ in range(20))
    idat = chunk(b"IDAT", zlib.compress(raw))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


# --- the drawn layout ------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [72, 150, 300])
def test_the_drawn_code_reads_back_as_kod_i_at_every_resolution(dpi: int) -> None:
    pdf = render_for(UTILITY, None, MARK)
    found = codes(pdf, dpi=dpi)
    assert [c.text for c in found] == [URL]
    assert found[0].ec_level == "M"


def test_the_drawn_mark_prints_the_ksef_number_under_the_code_top_right() -> None:
    dpi = 300
    pdf = render_for(UTILITY, None, MARK)
    assert MARK.number in text(pdf)
    [code] = codes(pdf, dpi=dpi)
    left, bottom, right, top = code_box(code, dpi)
    # 25 mm wide: ~0.6 mm a module
    assert right - left == pytest.approx(QR_SIZE_MM * MM, abs=1)
    assert right > 595.28 / 2 and top > 841.89 - 20 * MM, "the top right of the first page"
    number = [box for char, box in char_boxes(pdf) if box[3] < bottom and box[1] > bottom - 30]
    assert number, "the number is right under the code"
    centre = (min(b[0] for b in number) + max(b[2] for b in number)) / 2
    assert centre == pytest.approx((left + right) / 2, abs=2)


@pytest.mark.parametrize(
    "invoice",
    [
        UTILITY,
        RETAIL,
        issued_invoice(number="FV/2025/01/" + "0123456789" * 6),  # a number that wraps
    ],
    ids=["utility", "retail", "long-number"],
)
def test_nothing_is_drawn_in_the_codes_quiet_zone(invoice: events.InvoiceIssued) -> None:
    dpi = 300
    logo = base64.b64encode(_png()).decode()
    branding = events.Branding(primary_color="#0b6b3a", logo_png_base64=logo)
    pdf = render_invoice_pdf_drawn(invoice, branding, MARK)
    [code] = codes(pdf, dpi=dpi)
    left, bottom, right, top = code_box(code, dpi)
    quiet = 4 * (right - left) / qr_modules(URL)[0]  # 4 modules
    zone = (left - quiet, bottom - quiet, right + quiet, top + quiet)
    inside = [
        char
        for char, (x0, y0, x1, y1) in char_boxes(pdf)
        if x0 < zone[2] and x1 > zone[0] and y0 < zone[3] and y1 > zone[1]
    ]
    assert inside == []


def test_the_mark_is_only_on_the_first_page_of_a_long_invoice() -> None:
    line = UTILITY.lines[0]
    lines = [line.model_copy(update={"position": i + 1}) for i in range(60)]
    gross = line.gross * 60
    long = UTILITY.model_copy(
        update={
            "lines": lines,
            "vat_summary": [
                events.VatSummaryRow(
                    vat_rate=line.vat_rate, net=line.net * 60, vat=line.vat * 60, gross=gross
                )
            ],
            "totals": events.Totals(net=line.net * 60, vat=line.vat * 60, gross=gross),
        }
    )
    pdf = render_for(long, None, MARK)
    assert page_count(pdf) >= 2
    assert [c.text for c in codes(pdf, 0)] == [URL]
    assert codes(pdf, 1) == [] and MARK.number not in text(pdf, 1)


def test_a_production_link_and_a_longer_one_read_back() -> None:
    for url in (
        "https://qr.ksef.mf.gov.pl/invoice/5265877635/29-07-2025/" + "A" * 43,
        "https://qr-demo.ksef.mf.gov.pl/invoice/5265877635/29-07-2025/" + "b-_9" * 11,
    ):
        pdf = render_for(RETAIL, None, KsefMark("5265877635-20250729-01004014E040-00", url))
        assert [c.text for c in codes(pdf)] == [url]


def test_without_a_mark_the_invoice_is_as_before() -> None:
    assert render_for(UTILITY) == render_for(UTILITY, None, None)
    assert invoice_view(UTILITY)["ksef"] is None
    pdf = render_for(UTILITY)
    assert codes(pdf) == [] and "KSeF" not in text(pdf)
    marked = render_for(UTILITY, None, MARK)
    assert marked != pdf
    # the mark adds its number and nothing else to the text layer
    plain_words = text(pdf).split()
    marked_words = text(marked).split()
    marked_words.remove(MARK.number)
    assert sorted(marked_words) == sorted(plain_words)


def test_the_same_invoice_and_mark_give_the_same_bytes() -> None:
    assert render_for(RETAIL, None, MARK) == render_for(RETAIL, None, MARK)


# --- HTML templates --------------------------------------------------------------------------


def test_the_packaged_html_template_shows_the_mark() -> None:
    pdf = render_invoice_pdf(RETAIL, ksef=MARK)
    assert [c.text for c in codes(pdf)] == [URL]
    assert MARK.number in text(pdf)
    html = render_invoice_html(RETAIL, ksef=MARK)
    assert html.count(qr_png_data_uri(URL)) == 1
    assert render_invoice_html(RETAIL).count("data:image/png") == 0


def test_a_chain_template_without_the_variables_gets_the_mark_at_the_top() -> None:
    pdf = render_for(RETAIL, chain(), MARK)
    assert page_count(pdf) == 1
    [code] = codes(pdf, dpi=300)
    page = text(pdf)
    assert MARK.number in page and "UKŁAD SIECI" in page
    assert page.index(MARK.number) < page.index("UKŁAD SIECI"), "above the chain's content"
    left, bottom, right, top = code_box(code, 300)
    heading = [box for char, box in char_boxes(pdf) if char == "U"][0]
    assert heading[3] < bottom, "the code does not overlap the chain's heading"


def test_a_chain_template_places_the_mark_itself() -> None:
    placed = CHAIN_TEMPLATE.replace(
        "<p>Nabywca:", "{% if ksef_mark %}{{ ksef_mark }}{% endif %}<p>Nabywca:"
    )
    html = render_invoice_html(RETAIL, template_html=placed, ksef=MARK)
    assert html.count("ksef-mark") == 1, "not added a second time"
    assert html.index("Faktura VAT nr") < html.index("ksef-mark") < html.index("Nabywca")
    pdf = render_for(RETAIL, chain(placed), MARK)
    assert [c.text for c in codes(pdf)] == [URL] and MARK.number in text(pdf)


def test_a_chain_template_with_its_own_img_and_number() -> None:
    own = CHAIN_TEMPLATE.replace(
        "</body>",
        '{% if ksef_number %}<p><img src="{{ ksef_qr }}" style="width: 35mm; height: 35mm;"/>'
        "</p><p>KSeF: {{ ksef_number }} {{ ksef_url }}</p>{% endif %}</body>",
    )
    pdf = render_for(RETAIL, chain(own), MARK)
    assert [c.text for c in codes(pdf)] == [URL]
    assert f"KSeF: {MARK.number}" in text(pdf)
    # without a mark the same template renders, and shows none of it
    plain = render_for(RETAIL, chain(own))
    assert codes(plain) == [] and "KSeF" not in text(plain)


def test_every_template_sees_the_variables_none_without_a_mark() -> None:
    probe = "{{ ksef_number }}|{{ ksef_url }}|{{ ksef_qr }}|{{ ksef_mark }}"
    assert render_invoice_html(RETAIL, template_html=probe) == "None|None|None|None"
    marked = render_invoice_html(RETAIL, template_html=probe, ksef=MARK)
    number, url, qr, mark = marked.split("|", 3)
    assert (number, url) == (MARK.number, URL)
    assert qr.startswith("data:image/png;base64,") and "ksef-mark" in mark


def test_a_template_without_a_body_gets_the_mark_first() -> None:
    html = render_invoice_html(RETAIL, template_html="<p>{{ invoice.number }}</p>", ksef=MARK)
    assert html.startswith('<table class="ksef-mark"') and html.endswith(f"<p>{RETAIL.number}</p>")


def test_the_number_and_link_are_escaped_in_html() -> None:
    odd = KsefMark(number="<b>1</b>", url=URL + '"><script>')
    html = render_invoice_html(RETAIL, template_html="<body></body>", ksef=odd)
    assert "<b>1</b>" not in html and "&lt;b&gt;1&lt;/b&gt;" in html
    assert "<script>" not in html


# --- the code and the sample -----------------------------------------------------------------


def test_the_code_is_level_m_with_a_four_module_quiet_zone_in_the_png() -> None:
    modules, runs = qr_modules(URL)
    assert modules == 41  # version 6: a ~100-character KOD I at level M
    assert all(0 <= row < modules and col + length <= modules for row, col, length in runs)
    png = base64.b64decode(qr_png_data_uri(URL).removeprefix("data:image/png;base64,"))
    width = int.from_bytes(png[16:20], "big")
    assert width == (modules + 8) * 8  # 8 pixels a module, 4 white modules each side


def test_the_sample_mark_is_well_formed() -> None:
    mark = sample_ksef_mark(RETAIL)
    assert re.fullmatch(r"\d{10}-20261207-[0-9A-F]{12}-[0-9A-F]{2}", mark.number)
    assert mark.url.startswith("https://qr-test.ksef.mf.gov.pl/invoice/5265877635/07-12-2026/")
    crc = 0
    for byte in mark.number[:32].encode():
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    assert f"{crc:02X}" == mark.number[33:]
    assert [c.text for c in codes(render_for(RETAIL, None, mark))] == [mark.url]


def test_amounts_are_untouched_by_the_mark() -> None:
    pdf = render_for(UTILITY, None, MARK)
    assert "Do zapłaty: 144,59 PLN" in text(pdf)
    assert UTILITY.totals.gross == Decimal("144.59")


def test_an_overlong_number_is_shrunk_to_fit_beside_the_dates() -> None:
    odd = KsefMark(number="5265877635-20250729-01004014E040-00" * 3, url=URL)
    pdf = render_for(UTILITY, None, odd)
    assert [c.text for c in codes(pdf)] == [URL]
    boxes = [box for char, box in char_boxes(pdf)]
    assert all(0 <= x0 and x1 <= 595.28 for x0, _, x1, _ in boxes), "nothing off the page"
    assert "Data wystawienia" in text(pdf) and odd.number in text(pdf).replace("\r\n", "")
