"""The QR codes a person's phone would read on a PDF: each page rendered with pdfium (at
150 dpi, grey) and decoded with zxing-cpp."""

from __future__ import annotations

import pypdfium2 as pdfium
import zxingcpp


def qr_codes(pdf: bytes, dpi: int = 150) -> list[str]:
    """The texts of every QR code on every page, in page order."""
    found: list[str] = []
    document = pdfium.PdfDocument(pdf)
    for page in document:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
        found += [
            code.text
            for code in zxingcpp.read_barcodes(image)
            if code.format == zxingcpp.BarcodeFormat.QRCode
        ]
    return found
