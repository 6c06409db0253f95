"""KOD I: the link that verifies an invoice in KSeF, printed as a QR code on its PDF.

`https://<qr host>/invoice/<seller NIP>/<P_1 as DD-MM-YYYY>/<SHA-256 of the FA(3) file,
Base64URL without padding>` (`docs/kody-qr.md`). It depends on the exact bytes of the XML,
which is why einvoice never changes an FA(3) file after issue (ADR 0014).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from typing import Literal

Environment = Literal["test", "demo", "production"]
QR_HOSTS: dict[Environment, str] = {
    "test": "https://qr-test.ksef.mf.gov.pl",
    "demo": "https://qr-demo.ksef.mf.gov.pl",
    "production": "https://qr.ksef.mf.gov.pl",
}


def invoice_hash(xml: bytes) -> str:
    """The invoice file's SHA-256 as KSeF writes it in links: Base64URL, no padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(xml).digest()).decode().rstrip("=")


def verification_url(
    seller_nip: str, issue_date: date, xml: bytes, environment: Environment = "production"
) -> str:
    """KOD I for an invoice whose FA(3) file is `xml`, issued (`P_1`) on `issue_date`."""
    return link(seller_nip, issue_date, invoice_hash(xml), environment)


def link(seller_nip: str, issue_date: date, file_hash: str, environment: Environment) -> str:
    """KOD I from the file's hash as `invoice_hash` spells it."""
    if not (len(seller_nip) == 10 and seller_nip.isdigit()):
        raise ValueError(f"a seller NIP is 10 digits, not {seller_nip!r}")
    day = issue_date.strftime("%d-%m-%Y")
    return f"{QR_HOSTS[environment]}/invoice/{seller_nip}/{day}/{file_hash}"
