"""The default invoice layout drawn directly with ReportLab's canvas (ADR 0008).

`render_invoice_pdf_drawn` draws what ``templates/invoice.html.j2`` shows - the same A4
page, margins, column widths, colours and texts - for a small fraction of xhtml2pdf's CPU
(ADR 0008 has the figures). It is pure and synchronous (reads only the packaged fonts), so
it can run in a ProcessPoolExecutor; fonts and decoded logos are cached per process.

The layout:

* header: the logo (12 mm high), "Faktura VAT", "nr <number>", the FP reference of a
  retail invoice; the issue and sale dates on the right; for an invoice registered in KSeF,
  its mark in the top right corner (the QR code of KOD I, 25 mm, with its quiet zone, and
  the KSeF number centred under it: `invoice_pdf.ksef`), the dates to its left;
* seller and buyer side by side: name, street, postal code and city (country when not
  PL), NIP, e-mail - every field wrapped to its column;
* the lines table with every cell wrapped; rows that do not fit continue on the next page
  under a repeated header;
* the closing block - payment, VAT summary per rate with "Razem", "Do zapłaty" and
  "Słownie" - measured first and never split: it moves to a new page as a whole;
* the exemption's legal basis ("Podstawa zwolnienia z VAT:") and the notes ("Uwagi:"),
  wrapped, and the footer "Faktura VAT nr … / Strona X z Y" on every page.

All strings come from `invoice_pdf.view.invoice_view`, which formats them with
`invoice_pdf.render`'s filters, so the text layer matches the HTML template's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import itertools
import logging
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas

from einvoice.events import Branding, InvoiceIssued
from einvoice.memory import trim_heap
from invoice_pdf.ksef import QR_SIZE_MM, QUIET_MODULES, KsefMark, qr_modules
from invoice_pdf.render import FONT_BOLD, FONT_REGULAR, render_invoice_pdf
from invoice_pdf.samples import sample_invoice, sample_ksef_mark
from invoice_pdf.view import invoice_view

__all__ = ["KsefMark", "render_for", "render_invoice_pdf_drawn"]

log = logging.getLogger(__name__)

MM = 72 / 25.4
PAGE_W, PAGE_H = 595.28, 841.89  # A4 in points
LEFT, RIGHT, TOP, BOTTOM = 13 * MM, 13 * MM, 14 * MM, 16 * MM  # the template's @page margin
WIDTH = PAGE_W - LEFT - RIGHT
LIMIT = PAGE_H - BOTTOM  # the lowest y (from the top) content may reach
FOOTER_Y = 7 * MM + 2  # baseline of the footer, from the bottom edge

# The lines table: % of the width, alignment and headings, as in the template.
LINE_COLUMNS = (4, 27, 7, 5, 11, 12, 7, 12, 15)
LINE_ALIGN = ("C", "L", "R", "C", "R", "R", "C", "R", "R")
LINE_KEYS = (
    "position",
    "name",
    "quantity",
    "unit",
    "unit_price",
    "net",
    "vat_rate",
    "vat",
    "gross",
)
VAT_COLUMNS = (16, 29, 25, 30)
VAT_HEADINGS = ("Stawka", "Wartość netto", "Kwota VAT", "Wartość brutto")

INK, GREY, KEY_GREY, RULE, ODD, FOOTER_GREY = (
    HexColor(c) for c in ("#1a1a1a", "#666666", "#555555", "#c8ced6", "#f3f5f8", "#888888")
)
PAD = 3  # horizontal cell padding
KSEF_LABEL_PT = 7  # the KSeF number under the QR code
KSEF_GAP = 10  # between the dates and the mark (beyond the code's own quiet zone)


# --- per-process resources -------------------------------------------------------------------


@functools.cache
def _fonts() -> tuple[str, str]:
    """Register DejaVu Sans once per process (parsing the TTF is the expensive part); own
    names, so nothing else registered in the process (xhtml2pdf) can collide with them.
    ReportLab embeds a subset of each in every PDF."""
    names = ("InvoiceDejaVuSans", "InvoiceDejaVuSans-Bold")
    for name, path in zip(names, (FONT_REGULAR, FONT_BOLD), strict=True):
        font = TTFont(name, str(path))
        font.face.__class__ = _ReusedSubsets
        pdfmetrics.registerFont(font)
    return names


# The characters beyond ASCII that invoices use (Polish letters, the layout's quotes and
# units), given their codes in this order before anything is drawn. ReportLab numbers a
# font's characters in the order a document first uses them, so without this two invoices
# embed different subsets of the same font; with it, every invoice that keeps to ASCII and
# these embeds the same bytes, built and compressed once per worker (_ReusedSubsets):
# building and compressing the embedded fonts was much of a render's CPU (ADR 0008, update).
SHARED_CHARACTERS = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ„”“«»–—…°²³µ×·§€"


def _share_subsets(canvas: Canvas, fonts: tuple[str, ...]) -> None:
    for name in fonts:
        # ReportLab's own calls, which types-reportlab leaves out (getFont gives a TTFont here).
        pdfmetrics.getFont(name).splitString(SHARED_CHARACTERS, canvas._doc)  # type: ignore[attr-defined]


class _ReusedSubsets(TTFontFace):
    """A font face that builds and compresses each distinct embedded subset once: an
    invoice whose characters give the same subset as an earlier one reuses its bytes."""

    def makeSubset(self, subset: Sequence[int]) -> bytes:  # noqa: N802 - ReportLab's name
        return _subset_bytes(self, tuple(subset))

    def addSubsetObjects(self, doc: Any, fontname: str, subset: list[int]) -> Any:  # noqa: N802
        # Untyped in types-reportlab.
        descriptor = super().addSubsetObjects(doc, fontname, subset)  # type: ignore[no-untyped-call]
        font_file = doc.idToObject[f"fontFile:{self.filename}({fontname})"]
        if font_file.filters:  # the document compresses: compress these bytes once
            font_file.filters = [_FLATE_ONCE]
        return descriptor


# Distinct subsets remembered per worker (a foreign name makes a new one). The faces are
# the two registered fonts, alive as long as the process.
@functools.lru_cache(maxsize=32)
def _subset_bytes(face: _ReusedSubsets, subset: tuple[int, ...]) -> bytes:
    return TTFontFace.makeSubset(face, list(subset))


class _FlateOnce:
    """ReportLab's FlateDecode filter, remembering the last few results: a reused subset's
    bytes are the same object every time, so looking them up costs nothing."""

    pdfname = "FlateDecode"
    encode = staticmethod(functools.lru_cache(maxsize=32)(zlib.compress))

    def decode(self, encoded: bytes) -> bytes:
        return zlib.decompress(encoded)


_FLATE_ONCE = _FlateOnce()


@functools.lru_cache(maxsize=32)
def _logo(png_base64: str) -> ImageReader | None:
    """The tenant's logo, decoded once per process; None (and a warning) if unreadable."""
    try:
        image = ImageReader(io.BytesIO(base64.b64decode(png_base64, validate=True)))
        width, height = image.getSize()
    except (binascii.Error, ValueError, OSError) as exc:
        log.warning("unreadable logo in branding, drawn without it: %s", exc)
        return None
    if width <= 0 or height <= 0:
        return None
    return image


# --- the canvas ------------------------------------------------------------------------------


class _NumberedCanvas(Canvas):
    """ReportLab's recipe for "Strona X z Y": keep each page's state and draw the footers
    when the page count is known, at save."""

    def __init__(self, *args: Any, footer: Callable[[Canvas, int, int], None], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # ReportLab's, not in types-reportlab

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(self, number, total)
            super().showPage()
        super().save()


def _wrap(s: str, font: str, size: float, width: float) -> list[str]:
    """Lines of `s` no wider than `width`: broken at spaces, and inside a word only when
    the word alone is wider (an account number, an e-mail address)."""
    lines: list[str] = []
    for line in simpleSplit(s, font, size, width) or [""]:
        while stringWidth(line, font, size) > width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and stringWidth(line[:cut], font, size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


class _Page:
    """Drawing with y measured from the top of the page, as the layout is thought of."""

    def __init__(self, canvas: Canvas, fonts: tuple[str, str]) -> None:
        self.c = canvas
        self.regular, self.bold = fonts

    def font(self, bold: bool) -> str:
        return self.bold if bold else self.regular

    def width(self, s: str, size: float, bold: bool = False) -> float:
        return stringWidth(s, self.font(bold), size)

    def wrap(self, s: str, size: float, width: float, bold: bool = False) -> list[str]:
        return _wrap(s, self.font(bold), size, width)

    def text(
        self,
        x: float,
        y: float,
        s: str,
        size: float = 8.5,
        *,
        bold: bool = False,
        color: Color = INK,
        align: str = "L",
    ) -> None:
        c = self.c
        c.setFont(self.font(bold), size)
        c.setFillColor(color)
        if align == "R":
            c.drawRightString(x, PAGE_H - y, s)
        elif align == "C":
            c.drawCentredString(x, PAGE_H - y, s)
        else:
            c.drawString(x, PAGE_H - y, s)

    def runs(self, x: float, y: float, parts: list[tuple[str, bool]], size: float = 8.5) -> None:
        """Regular and bold pieces on one line, in one text object (extracts as one line)."""
        t = self.c.beginText(x, PAGE_H - y)
        t.setFillColor(INK)
        for s, bold in parts:
            t.setFont(self.font(bold), size)
            t.textOut(s)
        self.c.drawText(t)

    def rect(self, x: float, y: float, w: float, h: float, fill: Color) -> None:
        self.c.setFillColor(fill)
        self.c.rect(x, PAGE_H - y - h, w, h, stroke=0, fill=1)

    def hline(self, x: float, y: float, w: float, color: Color, width: float = 0.5) -> None:
        self.c.setStrokeColor(color)
        self.c.setLineWidth(width)
        self.c.line(x, PAGE_H - y, x + w, PAGE_H - y)


# --- the layout ------------------------------------------------------------------------------


def _ksef_mark(p: _Page, mark: dict[str, str]) -> tuple[float, float]:
    """The QR code of KOD I at the top right, the KSeF number centred under it (the
    Ministry's "Kody weryfikujące QR"). The code is drawn as one vector path, pure black,
    and nothing else is drawn within its quiet zone. Returns the mark's left x and its
    bottom y."""
    modules, runs = qr_modules(mark["url"])
    size = QR_SIZE_MM * MM
    module = size / modules
    quiet = QUIET_MODULES * module
    label_pt: float = KSEF_LABEL_PT
    label_w = p.width(mark["number"], label_pt)
    if label_w > WIDTH * 0.4:  # a KSeF number is 35 characters; anything longer is shrunk
        label_pt *= WIDTH * 0.4 / label_w
        label_w = WIDTH * 0.4
    block_w = max(size + 2 * quiet, label_w)
    left = PAGE_W - RIGHT - block_w
    x = left + (block_w - size) / 2
    top = PAGE_H - TOP  # the code's top edge; the quiet zone above it is the page margin
    c = p.c
    c.saveState()
    c.setFillColor(black)
    # In module units, from the code's top left corner, rows downwards: every run is a
    # rectangle of whole numbers, written as PDF operators at once (ReportLab's path API
    # formats each coordinate in Python: ~3 times the cost for a code's ~450 runs).
    c.transform(module, 0, 0, -module, x, top)
    c.addLiteral(" ".join(f"{col} {row} {length} 1 re" for row, col, length in runs) + " f")
    c.restoreState()
    y = TOP + size + quiet + label_pt
    p.text(left + block_w / 2, y, mark["number"], label_pt, align="C")
    return left, y + 2


def _header(p: _Page, view: dict[str, Any], primary: Color) -> float:
    """Logo, title, number, FP reference; the dates on the right, left of the KSeF mark if
    the invoice has one. Returns the bottom y."""
    left_w = WIDTH * 0.58
    right_x, right_w = LEFT + WIDTH * 0.58, WIDTH * 0.42
    key_w, value_w = right_w * 0.6, right_w * 0.4
    values_x = PAGE_W - RIGHT  # the dates' values end here, right-aligned
    bottom = TOP
    if view["ksef"]:
        mark_x, bottom = _ksef_mark(p, view["ksef"])
        # the dates as narrow as they are, left of the mark; the title gets the rest
        values_x = mark_x - KSEF_GAP
        value_w = max(p.width(view[k], 8.5, bold=True) for k in ("issue_date", "sale_date"))
        key_w = max(p.width(k, 8.5) for k in DATE_KEYS) + 6.5
        right_x = values_x - value_w - key_w
        left_w = right_x - LEFT - KSEF_GAP
    y = TOP
    logo = _logo(view["logo"]) if view["logo"] else None
    if logo is not None:
        width, height = logo.getSize()
        h = 12 * MM
        w = min(width * h / height, left_w)
        p.c.drawImage(logo, LEFT, PAGE_H - y - h, width=w, height=h, mask="auto")
        y += h + 3
    y += 15
    p.text(LEFT, y, "Faktura VAT", 17, bold=True, color=primary)
    y += 3
    prefix = "nr "
    indent = p.width(prefix, 11)
    for i, part in enumerate(p.wrap(view["number"], 11, left_w - indent, bold=True)):
        y += 13.5
        if i == 0:
            p.runs(LEFT, y, [(prefix, False), (part, True)], 11)
        else:
            p.text(LEFT + indent, y, part, 11, bold=True)
    if view["receipt"]:
        r = view["receipt"]
        fp = f"FP: faktura do paragonu nr {r['number']} z dnia {r['purchased_on']}"
        for part in p.wrap(fp, 8.5, left_w):
            y += 11
            p.text(LEFT, y, part, color=GREY)

    # dates: a two-column table in the right 42%, keys 60%, values 40%, both right-aligned
    # (with a KSeF mark: as wide as the keys and values, left of the mark)
    dy = TOP
    for key, value in zip(DATE_KEYS, (view["issue_date"], view["sale_date"]), strict=True):
        keys = p.wrap(key, 8.5, key_w - 6)
        values = p.wrap(value, 8.5, value_w, bold=True)
        for j in range(max(len(keys), len(values))):
            dy += 11
            if j < len(keys):
                p.text(right_x + key_w - 6, dy, keys[j], color=KEY_GREY, align="R")
            if j < len(values):
                p.text(values_x, dy, values[j], bold=True, align="R")
        dy += 2
    return max(y, dy, bottom)


DATE_KEYS = ("Data wystawienia:", "Data sprzedaży:")


def _party(
    p: _Page, x: float, top: float, label: str, party: dict[str, Any], primary: Color
) -> float:
    w = WIDTH * 0.48
    p.text(x, top, label.upper(), 7.5, bold=True, color=primary)
    p.hline(x, top + 3, w, primary, 0.8)
    y = top + 4
    for part in p.wrap(party["name"], 10, w, bold=True):
        y += 13
        p.text(x, y, part, 10, bold=True)
    y += 1
    for value in (party["street"], party["city"]):
        for part in p.wrap(value, 8.5, w):
            y += 11.5
            p.text(x, y, part)
    if party["nip"]:
        indent = p.width("NIP: ", 8.5)
        for i, part in enumerate(p.wrap(party["nip"], 8.5, w - indent, bold=True)):
            y += 11.5
            if i == 0:
                p.runs(x, y, [("NIP: ", False), (part, True)])
            else:
                p.text(x + indent, y, part, bold=True)
    if party["email"]:
        for part in p.wrap(party["email"], 8.5, w):
            y += 11.5
            p.text(x, y, part, color=GREY)
    return y


def _line_headings(view: dict[str, Any]) -> list[str]:
    return [
        "Lp.",
        "Nazwa",
        "Ilość",
        "J.m.",
        f"Cena jedn. {view['price_label']}",
        "Wartość netto",
        "Stawka VAT",
        "Kwota VAT",
        "Wartość brutto",
    ]


def _lines(p: _Page, view: dict[str, Any], y: float, primary: Color) -> float:
    """The lines table; a row that does not fit goes to the next page, under the header."""
    widths = [WIDTH * share / 100 for share in LINE_COLUMNS]
    xs = [LEFT + sum(widths[:i]) for i in range(len(widths))]
    headings = [
        p.wrap(label, 7, w - 2 * PAD, bold=True)
        for label, w in zip(_line_headings(view), widths, strict=True)
    ]
    heading_h = 5 + 8 * max(len(parts) for parts in headings)

    def heading(y: float) -> float:
        p.rect(LEFT, y, WIDTH, heading_h, primary)
        for x, w, parts in zip(xs, widths, headings, strict=True):
            first = y + heading_h / 2 - 4 * (len(parts) - 1) + 2.5
            for j, part in enumerate(parts):
                p.text(x + w / 2, first + 8 * j, part, 7, bold=True, color=white, align="C")
        return y + heading_h

    if y + heading_h + 16 > LIMIT:  # a header alone at the foot of a page
        p.c.showPage()
        y = TOP
    y = heading(y)
    for n, line in enumerate(view["lines"]):
        cells = [
            p.wrap(line[key], 8, w - 2 * PAD) for key, w in zip(LINE_KEYS, widths, strict=True)
        ]
        h = 5 + 10 * max(len(parts) for parts in cells) + 1
        if y + h > LIMIT:
            p.c.showPage()
            y = heading(TOP)
        if n % 2:
            p.rect(LEFT, y, WIDTH, h, ODD)
        for x, w, parts, align in zip(xs, widths, cells, LINE_ALIGN, strict=True):
            anchor = {"L": x + PAD, "R": x + w - PAD, "C": x + w / 2}[align]
            for j, part in enumerate(parts):
                p.text(anchor, y + 11 + 10 * j, part, 8, align=align)
        p.hline(LEFT, y + h, WIDTH, RULE)
        y += h
    return y


def _payment_rows(view: dict[str, Any]) -> list[tuple[str, str]]:
    pay = view["payment"]
    rows = [("Forma płatności:", pay["method"])]
    if view["receipt"]:
        rows.append(("Zapłacono:", f"przy zakupie ({view['receipt']['purchased_on']})"))
    else:
        rows.append(("Termin płatności:", pay["due_date"]))
    if pay["bank_account"]:
        rows.append(("Numer rachunku:", pay["bank_account"]))
    return rows


def _closing(
    p: _Page, view: dict[str, Any], y: float, primary: Color, accent: Color, draw: bool
) -> float:
    """Payment, the VAT summary and the amount due, from `y`; returns the bottom y. With
    ``draw=False`` it only measures, so the block can be moved to a new page whole."""
    text = p.text if draw else _nothing
    rect = p.rect if draw else _nothing
    hline = p.hline if draw else _nothing

    # payment: the left 47%, keys 35% of it
    pay_w = WIDTH * 0.47
    key_w = pay_w * 0.35
    text(LEFT, y, "Płatność", 8, bold=True, color=primary)
    py = y + 3
    for key, value in _payment_rows(view):
        keys = p.wrap(key, 8.5, key_w - 3)
        values = p.wrap(value, 8.5, pay_w - key_w)  # the key cell holds its 3pt padding
        for j in range(max(len(keys), len(values))):
            py += 11
            if j < len(keys):
                text(LEFT, py, keys[j], color=KEY_GREY)
            if j < len(values):
                text(LEFT + key_w, py, values[j])
        py += 2

    # VAT summary: the right 50%
    vx, vw = LEFT + WIDTH * 0.5, WIDTH * 0.5
    cw = [vw * share / 100 for share in VAT_COLUMNS]
    cx = [vx + sum(cw[:i]) for i in range(len(cw))]
    text(vx, y, "Zestawienie VAT", 8, bold=True, color=primary)
    vy = y + 5
    rect(vx, vy, vw, 13, accent)
    for i, label in enumerate(VAT_HEADINGS):
        at = cx[i] + PAD if i == 0 else cx[i] + cw[i] - PAD
        text(at, vy + 9.5, label, 7, bold=True, color=primary, align="L" if i == 0 else "R")
    hline(vx, vy + 13, vw, primary, 0.6)
    vy += 13
    totals = view["totals"]
    rows = [(r["vat_rate"], r["net"], r["vat"], r["gross"]) for r in view["vat_summary"]]
    for row in rows:
        for i, value in enumerate(row):
            at = cx[i] + PAD if i == 0 else cx[i] + cw[i] - PAD
            text(at, vy + 10, value, 8, align="L" if i == 0 else "R")
        hline(vx, vy + 14, vw, RULE)
        vy += 14
    hline(vx, vy, vw, primary, 0.8)
    for i, value in enumerate(("Razem", totals["net"], totals["vat"], totals["gross"])):
        at = cx[i] + PAD if i == 0 else cx[i] + cw[i] - PAD
        text(at, vy + 10, value, 8, bold=True, align="L" if i == 0 else "R")
    vy += 14

    # the amount due, on the brand's accent with a primary bar
    y = max(py, vy) + 12
    inner = WIDTH - 19
    due = p.wrap(f"Do zapłaty: {totals['gross']} {view['currency']}", 13, inner, bold=True)
    words = p.wrap(f"Słownie: {view['amount_in_words']}", 8, inner)
    h = 6 + 15 * len(due) + 10.5 * len(words) + 5
    rect(LEFT, y, WIDTH, h, accent)
    rect(LEFT, y, 3, h, primary)
    ty = y + 6
    for part in due:
        ty += 13
        text(LEFT + 11, ty, part, 13, bold=True, color=primary)
        ty += 2
    for part in words:
        ty += 10.5
        text(LEFT + 11, ty, part, 8)
    return y + h


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def _notes(p: _Page, notes: str, y: float, label: str = "Uwagi: ") -> float:
    """`label` in bold and `notes` wrapped beside and under it; returns the last line's y."""
    indent = p.width(label, 7.5, bold=True)
    first, *rest = p.wrap(notes, 7.5, WIDTH - indent) or [""]
    # the first line beside the label, the others under it at full width
    rest = p.wrap(" ".join(rest), 7.5, WIDTH) if rest else []
    for i, part in enumerate([first, *rest]):
        y += 10
        if y > LIMIT:
            p.c.showPage()
            y = TOP + 10
        t = p.c.beginText(LEFT, PAGE_H - y)
        t.setFillColor(INK)
        if i == 0:
            t.setFont(p.bold, 7.5)
            t.textOut(label)
        t.setFont(p.regular, 7.5)
        t.textOut(part)
        p.c.drawText(t)
    return y


def render_invoice_pdf_drawn(
    invoice: InvoiceIssued, branding: Branding | None = None, ksef: KsefMark | None = None
) -> bytes:
    """Draw `invoice` in the default layout, branded with `branding`'s colours and logo
    (its ``invoice_template`` is not this function's business), with its KSeF mark if
    `ksef` is given, and return the PDF."""
    view = invoice_view(invoice, branding, ksef)
    fonts = _fonts()
    regular = fonts[0]
    primary = HexColor(view["brand"]["primary"])
    accent = HexColor(view["brand"]["accent"])
    title = view["title"]

    # the title in the footer's left 70%, wrapped (a long number) upwards from the baseline
    title_lines = _wrap(title, regular, 6.5, WIDTH * 0.7)

    def footer(c: Canvas, number: int, total: int) -> None:
        c.setFont(regular, 6.5)
        c.setFillColor(FOOTER_GREY)
        for i, part in enumerate(title_lines):
            c.drawString(LEFT, FOOTER_Y + 7.5 * (len(title_lines) - 1 - i), part)
        c.drawRightString(PAGE_W - RIGHT, FOOTER_Y, f"Strona {number} z {total}")

    out = io.BytesIO()
    canvas = _NumberedCanvas(
        out,
        footer=footer,
        pagesize=(PAGE_W, PAGE_H),
        pageCompression=1,
        lang="pl",
        invariant=1,  # no timestamp or random id: the same invoice gives the same bytes
    )
    _share_subsets(canvas, fonts)
    canvas.setTitle(title)
    canvas.setAuthor(view["seller"]["name"])
    canvas.setSubject(title)
    p = _Page(canvas, fonts)

    y = _header(p, view, primary) + 27
    bottoms = [
        _party(p, LEFT, y, "Sprzedawca", view["seller"], primary),
        _party(p, LEFT + WIDTH * 0.52, y, "Nabywca", view["buyer"], primary),
    ]
    y = _lines(p, view, max(bottoms) + 14, primary)

    y += 22
    height = _closing(p, view, y, primary, accent, draw=False) - y
    if y + height > LIMIT and height <= LIMIT - TOP - 10:
        canvas.showPage()
        y = TOP + 10
    y = _closing(p, view, y, primary, accent, draw=True)
    if view["exemption"]:
        y = _notes(p, view["exemption"], y + 4, "Podstawa zwolnienia z VAT: ")
    if view["notes"]:
        _notes(p, view["notes"], y + 4)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def warm_up() -> None:
    """A new worker process draws a sample invoice before its first real one: fonts
    registered, modules and caches loaded, so a shopper's invoice never waits for that."""
    invoice = sample_invoice()
    render_invoice_pdf_drawn(invoice)
    render_invoice_pdf_drawn(invoice, ksef=sample_ksef_mark(invoice))


# Every this many renders, a worker collects its cyclic garbage (ReportLab's canvases hold
# cycles) and hands the memory it freed back to the system. Drawing an invoice allocates
# and frees a few MB in C (fonts, zlib); glibc keeps the freed pages, so a worker's RSS
# crept up without this, and still did with the trim alone (ADR 0008, update).
TRIM_EVERY = 500
_renders = itertools.count(1)


def render_for(
    invoice: InvoiceIssued, branding: Branding | None = None, ksef: KsefMark | None = None
) -> bytes:
    """The renderer's choice (ADR 0008): a tenant's own layout (an HTML template) through
    xhtml2pdf; every other invoice drawn directly. `ksef`: the mark of an invoice registered
    in KSeF (its number and KOD I), printed by either layout; None: no mark."""
    try:
        if branding is not None and branding.invoice_template:
            return render_invoice_pdf(
                invoice,
                template_html=branding.invoice_template,
                branding=branding.model_dump(),
                ksef=ksef,
            )
        return render_invoice_pdf_drawn(invoice, branding, ksef)
    finally:
        if next(_renders) % TRIM_EVERY == 0:
            trim_heap()
