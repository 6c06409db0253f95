"""The drawn default layout (invoice_pdf.drawn) against today's xhtml2pdf one.

Parity: for the same invoice, every word the xhtml2pdf PDF's text layer shows, and every
number, amount, date, NIP, name, VAT rate row, "Słownie", "Do zapłaty" and FP reference,
is in the drawn PDF too, so the two layouts cannot drift apart in content. Then what only
the drawn one has to get right on its own: pages, wrapping, fonts, branding, determinism.
"""

from __future__ import annotations

import base64
import io
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from einvoice import events
from einvoice.events import InvoiceIssued
from invoice_pdf.drawn import LEFT, PAGE_W, RIGHT, render_invoice_pdf_drawn
from invoice_pdf.render import (
    format_bank_account,
    format_date,
    format_money,
    format_quantity,
    format_unit_price,
    format_vat_rate,
    render_invoice_pdf,
)
from invoice_pdf.words import amount_in_words
from tests.support.builders import issued_invoice
from tests.support.pdf import fonts_drawing_text, make_invoice, text_of

LONG_NAME = (
    "Usługa serwisowa instalacji wodno-kanalizacyjnej budynku wielorodzinnego przy ulicy "
    "Świętokrzyskiej wraz z wymianą zaworów odcinających i próbą szczelności"
)
LONG_BUYER = (
    "Wspólnota Mieszkaniowa Nieruchomości przy ulicy Księcia Józefa Poniatowskiego 128/130 "
    "w Łodzi reprezentowana przez zarządcę"
)


def flat(text: str) -> str:
    """Runs of whitespace (line breaks, NO-BREAK SPACE) collapsed to one space."""
    return " ".join(text.replace("\u00a0", " ").split())


def retail_invoice(**changes: object) -> InvoiceIssued:
    """An FP invoice for a receipt: gross prices, three VAT rates, a company buyer with NIP,
    paid by card at the till."""
    invoice = issued_invoice(
        number="FV/2026/11/000042",
        issue_date="2026-11-20",
        sale_date="2026-11-19",
        price_basis="gross",
        buyer={
            "name": "Pracownia Architektoniczna Żółkiewski i Wspólnicy sp.j.",
            "nip": "5261040828",
            "address": {
                "street": "ul. Świętokrzyska 18/4",
                "postal_code": "00-052",
                "city": "Warszawa",
            },
            "email": "faktury@zolkiewski.example.pl",
        },
        lines=[
            {
                "name": "Chleb żytni razowy 500 g",
                "quantity": "2",
                "unit": "szt.",
                "unit_price": "6.49",
                "vat_rate": "5",
            },
            {
                "name": "Ser żółty Gouda",
                "quantity": "0.535",
                "unit": "kg",
                "unit_price": "34.90",
                "vat_rate": "5",
            },
            {
                "name": "Kanapka z kurczakiem i sałatą",
                "quantity": "2",
                "unit": "szt.",
                "unit_price": "11.99",
                "vat_rate": "8",
            },
            {
                "name": "Kawa ziarnista 1 kg",
                "quantity": "1",
                "unit": "szt.",
                "unit_price": "69.99",
                "vat_rate": "23",
            },
        ],
        payment={"method": "karta"},
    )
    receipt = events.ReceiptRef(
        receipt_id="r-1",
        number="000123",
        store_id="store-1",
        purchased_at=datetime(2026, 11, 19, 23, 42, tzinfo=UTC),  # the 20th in Warsaw
    )
    return invoice.model_copy(update={"receipt": receipt, **changes})


def long_invoice(lines: int = 60) -> InvoiceIssued:
    base = issued_invoice()
    line = base.lines[0]
    return base.model_copy(
        update={
            "lines": [
                line.model_copy(update={"position": i + 1, "name": f"{line.name} {i + 1}"})
                for i in range(lines)
            ]
        }
    )


def wrapped_invoice() -> InvoiceIssued:
    invoice = make_invoice()
    buyer = invoice.buyer.model_copy(update={"name": LONG_BUYER})
    lines = [invoice.lines[0].model_copy(update={"name": LONG_NAME}), *invoice.lines[1:]]
    return invoice.model_copy(update={"buyer": buyer, "lines": lines})


SAMPLES = {
    "utility": make_invoice,
    "builder": issued_invoice,
    "retail": retail_invoice,
    "foreign buyer": lambda: issued_invoice(
        buyer={
            "name": "Müller & Søn GmbH",
            "address": {
                "street": "Hauptstraße 5",
                "postal_code": "10115",
                "city": "Berlin",
                "country": "DE",
            },
        }
    ),
    "wrapped": wrapped_invoice,
    "60 lines": long_invoice,
}


@pytest.fixture(scope="module", params=list(SAMPLES))
def pair(request: pytest.FixtureRequest) -> tuple[InvoiceIssued, str, str]:
    invoice = SAMPLES[request.param]()
    return (
        invoice,
        flat(text_of(render_invoice_pdf(invoice))),
        flat(text_of(render_invoice_pdf_drawn(invoice))),
    )


# --- parity with xhtml2pdf ------------------------------------------------------------------


def facts(invoice: InvoiceIssued) -> list[str]:
    """Every value a reader of the invoice needs, as the layouts print it."""
    sale = invoice.sale_date or invoice.issue_date
    found = [
        "Faktura VAT",
        f"nr {invoice.number}",
        f"Faktura VAT nr {invoice.number}",
        f"Data wystawienia: {invoice.issue_date.isoformat()}",
        f"Data sprzedaży: {sale.isoformat()}",
        "SPRZEDAWCA",
        "NABYWCA",
        f"Cena jedn. {'netto' if invoice.price_basis == 'net' else 'brutto'}",
        f"Forma płatności: {invoice.payment.method}",
        "Zestawienie VAT",
        f"Do zapłaty: {format_money(invoice.totals.gross)} {invoice.currency}",
        f"Słownie: {amount_in_words(invoice.totals.gross, invoice.currency)}",
        f"Razem {format_money(invoice.totals.net)} {format_money(invoice.totals.vat)} "
        f"{format_money(invoice.totals.gross)}",
    ]
    for party in (invoice.seller, invoice.buyer):
        found += [party.name, party.address.street, f"{party.address.postal_code}"]
        found.append(party.address.city)
        if party.nip:
            found.append(f"NIP: {party.nip}")
        if party.email:
            found.append(party.email)
    for line in invoice.lines:
        found.append(
            f"{line.position} {line.name} {format_quantity(line.quantity)} {line.unit} "
            f"{format_unit_price(line.unit_price)} {format_money(line.net)} "
            f"{format_vat_rate(line.vat_rate)} {format_money(line.vat)} {format_money(line.gross)}"
        )
    for row in invoice.vat_summary:
        found.append(
            f"{format_vat_rate(row.vat_rate)} {format_money(row.net)} {format_money(row.vat)} "
            f"{format_money(row.gross)}"
        )
    if invoice.receipt:
        on = format_date(invoice.receipt.purchased_at)
        found.append(f"FP: faktura do paragonu nr {invoice.receipt.number} z dnia {on}")
        found.append(f"Zapłacono: przy zakupie ({on})")
    elif invoice.payment.due_date:
        found.append(f"Termin płatności: {invoice.payment.due_date.isoformat()}")
    if invoice.payment.bank_account:
        found.append(f"Numer rachunku: {format_bank_account(invoice.payment.bank_account)}")
    if invoice.exemption:
        found.append(f"Podstawa zwolnienia z VAT: {invoice.exemption.text}")
    if invoice.notes:
        found.append(f"Uwagi: {invoice.notes}")
    return [flat(f) for f in found]


def test_every_fact_is_in_both_layouts(pair: tuple[InvoiceIssued, str, str]) -> None:
    invoice, xhtml, drawn = pair
    for fact in facts(invoice):
        assert fact in xhtml, f"xhtml2pdf lacks {fact!r}"  # the facts themselves are right
        assert fact in drawn, f"the drawn layout lacks {fact!r}"


def test_every_word_of_the_xhtml2pdf_layout_is_drawn(pair: tuple[InvoiceIssued, str, str]) -> None:
    _, xhtml, drawn = pair
    missing = set(xhtml.split()) - set(drawn.split())
    assert not missing


def test_the_drawn_layout_says_nothing_else(pair: tuple[InvoiceIssued, str, str]) -> None:
    _, xhtml, drawn = pair
    assert set(drawn.split()) == set(xhtml.split())


# --- pages ----------------------------------------------------------------------------------


def pages_of(pdf: bytes) -> list[str]:
    return [flat(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_short_invoice_is_one_a4_page() -> None:
    reader = PdfReader(io.BytesIO(render_invoice_pdf_drawn(make_invoice())))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert "Strona 1 z 1" in flat(reader.pages[0].extract_text())


def test_sixty_lines_continue_on_a_second_page_under_a_repeated_header() -> None:
    invoice = long_invoice(60)
    first, second = pages_of(render_invoice_pdf_drawn(invoice))
    heading = (
        "Lp. Nazwa Ilość J.m. Cena jedn. netto Wartość netto Stawka VAT Kwota VAT Wartość brutto"
    )
    assert heading in first and heading in second
    assert "Strona 1 z 2" in first and "Strona 2 z 2" in second
    assert f"Faktura VAT nr {invoice.number}" in second  # the footer
    # every line once, in order, and the closing block whole on the last page
    positions = [f" {line.position} {line.name} " for line in invoice.lines]
    both = f" {first} {second} "
    assert all(both.count(p) == 1 for p in positions)
    assert [both.index(p) for p in positions] == sorted(both.index(p) for p in positions)
    for text in ("Płatność", "Zestawienie VAT", "Razem", "Do zapłaty:", "Słownie:"):
        assert text not in first and text in second


@pytest.mark.parametrize("lines", [30, 38, 39, 40, 41, 42, 43, 44, 45, 46, 100])
def test_the_closing_block_is_never_split(lines: int) -> None:
    pages = pages_of(render_invoice_pdf_drawn(long_invoice(lines)))
    last = pages[-1]
    assert f"Strona {len(pages)} z {len(pages)}" in last
    for text in ("Płatność", "Zestawienie VAT", "Razem", "Do zapłaty:", "Słownie:"):
        assert sum(text in page for page in pages) == 1, text
        assert text in last, text
    assert f" {lines} " in " ".join(pages)


def test_long_names_wrap_inside_their_columns() -> None:
    pdf = render_invoice_pdf_drawn(wrapped_invoice())
    (text,) = pages_of(pdf)
    assert LONG_NAME in text and LONG_BUYER in text
    # every piece of text starts and ends inside the page's margins
    assert all(LEFT - 0.5 <= x0 and x1 <= PAGE_W - RIGHT + 0.5 for _, x0, x1 in placed(pdf))


def placed(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text, left x, right x) of every piece of text on the first page."""
    reader = PdfReader(io.BytesIO(pdf))
    found: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip() and isinstance(font, dict):
            name = "InvoiceDejaVuSans-Bold" if "Bold" in str(font["/BaseFont"]) else ""
            width = stringWidth(text.strip("\n"), name or "InvoiceDejaVuSans", size * tm[0])
            x = tm[4] * cm[0] + cm[4]
            found.append((text, x, x + width))

    reader.pages[0].extract_text(visitor_text=visit)
    assert found
    return found


def test_an_unbreakable_word_is_cut_to_fit() -> None:
    word = "Ż" * 120
    invoice = make_invoice(notes=None)
    invoice = invoice.model_copy(
        update={"lines": [invoice.lines[0].model_copy(update={"name": word})]}
    )
    (text,) = pages_of(render_invoice_pdf_drawn(invoice))
    assert text.replace(" ", "").count(word) == 1


# --- text layer, fonts, branding --------------------------------------------------------------


@pytest.mark.parametrize("letter", list("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"))
def test_polish_letters_survive_in_the_text_layer(letter: str) -> None:
    assert letter in text_of(render_invoice_pdf_drawn(make_invoice()))


def test_text_is_drawn_only_in_embedded_subsets_of_dejavu() -> None:
    pdf = render_invoice_pdf_drawn(retail_invoice())
    used = fonts_drawing_text(PdfReader(io.BytesIO(pdf)))
    assert used
    for font in used.values():
        assert "DejaVuSans" in str(font["/BaseFont"]), font["/BaseFont"]
        assert "+" in str(font["/BaseFont"])  # a subset
        descriptor = font["/FontDescriptor"].get_object()
        assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000
    assert len(pdf) < 120_000


def _font_files(pdf: bytes) -> dict[str, bytes]:
    """Each embedded font's file as stored in the PDF (compressed), by its name."""
    files = {}
    for font in fonts_drawing_text(PdfReader(io.BytesIO(pdf))).values():
        stream = font["/FontDescriptor"].get_object()["/FontFile2"].get_object()
        files[str(font["/BaseFont"])] = stream._data
    return files


def _buyer(name: str) -> events.Party:
    return retail_invoice().buyer.model_copy(update={"name": name})


def test_invoices_in_polish_embed_the_same_font_bytes() -> None:
    """Polish letters are numbered before anything is drawn, so two invoices with
    different text embed byte-identical subsets, which a worker builds and compresses once."""
    one = render_invoice_pdf_drawn(retail_invoice(buyer=_buyer("Źdźbło Żółć Sp. z o.o.")))
    other = render_invoice_pdf_drawn(make_invoice())
    assert _font_files(one) and _font_files(one) == _font_files(other)


def test_a_letter_beyond_the_shared_ones_is_embedded_too() -> None:
    name = "Müller & Søn Ærø ApS"
    pdf = render_invoice_pdf_drawn(retail_invoice(buyer=_buyer(name)))
    assert name in flat(text_of(pdf))
    assert _font_files(pdf) != _font_files(render_invoice_pdf_drawn(retail_invoice()))
    # and the next Polish invoice is back on the shared subset
    again = render_invoice_pdf_drawn(make_invoice())
    assert _font_files(again) == _font_files(render_invoice_pdf_drawn(retail_invoice()))


def _png(colour: str) -> str:
    out = io.BytesIO()
    Image.new("RGB", (200, 50), colour).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_branding_colours_and_logo_are_drawn() -> None:
    branding = events.Branding(
        primary_color="#2e7d32", accent_color="#e8f5e9", logo_png_base64=_png("#ff0000")
    )
    pdf = render_invoice_pdf_drawn(retail_invoice(), branding)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert any(
        x.get_object()["/Subtype"] == "/Image" for x in page["/Resources"]["/XObject"].values()
    )
    content = page.get_contents().get_data()
    assert b".180392 .490196 .196078 rg" in content  # #2e7d32 fills the table header
    plain = render_invoice_pdf_drawn(retail_invoice())
    assert "/XObject" not in PdfReader(io.BytesIO(plain)).pages[0]["/Resources"]
    assert flat(text_of(pdf)) == flat(text_of(plain))


def test_an_unreadable_logo_is_left_out() -> None:
    branding = events.Branding(logo_png_base64="bm90IGEgcG5n")  # "not a png"
    pdf = render_invoice_pdf_drawn(make_invoice(), branding)
    assert "Do zapłaty: 1 361,72 PLN" in flat(text_of(pdf))


def test_the_same_invoice_gives_the_same_bytes() -> None:
    invoice = retail_invoice()
    assert render_invoice_pdf_drawn(invoice) == render_invoice_pdf_drawn(invoice)


def test_amounts_without_a_due_date_print_a_dash() -> None:
    invoice = make_invoice(payment=events.Payment(method="gotówka"), issue_date=date(2024, 2, 1))
    text = flat(text_of(render_invoice_pdf_drawn(invoice)))
    assert "Termin płatności: —" in text
    assert "Forma płatności: gotówka" in text
    assert Decimal(invoice.totals.gross) == Decimal("1361.72")


def test_renders_in_a_process_pool_with_branding() -> None:
    invoice = retail_invoice()
    branding = events.Branding(primary_color="#2e7d32", logo_png_base64=_png("#2e7d32"))
    with ProcessPoolExecutor(max_workers=1) as pool:
        pdf = pool.submit(render_invoice_pdf_drawn, invoice, branding).result(timeout=120)
    assert pdf == render_invoice_pdf_drawn(invoice, branding)
