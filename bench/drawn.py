"""The invoice drawn by code instead of a template: ReportLab's canvas and fpdf2.

Both take the same view (`invoice_view.invoice_view`) and draw the layout of the packaged
HTML template (A4, the same margins, columns, colours and texts) closely enough to time
them fairly; they are benchmark prototypes, not a finished renderer.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from pdf_renderer.drawn import _line_headings as line_headings
from pdf_renderer.drawn import _payment_rows as payment_rows
from pdf_renderer.render import FONT_BOLD, FONT_REGULAR

MM = 72 / 25.4
PAGE_W, PAGE_H = 595.28, 841.89
LEFT, RIGHT, TOP, BOTTOM = 13 * MM, 13 * MM, 14 * MM, 16 * MM
WIDTH = PAGE_W - LEFT - RIGHT
LINE_COLUMNS = (4, 27, 7, 5, 11, 12, 7, 12, 15)  # % of the width, as in the HTML template
LINE_ALIGN = ("C", "L", "R", "C", "R", "R", "C", "R", "R")
VAT_COLUMNS = (16, 29, 25, 30)
GREY, KEY_GREY, RULE, ODD = "#666666", "#555555", "#c8ced6", "#f3f5f8"


def line_cells(line: dict[str, str]) -> list[str]:
    keys = ("position", "name", "quantity", "unit", "unit_price", "net", "vat_rate", "vat")
    return [line[k] for k in keys] + [line["gross"]]


def party_lines(p: dict[str, Any]) -> list[tuple[str, str]]:
    """(style, text) rows of a party block after its name."""
    city = f"{p['postal_code']} {p['city']}" + (f", {p['country']}" if p["country"] != "PL" else "")
    rows = [("", p["street"]), ("", city)]
    if p["nip"]:
        rows.append(("nip", p["nip"]))
    if p["email"]:
        rows.append(("muted", p["email"]))
    return rows


# --- ReportLab ------------------------------------------------------------------------------


@functools.cache
def reportlab_fonts(folder: Path = FONT_REGULAR.parent) -> tuple[str, str]:
    """Register DejaVu Sans (from `folder`) once per process: parsing a TTF is the expensive
    part. Returns the names to draw with."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    suffix = "" if folder == FONT_REGULAR.parent else f"-{abs(hash(folder)):x}"
    names = (f"DejaVuSans{suffix}", f"DejaVuSans-Bold{suffix}")
    for name, file in zip(names, (FONT_REGULAR.name, FONT_BOLD.name), strict=True):
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    return names


@functools.lru_cache(maxsize=64)
def _image(path: str) -> Any:
    from reportlab.lib.utils import ImageReader

    return ImageReader(path)


def reportlab_pdf(view: dict[str, Any], fonts: tuple[str, str] | None = None) -> bytes:
    from reportlab.lib.colors import HexColor, white
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    regular, bold = fonts or reportlab_fonts()
    primary, accent = HexColor(view["brand"]["primary"]), HexColor(view["brand"]["accent"])
    out = io.BytesIO()

    class NumberedCanvas(Canvas):
        """ReportLab's recipe for "page X of Y": keep each page, draw footers at save."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(regular, 6.5)
                self.setFillColor(HexColor("#888888"))
                self.drawString(LEFT, 7 * MM + 2, view["title"])
                self.drawRightString(
                    PAGE_W - RIGHT, 7 * MM + 2, f"Strona {self._pageNumber} z {len(self._pages)}"
                )
                super().showPage()
            super().save()

    c = NumberedCanvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    c.setTitle(view["title"])
    c.setAuthor(view["seller"]["name"])

    def text(
        x: float,
        y: float,
        s: str,
        size: float = 8.5,
        *,
        b: bool = False,
        color: Any = "#1a1a1a",
        align: str = "L",
    ) -> None:
        c.setFont(bold if b else regular, size)
        c.setFillColor(HexColor(color) if isinstance(color, str) else color)
        {"L": c.drawString, "R": c.drawRightString, "C": c.drawCentredString}[align](
            x, PAGE_H - y, s
        )

    def rect(x: float, y: float, w: float, h: float, fill: Any) -> None:
        c.setFillColor(fill)
        c.rect(x, PAGE_H - y - h, w, h, stroke=0, fill=1)

    def hline(x: float, y: float, w: float, color: Any, width: float = 0.5) -> None:
        c.setStrokeColor(color)
        c.setLineWidth(width)
        c.line(x, PAGE_H - y, x + w, PAGE_H - y)

    # header
    y = TOP + 14
    if view["logo"]:  # a PNG file; decoded once per process and logo
        logo = _image(view["logo"])
        width, height = logo.getSize()
        h = 12 * MM
        c.drawImage(logo, LEFT, PAGE_H - TOP - h, width=width * h / height, height=h)
        y += h + 4
    text(LEFT, y, "Faktura VAT", 17, b=True, color=primary)
    y += 16
    text(LEFT, y, "nr ", 11)
    text(LEFT + c.stringWidth("nr ", regular, 11), y, view["number"], 11, b=True)
    if view["receipt"]:
        r = view["receipt"]
        text(
            LEFT,
            y + 12,
            f"FP: faktura do paragonu nr {r['number']} z dnia {r['purchased_on']}",
            color=GREY,
        )
    key_x, value_x = LEFT + WIDTH * (0.58 + 0.42 * 0.6) - 6, PAGE_W - RIGHT
    for i, (k, v) in enumerate(
        (("Data wystawienia:", view["issue_date"]), ("Data sprzedaży:", view["sale_date"]))
    ):
        text(key_x, TOP + 8 + i * 12, k, color=KEY_GREY, align="R")
        text(value_x, TOP + 8 + i * 12, v, b=True, align="R")

    # parties
    top = y + 30
    bottoms = []
    for x, label, party in (
        (LEFT, "SPRZEDAWCA", view["seller"]),
        (LEFT + WIDTH * 0.52, "NABYWCA", view["buyer"]),
    ):
        w = WIDTH * 0.48
        text(x, top, label, 7.5, b=True, color=primary)
        hline(x, top + 3, w, primary, 0.8)
        py = top + 16
        for part in simpleSplit(party["name"], bold, 10, w):
            text(x, py, part, 10, b=True)
            py += 12.5
        for style, value in party_lines(party):
            if style == "nip":
                text(x, py, "NIP: ")
                text(x + c.stringWidth("NIP: ", regular, 8.5), py, value, b=True)
            else:
                text(x, py, value, color=GREY if style == "muted" else "#1a1a1a")
            py += 12
        bottoms.append(py)
    y = max(bottoms) + 10

    # lines, with the heading repeated on each page
    widths = [WIDTH * p / 100 for p in LINE_COLUMNS]
    xs = [LEFT + sum(widths[:i]) for i in range(len(widths))]

    def heading(y: float) -> float:
        rect(LEFT, y, WIDTH, 22, primary)
        for x, w, label in zip(xs, widths, line_headings(view), strict=True):
            parts = simpleSplit(label, bold, 7, w - 6)
            for j, part in enumerate(parts):
                text(
                    x + w / 2,
                    y + 11 - 4 * (len(parts) - 1) + 8 * j + 2.5,
                    part,
                    7,
                    b=True,
                    color=white,
                    align="C",
                )
        return y + 22

    y = heading(y)
    for n, line in enumerate(view["lines"]):
        cells = line_cells(line)
        name_parts = simpleSplit(cells[1], regular, 8, widths[1] - 6)
        h = 5 + 10 * len(name_parts) + 1
        if y + h > PAGE_H - BOTTOM:
            c.showPage()
            y = heading(TOP)
        if n % 2:
            rect(LEFT, y, WIDTH, h, HexColor(ODD))
        for x, w, value, align, i in zip(xs, widths, cells, LINE_ALIGN, range(9), strict=True):
            anchor = {"L": x + 3, "R": x + w - 3, "C": x + w / 2}[align]
            for j, part in enumerate(name_parts if i == 1 else [value]):
                text(anchor, y + 11 + 10 * j, part, 8, align=align)
        hline(LEFT, y + h, WIDTH, HexColor(RULE))
        y += h

    # payment, VAT summary and the amount due stay together
    closing_h = 40 + 14 * (len(view["vat_summary"]) + 2) + 60
    if y + 14 + closing_h > PAGE_H - BOTTOM:
        c.showPage()
        y = TOP
    y += 20
    text(LEFT, y, "Płatność", 8, b=True, color=primary)
    key_w = WIDTH * 0.47 * 0.35
    py = y + 15
    for k, v in payment_rows(view):
        text(LEFT, py, k, color=KEY_GREY)
        for part in simpleSplit(v, regular, 8.5, WIDTH * 0.47 - key_w - 3):
            text(LEFT + key_w + 3, py, part)
            py += 11
        py += 2
    vx, vw = LEFT + WIDTH * 0.5, WIDTH * 0.5
    text(vx, y, "Zestawienie VAT", 8, b=True, color=primary)
    cw = [vw * p / 100 for p in VAT_COLUMNS]
    cx = [vx + sum(cw[:i]) for i in range(4)]
    vy = y + 6
    rect(vx, vy, vw, 13, accent)
    for i, label in enumerate(("Stawka", "Wartość netto", "Kwota VAT", "Wartość brutto")):
        at = cx[i] + 3 if i == 0 else cx[i] + cw[i] - 3
        text(at, vy + 9, label, 7, b=True, color=primary, align="L" if i == 0 else "R")
    hline(vx, vy + 13, vw, primary, 0.6)
    vy += 13
    totals = view["totals"]
    rows = [(r["vat_rate"], r["net"], r["vat"], r["gross"], False) for r in view["vat_summary"]]
    rows.append(("Razem", totals["net"], totals["vat"], totals["gross"], True))
    for row in rows:
        if row[4]:
            hline(vx, vy, vw, primary, 0.8)
        for i, value in enumerate(row[:4]):
            at = cx[i] + 3 if i == 0 else cx[i] + cw[i] - 3
            text(at, vy + 10, value, 8, b=row[4], align="L" if i == 0 else "R")
        if not row[4]:
            hline(vx, vy + 14, vw, HexColor(RULE))
        vy += 14
    y = max(py, vy) + 14
    rect(LEFT, y, WIDTH, 40, accent)
    rect(LEFT, y, 3, 40, primary)
    text(
        LEFT + 11,
        y + 18,
        f"Do zapłaty: {totals['gross']} {view['currency']}",
        13,
        b=True,
        color=primary,
    )
    text(LEFT + 11, y + 31, f"Słownie: {view['amount_in_words']}", 8)
    y += 54
    if view["notes"]:
        text(LEFT, y, "Uwagi:", 7.5, b=True)
        text(LEFT + c.stringWidth("Uwagi: ", bold, 7.5), y, view["notes"], 7.5)
    c.showPage()
    c.save()
    return out.getvalue()


# --- fpdf2 ----------------------------------------------------------------------------------


def fpdf2_pdf(view: dict[str, Any]) -> bytes:
    from fpdf import FPDF, FontFace
    from fpdf.enums import TableCellFillMode

    primary, accent = view["brand"]["primary"], view["brand"]["accent"]

    class Invoice(FPDF):
        def footer(self) -> None:
            self.set_y(-(7 * MM + 6))
            self.set_font("DejaVu", size=6.5)
            self.set_text_color("#888888")
            self.cell(WIDTH * 0.7, 6, view["title"])
            self.cell(WIDTH * 0.3, 6, f"Strona {self.page_no()} z {{nb}}", align="R")

    pdf = Invoice(unit="pt", format="A4")
    # fpdf2 parses the TTF per document: its subsetter then cuts that parsed font in place,
    # so a parsed font cannot be shared between documents.
    pdf.add_font("DejaVu", "", str(FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(True, BOTTOM)
    pdf.set_title(view["title"])
    pdf.set_author(view["seller"]["name"])
    pdf.set_lang("pl")
    pdf.add_page()

    def font(size: float = 8.5, b: bool = False, color: str = "#1a1a1a") -> None:
        pdf.set_font("DejaVu", "B" if b else "", size)
        pdf.set_text_color(color)

    # header
    font(17, True, primary)
    pdf.cell(WIDTH * 0.58, 20, "Faktura VAT")
    x_dates = pdf.get_x()
    font()
    for k, v in (("Data wystawienia:", view["issue_date"]), ("Data sprzedaży:", view["sale_date"])):
        pdf.set_x(x_dates)
        font(color=KEY_GREY)
        pdf.cell(WIDTH * 0.42 * 0.6, 12, k, align="R")
        font(b=True)
        pdf.cell(WIDTH * 0.42 * 0.4, 12, v, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(TOP + 22)
    font(11)
    pdf.write(14, "nr ")
    font(11, True)
    pdf.write(14, view["number"])
    pdf.ln(14)
    if view["receipt"]:
        r = view["receipt"]
        font(color=GREY)
        pdf.cell(
            0,
            12,
            f"FP: faktura do paragonu nr {r['number']} z dnia {r['purchased_on']}",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    # parties
    top = pdf.get_y() + 14
    bottoms = []
    for x, label, party in (
        (LEFT, "SPRZEDAWCA", view["seller"]),
        (LEFT + WIDTH * 0.52, "NABYWCA", view["buyer"]),
    ):
        w = WIDTH * 0.48
        pdf.set_xy(x, top)
        font(7.5, True, primary)
        pdf.set_draw_color(primary)
        pdf.set_line_width(0.8)
        pdf.cell(w, 11, label, border="B", new_x="LEFT", new_y="NEXT")
        pdf.ln(3)
        pdf.set_x(x)
        font(10, True)
        pdf.multi_cell(w, 12.5, party["name"], new_x="LEFT", new_y="NEXT")
        for style, value in party_lines(party):
            pdf.set_x(x)
            if style == "nip":
                font()
                pdf.write(12, "NIP: ")
                font(b=True)
                pdf.write(12, value)
                pdf.ln(12)
            else:
                font(color=GREY if style == "muted" else "#1a1a1a")
                pdf.cell(w, 12, value, new_x="LEFT", new_y="NEXT")
        bottoms.append(pdf.get_y())
    pdf.set_y(max(bottoms) + 12)

    # lines
    pdf.set_draw_color(RULE)
    pdf.set_line_width(0.5)
    font(8)
    heading = FontFace(emphasis="BOLD", color="#ffffff", fill_color=primary, size_pt=7)
    with pdf.table(
        col_widths=LINE_COLUMNS,
        text_align=LINE_ALIGN,
        headings_style=heading,
        cell_fill_color=ODD,
        cell_fill_mode=TableCellFillMode.EVEN_ROWS,
        borders_layout="HORIZONTAL_LINES",
        line_height=10,
        padding=(3, 3, 2, 3),
        first_row_as_headings=True,
        repeat_headings=1,
    ) as table:
        row = table.row()
        for label in line_headings(view):
            row.cell(label, align="C")
        for line in view["lines"]:
            table.row(line_cells(line))

    # payment, VAT summary and the amount due
    pdf.ln(14)
    if pdf.get_y() + 150 > PAGE_H - BOTTOM:
        pdf.add_page()
    y = pdf.get_y()
    font(8, True, primary)
    pdf.cell(WIDTH * 0.47, 12, "Płatność", new_x="LEFT", new_y="NEXT")
    for k, v in payment_rows(view):
        font(color=KEY_GREY)
        pdf.cell(WIDTH * 0.47 * 0.35, 12, k)
        font()
        pdf.multi_cell(WIDTH * 0.47 * 0.65, 12, v, new_x="LMARGIN", new_y="NEXT")
    pay_bottom = pdf.get_y()
    pdf.set_xy(LEFT + WIDTH * 0.5, y)
    font(8, True, primary)
    pdf.cell(WIDTH * 0.5, 12, "Zestawienie VAT", new_x="LEFT", new_y="NEXT")
    font(8)
    totals = view["totals"]
    vat_heading = FontFace(emphasis="BOLD", color=primary, fill_color=accent, size_pt=7)
    with pdf.table(
        width=WIDTH * 0.5,
        align="RIGHT",
        col_widths=VAT_COLUMNS,
        text_align=("L", "R", "R", "R"),
        headings_style=vat_heading,
        borders_layout="HORIZONTAL_LINES",
        line_height=10,
        padding=(2, 3, 2, 3),
    ) as table:
        table.row(["Stawka", "Wartość netto", "Kwota VAT", "Wartość brutto"])
        for r in view["vat_summary"]:
            table.row([r["vat_rate"], r["net"], r["vat"], r["gross"]])
        row = table.row(style=FontFace(emphasis="BOLD"))
        for value in ("Razem", totals["net"], totals["vat"], totals["gross"]):
            row.cell(value)
    pdf.set_y(max(pay_bottom, pdf.get_y()) + 12)
    y = pdf.get_y()
    pdf.set_fill_color(accent)
    pdf.rect(LEFT, y, WIDTH, 40, style="F")
    pdf.set_fill_color(primary)
    pdf.rect(LEFT, y, 3, 40, style="F")
    pdf.set_xy(LEFT + 11, y + 6)
    font(13, True, primary)
    pdf.cell(0, 16, f"Do zapłaty: {totals['gross']} {view['currency']}", new_x="LEFT", new_y="NEXT")
    font(8)
    pdf.cell(0, 11, f"Słownie: {view['amount_in_words']}", new_x="LMARGIN", new_y="NEXT")
    if view["notes"]:
        pdf.ln(14)
        font(7.5)
        pdf.multi_cell(0, 10, f"**Uwagi:** {view['notes']}", markdown=True)
    return bytes(pdf.output())
