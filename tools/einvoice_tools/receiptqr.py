"""A receipt's code as the QR code a till prints for phones to scan."""

from __future__ import annotations

import io

import segno

from einvoice.receipts import normalise_code


def qr_png(code: str, *, scale: int = 8) -> bytes:
    """The receipt code as a QR code (PNG), the way a till prints it for phones to scan."""
    qr = segno.make_qr(normalise_code(code), error="m")
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
