"""KSeF numbers and reference numbers, with the CRC-8 checksum of `faktury/numer-ksef.md`."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime

KSEF_NUMBER = re.compile(r"^(\d{10})-(\d{8})-([0-9A-F]{12})-([0-9A-F]{2})$")


def crc8(data: bytes) -> int:
    """CRC-8 with polynomial 0x07 and initial value 0x00 (no reflection, no final XOR)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def with_checksum(data: str) -> str:
    return f"{data}-{crc8(data.encode('ascii')):02X}"


def ksef_number(seller_nip: str, accepted_on: date, technical: str) -> str:
    """`NIP-YYYYMMDD-TTTTTTTTTTTT-CC`: 35 characters, CC the CRC-8 of the first 32."""
    if not re.fullmatch(r"[0-9A-F]{12}", technical):
        raise ValueError(f"technical part must be 12 upper-case hex digits: {technical!r}")
    return with_checksum(f"{seller_nip}-{accepted_on:%Y%m%d}-{technical}")


def is_valid_ksef_number(number: str) -> bool:
    if len(number) != 35 or not KSEF_NUMBER.match(number):
        return False
    return f"{crc8(number[:32].encode('ascii')):02X}" == number[33:]


def reference_number(kind: str, now: datetime) -> str:
    """A 36-character reference number as KSeF hands them out, e.g.
    `20250625-SO-2C3E6C8000-B675CF5D68-07` (kind `SO` online session, `EE` invoice, `AU`
    authentication, `CR` challenge, `UP` UPO). The last two digits are a CRC-8 here; the
    API treats reference numbers as opaque."""
    return with_checksum(
        f"{now:%Y%m%d}-{kind}-{secrets.token_hex(5).upper()}-{secrets.token_hex(5).upper()}"
    )


def technical_part() -> str:
    return secrets.token_hex(6).upper()


def nip_checksum_ok(nip: str) -> bool:
    """The NIP's tenth digit is the weighted sum of the first nine modulo 11 (never 10)."""
    if not re.fullmatch(r"\d{10}", nip):
        return False
    total = sum(w * int(d) for w, d in zip((6, 5, 7, 2, 3, 4, 5, 6, 7), nip, strict=False))
    return total % 11 == int(nip[9])
