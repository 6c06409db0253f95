"""The invoice PDF: what a reader (and pypdf) finds in it, the embedded font, escaping, no network.

Amounts are printed as "1 361,72": xhtml2pdf draws the U+00A0 thousands separator with the
space glyph, and pypdf extracts it as a plain ASCII space.
"""

from __future__ import annotations

import io
import pickle
import socket
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

import pytest
from jinja2.exceptions import SecurityError
from pypdf import PdfReader

from einvoice.events import (
    Address,
    Party,
    Totals,
    VatSummaryRow,
)
from invoice_pdf import render
from invoice_pdf.render import (
    FONTS_DIR,
    format_bank_account,
    format_money,
    format_quantity,
    format_unit_price,
    format_vat_rate,
    render_invoice_html,
    render_invoice_pdf,
)
from tests.support.pdf import (
    BUYER,
    BUYER_NIP,
    NUMBER,
    SELLER,
    fonts_drawing_text,
    invoice_line,
    make_invoice,
    text_of,
)

D = Decimal

HOSTILE = '<script>alert("x")</script> {{7*7}} {% if 1 %}<b>bold?</b>{% endif %} &amp;'


def flat(text: str) -> str:
    """Line breaks and runs of spaces collapsed to one space (table cells wrap)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_invoice_pdf(make_invoice())


@pytest.fixture(scope="module")
def text(pdf: bytes) -> str:
    return text_of(pdf)


# --- content ----------------------------------------------------------------------------


def test_is_a_pdf_of_exactly_one_a4_page(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_parties_number_and_dates(text: str) -> None:
    assert BUYER in text
    assert f"NIP: {BUYER_NIP}" in text
    assert SELLER in flat(text)
    assert "NIP: 7251234567" in text
    assert "ul. Źródlana 5" in text
    assert "80-001 Gdańsk" in text
    assert f"Faktura VAT nr {NUMBER}" in text
    assert "Data wystawienia: 2024-01-31" in flat(text)
    assert "Data sprzedaży: 2024-01-30" in flat(text)
    assert "Sprzedawca".upper() in text and "Nabywca".upper() in text


def test_total_and_words(text: str) -> None:
    assert "Do zapłaty: 1 361,72 PLN" in text  # ASCII space in the extracted text
    assert "1361,72" not in text
    assert "Słownie: jeden tysiąc trzysta sześćdziesiąt jeden złotych 72/100" in flat(text)


def test_lines_table_and_vat_summary(text: str) -> None:
    t = flat(text)
    for header in (
        "Lp.",
        "Nazwa",
        "Ilość",
        "J.m.",
        "Cena jedn. netto",
        "Wartość netto",
        "Stawka VAT",
        "Kwota VAT",
        "Wartość brutto",
        "Zestawienie VAT",
    ):
        assert header in t, header
    # position, name, quantity, unit, unit price, net, rate, vat, gross - in reading order
    assert "1 Dostawa wody 12,5 m³ 8,42 105,25 8% 8,42 113,67" in t
    assert "3 Opłata abonamentowa 1 szt. 850,00 850,00 23% 195,50 1 045,50" in t
    assert "4 Wywóz nieczystości 1 usł. 50,00 50,00 zw 0,00 50,00" in t
    assert "23% 850,00 195,50 1 045,50" in t
    assert "8% 246,50 19,72 266,22" in t
    assert "zw 50,00 0,00 50,00" in t
    assert "Razem 1 146,50 215,22 1 361,72" in t


def test_payment_and_notes(text: str) -> None:
    t = flat(text)
    assert "Forma płatności: przelew" in t
    assert "Termin płatności: 2024-02-14" in t
    assert "Numer rachunku: 61 1090 1014 0000 0712 1981 2874" in t
    assert "Uwagi: Zażółć gęślą jaźń." in t
    assert "Podstawa zwolnienia z VAT: art. 43 ust. 1 pkt 22 ustawy o VAT" in t


@pytest.mark.parametrize("letter", list("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"))
def test_polish_letters_survive_in_the_text_layer(text: str, letter: str) -> None:
    assert letter in text


def test_the_assertions_can_fail(text: str) -> None:
    assert "Janina Kowalska" not in text
    assert "5260250995" not in text
    assert "9 999,99" not in text
    other = text_of(
        render_invoice_pdf(
            make_invoice(
                buyer=Party(
                    name="Janina Kowalska",
                    nip="5260250995",
                    address=Address(street="ul. Polna 1", postal_code="00-001", city="Warszawa"),
                ),
            )
        )
    )
    assert "Janina Kowalska" in other
    assert BUYER not in other


def test_gross_price_basis_and_missing_sale_date() -> None:
    text = flat(text_of(render_invoice_pdf(make_invoice(price_basis="gross", sale_date=None))))
    assert "Cena jedn. brutto" in text
    assert "Cena jedn. netto" not in text
    assert "Data sprzedaży: 2024-01-31" in text  # absent = same as the issue date


def test_np_rate_and_foreign_buyer() -> None:
    invoice = make_invoice(
        buyer=Party(
            name="Müller GmbH",
            nip="DE123456789",
            address=Address(
                street="Hauptstraße 1", postal_code="10115", city="Berlin", country="DE"
            ),
        ),
        lines=[
            invoice_line(
                1, "Usługa doradcza", "1", "godz.", "100", "np", "100.00", "0.00", "100.00"
            )
        ],
        vat_summary=[VatSummaryRow(vat_rate="np", net=D("100"), vat=D("0"), gross=D("100"))],
        totals=Totals(net=D("100"), vat=D("0"), gross=D("100")),
    )
    text = flat(text_of(render_invoice_pdf(invoice)))
    assert "10115 Berlin, DE" in text
    assert "np 100,00 0,00 100,00" in text
    assert "Słownie: sto złotych 00/100" in text


# --- font -------------------------------------------------------------------------------


def test_text_is_drawn_only_in_the_embedded_dejavu_fonts(pdf: bytes) -> None:
    used = fonts_drawing_text(PdfReader(io.BytesIO(pdf)))
    names = {str(font["/BaseFont"]).split("+")[-1] for font in used.values()}
    assert names == {"DejaVuSans", "DejaVuSans-Bold"}
    for font in used.values():
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, font["/BaseFont"]
        assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000


def test_font_files_ship_with_their_license() -> None:
    assert (FONTS_DIR / "DejaVuSans.ttf").is_file()
    assert (FONTS_DIR / "DejaVuSans-Bold.ttf").is_file()
    assert "Bitstream Vera" in (FONTS_DIR / "LICENSE").read_text()


# --- escaping and layout stress ---------------------------------------------------------


def test_hostile_strings_are_shown_literally() -> None:
    invoice = make_invoice(
        buyer=Party(
            name=HOSTILE,
            nip=BUYER_NIP,
            address=Address(
                street="ul. <i>Kursywa</i> 1", postal_code="00-001", city="{{ config }}"
            ),
        ),
        notes="</div></body><p>koniec</p>",
    )
    html = render_invoice_html(invoice)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    text = flat(text_of(render_invoice_pdf(invoice)))
    assert flat(HOSTILE) in text
    assert "ul. <i>Kursywa</i> 1" in text
    assert "{{ config }}" in text
    assert "</div></body><p>koniec</p>" in text
    assert "49" not in text


def test_long_names_wrap_and_keep_the_amounts_readable() -> None:
    long_word = "Nazwa" + "X" * 300
    long_name = ("Przedsiębiorstwo Wodociągów i Kanalizacji " * 12)[:512].strip()
    invoice = make_invoice(
        seller=Party(
            name=long_name,
            nip="7251234567",
            address=Address(street="ul. Piotrkowska 104", postal_code="90-926", city="Łódź"),
        ),
        lines=[
            invoice_line(1, long_word, "1", "szt.", "1045.50", "23", "850.00", "195.50", "1045.50")
        ],
    )
    reader = PdfReader(io.BytesIO(render_invoice_pdf(invoice)))
    text = flat("\n".join(page.extract_text() for page in reader.pages))
    assert "X" * 20 in text
    assert "Do zapłaty: 1 361,72 PLN" in text
    assert "1 045,50" in text
    assert len(reader.pages) <= 2


def test_many_lines_flow_onto_more_pages_with_the_header_repeated() -> None:
    lines = [
        invoice_line(i, f"Pozycja {i}", "1", "szt.", "1", "23", "1.00", "0.23", "1.23")
        for i in range(1, 81)
    ]
    invoice = make_invoice(
        lines=lines,
        vat_summary=[VatSummaryRow(vat_rate="23", net=D("80"), vat=D("18.40"), gross=D("98.40"))],
        totals=Totals(net=D("80"), vat=D("18.40"), gross=D("98.40")),
    )
    reader = PdfReader(io.BytesIO(render_invoice_pdf(invoice)))
    pages = [flat(page.extract_text()) for page in reader.pages]
    assert len(pages) >= 2
    for number, page in enumerate(pages, 1):
        assert f"Strona {number} z {len(pages)}" in page
        if "Pozycja" in page:  # every page holding lines starts with the table header
            assert "Lp. Nazwa Ilość J.m. Cena jedn. netto Wartość netto" in page
    assert sum("Pozycja" in page for page in pages) >= 2
    body = " ".join(pages)
    assert all(f"{i} Pozycja {i} 1 szt." in body for i in range(1, 81))
    # the VAT summary, payment and total are kept together, after the last line
    last = pages[-1]
    assert "Zestawienie VAT" in last and "Razem 80,00 18,40 98,40" in last
    assert "Do zapłaty: 98,40 PLN" in last
    assert body.index("Pozycja 80") < body.index("Zestawienie VAT")


# --- tenant templates, sandbox, no network ----------------------------------------------


def test_tenant_template_is_autoescaped_and_gets_the_filters() -> None:
    template = (
        "<html><head><style>{{ font_css }} body { font-family: {{ font_family }}; }</style>"
        "</head><body><p>{{ title }}</p><p>{{ invoice.buyer.name }}</p>"
        "<p>Razem: {{ invoice.totals.gross|money }} {{ invoice.currency }}</p>"
        "<p>{{ amount_in_words }}</p></body></html>"
    )
    text = flat(
        text_of(
            render_invoice_pdf(
                make_invoice(
                    buyer=Party(
                        name=HOSTILE,
                        address=Address(street="ul. Polna 1", postal_code="00-001", city="Łódź"),
                    )
                ),
                template_html=template,
            )
        )
    )
    assert f"Faktura VAT nr {NUMBER}" in text
    assert flat(HOSTILE) in text
    assert "Razem: 1 361,72 PLN" in text
    assert "jeden tysiąc trzysta sześćdziesiąt jeden złotych 72/100" in text


def test_tenant_template_runs_in_the_sandbox() -> None:
    with pytest.raises(SecurityError):
        render_invoice_pdf(make_invoice(), template_html="{{ invoice.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        render_invoice_pdf(
            make_invoice(), template_html="{{ ''.__class__.__base__.__subclasses__() }}"
        )


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    attempts: list[tuple] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access in a unit test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_nothing_outside_the_fonts_folder_is_fetched(no_network: list[tuple]) -> None:
    template = """<html><head>
      <link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/"/>
      <style>{{ font_css }}
        body { font-family: {{ font_family }}; background-image: url("/etc/hostname"); }
        @font-face { font-family: Remote; src: url("https://example.com/font.ttf"); }
        @font-face { font-family: Local;
                     src: url("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"); }
      </style></head><body>
      <p>{{ invoice.number }}</p>
      <img src="http://example.com/logo.png"/><img src="file:///etc/passwd"/>
      <img src="/etc/passwd"/><img src="../render.py"/><img src="data:image/png;base64,AAAA"/>
      <p style="font-family: Remote">zdalny</p><p style="font-family: Local">lokalny</p>
    </body></html>"""
    text = text_of(render_invoice_pdf(make_invoice(), template_html=template))
    assert NUMBER in text
    assert "root:" not in text
    assert no_network == []


def test_link_callback_allows_only_files_in_the_fonts_folder() -> None:
    font = str(FONTS_DIR / "DejaVuSans.ttf")
    assert render._link_callback(font, None) == font
    for uri in (
        "http://example.com/x.png",
        "https://example.com/a.css",
        "file://" + font,
        "/etc/passwd",
        str(FONTS_DIR / ".." / "render.py"),
        "DejaVuSans.ttf",
        "data:text/html;base64,AAAA",
        "data:image/svg+xml;base64,AAAA",
        str(FONTS_DIR / "missing.ttf"),
        str(FONTS_DIR),
    ):
        blocked = render._link_callback(uri, None)
        assert blocked != uri
        assert blocked == str(render._BLOCKED)
        assert not render._BLOCKED.exists()


# --- process pool -----------------------------------------------------------------------


def test_renders_in_a_process_pool() -> None:
    invoice = make_invoice()
    pickle.dumps(render_invoice_pdf)
    with ProcessPoolExecutor(max_workers=1) as pool:
        pdf = pool.submit(render_invoice_pdf, invoice).result(timeout=120)
    assert "Do zapłaty: 1 361,72 PLN" in text_of(pdf)


# --- formatting helpers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "0,00"),
        ("0.5", "0,50"),
        ("12.345", "12,35"),
        ("999.99", "999,99"),
        ("1000", "1\u00a0000,00"),
        ("1234.56", "1\u00a0234,56"),
        ("1234567.8", "1\u00a0234\u00a0567,80"),
        ("-1234.5", "-1\u00a0234,50"),
    ],
)
def test_format_money(value: str, expected: str) -> None:
    assert format_money(D(value)) == expected


def test_other_formats() -> None:
    assert format_quantity(D("12.5000")) == "12,5"
    assert format_quantity(D("3")) == "3"
    assert format_quantity(D("0.1250")) == "0,125"
    assert format_quantity(D("1500")) == "1\u00a0500"
    assert format_unit_price(D("8.4200")) == "8,42"
    assert format_unit_price(D("850")) == "850,00"
    assert format_unit_price(D("0.1234")) == "0,1234"
    assert [format_vat_rate(r) for r in ("23", "8", "5", "0", "zw", "np")] == [
        "23%",
        "8%",
        "5%",
        "0%",
        "zw",
        "np",
    ]
    assert format_bank_account("61109010140000071219812874") == "61 1090 1014 0000 0712 1981 2874"
    assert format_bank_account("PL61 1090 1014 0000 0712 1981 2874") == (
        "PL61 1090 1014 0000 0712 1981 2874"
    )
    assert format_bank_account("DE89370400440532013000") == "DE89370400440532013000"
    assert format_bank_account(None) == ""


def test_an_inline_png_or_jpeg_logo_is_the_only_data_uri_allowed() -> None:
    for uri in ("data:image/png;base64,iVBORw0KGgo=", "data:image/jpeg;base64,/9j/4AAQ"):
        assert render._link_callback(uri, None) == uri
    assert render._link_callback("data:image/png;base64,<script>", None) != (
        "data:image/png;base64,<script>"
    )


def test_a_receipts_moment_prints_as_its_date_in_poland() -> None:
    from datetime import UTC, datetime

    assert render.format_date(datetime(2026, 11, 21, 23, 30, tzinfo=UTC)) == "2026-11-22"
    assert render.format_date(datetime(2026, 7, 1, 21, 59, tzinfo=UTC)) == "2026-07-01"
