"""The KSeF mark on an invoice registered in KSeF: the QR code of its KOD I (the link that
verifies the invoice in KSeF) with the invoice's KSeF number printed under it, as the
Ministry's "Kody weryfikujące QR" prescribes (an invoice issued online: one code, KOD I,
labelled with the KSeF number; the code per ISO/IEC 18004).

Both layouts print the same mark:

* the drawn default (`invoice_pdf.drawn`) draws the code's modules as vectors at the top
  right of the first page, the number centred under it;
* a chain's own HTML template gets ``ksef_number``, ``ksef_url``, ``ksef_qr`` (the code as a
  ``data:image/png`` URI, its quiet zone included) and ``ksef_mark`` (the ready block); a
  template that uses neither ``ksef_qr`` nor ``ksef_mark`` gets ``ksef_mark`` at the top of
  its body (`invoice_pdf.render`).

The code is made with zxing-cpp's encoder (C++; ADR 0008's addendum: 0.4 ms a code against
segno's 8.8 ms, most of it segno's pure-Python mask selection): error correction level M
(15 %), which keeps a KOD I of ~100 characters at version 6 (41 × 41 modules), with the
mask chosen by the standard's penalty rules. The symbol is printed 25 mm wide
(~0.6 mm a module: a phone's camera reads it from a printout and from a screen) with a
white quiet zone of 4 modules on every side, where nothing else is drawn.
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass
from typing import Any, cast

import zxingcpp
from markupsafe import Markup, escape
from PIL import Image

__all__ = [
    "QR_ERROR",
    "QR_SIZE_MM",
    "QUIET_MODULES",
    "KsefMark",
    "qr_modules",
    "qr_png_data_uri",
    "qr_size_mm",
    "mark_html",
]

QR_ERROR = "M"  # error correction level M: ~15 % of the symbol can be lost
QR_SIZE_MM = 25.0  # the symbol without its quiet zone
QUIET_MODULES = 4  # ISO/IEC 18004's quiet zone, on every side
LABEL_PT = 7.5  # the KSeF number under the code
PNG_SCALE = 8  # pixels a module in the PNG a chain's template shows


@dataclass(frozen=True)
class KsefMark:
    """What the PDF of an invoice registered in KSeF shows: its KSeF number (printed under
    the code) and KOD I, the verification link the QR code holds (`fa3.qr`)."""

    number: str
    url: str


@functools.lru_cache(maxsize=64)
def _qr(url: str) -> tuple[tuple[bool, ...], ...]:
    """The code's modules, row by row from the top, True for dark, without the quiet zone.
    A redelivered invoice (and the worker's warm-up) makes the same code again: cached."""
    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level=QR_ERROR)
    # An 8-bit grey image, one pixel a module: 0 dark, 255 light (the stubs do not say that
    # it exposes the buffer protocol).
    image = memoryview(cast(Any, code.to_image(scale=1, add_quiet_zones=False)))
    rows, cols = cast(tuple[int, int], image.shape)
    return tuple(tuple(image[r, c] == 0 for c in range(cols)) for r in range(rows))


def qr_modules(url: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The code of `url` as (modules per side, dark runs): each run is (row, first column,
    length), the quiet zone left out; row 0 is the top."""
    matrix = _qr(url)
    runs: list[tuple[int, int, int]] = []
    for row, bits in enumerate(matrix):
        start = None
        for col, bit in enumerate(bits):
            if bit and start is None:
                start = col
            elif not bit and start is not None:
                runs.append((row, start, col - start))
                start = None
        if start is not None:
            runs.append((row, start, len(bits) - start))
    return len(matrix), runs


@functools.lru_cache(maxsize=64)
def qr_png_data_uri(url: str) -> str:
    """The code of `url` as a black-on-white PNG ``data:`` URI, its quiet zone included
    (what a chain's HTML template shows as ``ksef_qr``)."""
    matrix = _qr(url)
    side = len(matrix) + 2 * QUIET_MODULES
    image = Image.new("1", (side, side), 1)
    for row, bits in enumerate(matrix):
        for col, dark in enumerate(bits):
            if dark:
                image.putpixel((col + QUIET_MODULES, row + QUIET_MODULES), 0)
    out = io.BytesIO()
    image.resize((side * PNG_SCALE, side * PNG_SCALE), Image.Resampling.NEAREST).save(
        out, format="PNG", optimize=True
    )
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def qr_size_mm(url: str) -> float:
    """The printed width of the code with its quiet zone, in mm."""
    modules = len(_qr(url))
    return QR_SIZE_MM * (modules + 2 * QUIET_MODULES) / modules


def mark_html(mark: KsefMark) -> Markup:
    """The mark as HTML for xhtml2pdf (``ksef_mark``): the code (with its quiet zone) and
    the KSeF number centred under it, in a block aligned to the right of the page."""
    size = f"{qr_size_mm(mark.url):.1f}mm"
    return Markup(  # noqa: S704 - the number and the URI are escaped; the rest is ours
        '<table class="ksef-mark" style="width: 100%;"><tr><td></td>'
        '<td style="width: 62mm; text-align: center; vertical-align: top;">'
        f'<img src="{escape(qr_png_data_uri(mark.url))}" style="width: {size}; height: {size};"/>'
        f'<div style="font-size: {LABEL_PT}pt; text-align: center;">{escape(mark.number)}</div>'
        "</td></tr></table>"
    )
