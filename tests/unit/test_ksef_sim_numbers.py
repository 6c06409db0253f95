"""The simulator's KSeF numbers and NIP checks against the Ministry's documented examples."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ksef_sim.numbers import (
    crc8,
    is_valid_ksef_number,
    ksef_number,
    nip_checksum_ok,
    reference_number,
)
from tests.support.ksef import crc8_reference, ksef_number_ok

# faktury/numer-ksef.md's example, and the number in the v4-3 sample UPO (kontekst-nip).
DOCUMENTED = ["5265877635-20250826-0100001AF629-AF", "5265877635-20250916-0200A0D6723E-C2"]


@pytest.mark.parametrize("number", DOCUMENTED)
def test_crc8_matches_the_documented_numbers(number: str) -> None:
    assert f"{crc8(number[:32].encode()):02X}" == number[33:]
    assert is_valid_ksef_number(number)
    assert ksef_number_ok(number)  # the tests' own CRC-8 agrees


def test_crc8_of_a_standard_check_string() -> None:
    # CRC-8/SMBUS (poly 0x07, init 0, no reflection, no final XOR): check value 0xF4.
    assert crc8(b"123456789") == 0xF4 == crc8_reference(b"123456789")


@pytest.mark.parametrize("number", DOCUMENTED)
def test_a_changed_digit_breaks_the_checksum(number: str) -> None:
    changed = number[:20] + ("1" if number[20] != "1" else "2") + number[21:]
    assert not is_valid_ksef_number(changed)
    assert not ksef_number_ok(changed)


def test_issued_numbers_have_the_official_shape() -> None:
    number = ksef_number("5265877635", date(2026, 12, 7), "0100001AF629")
    assert len(number) == 35
    assert number.startswith("5265877635-20261207-0100001AF629-")
    assert ksef_number_ok(number)
    with pytest.raises(ValueError, match="12 upper-case hex"):
        ksef_number("5265877635", date(2026, 12, 7), "0100001af629")


def test_reference_numbers_are_36_characters_in_the_upo_pattern() -> None:
    ref = reference_number("SO", datetime(2026, 12, 7, 12, 0))
    assert len(ref) == 36
    assert ref.startswith("20261207-SO-")


@pytest.mark.parametrize(
    ("nip", "ok"),
    [("5265877635", True), ("5213017228", True), ("5265877636", False), ("526587763", False)],
)
def test_nip_checksum(nip: str, ok: bool) -> None:
    assert nip_checksum_ok(nip) is ok
