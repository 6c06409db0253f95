"""KOD I, the invoice verification link (docs/kody-qr.md)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime

import pytest

from fa3 import build, validate
from fa3.qr import invoice_hash, link, verification_url
from tests.support.builders import issued_invoice


def test_the_documented_example() -> None:
    # docs/kody-qr.md: NIP 1111111111, P_1 2026-02-01, its file's hash, the test environment.
    documented = (
        "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/"
        "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
    )
    file_hash = documented.rsplit("/", 1)[1]
    assert link("1111111111", date(2026, 2, 1), file_hash, "test") == documented
    assert len(base64.urlsafe_b64decode(file_hash + "=")) == 32


def test_the_hash_is_base64url_of_the_exact_bytes_without_padding() -> None:
    xml = build(issued_invoice(), created_at=datetime(2026, 12, 7, 12, tzinfo=UTC))
    assert validate(xml) == []
    expected = base64.urlsafe_b64encode(hashlib.sha256(xml).digest()).decode().rstrip("=")
    assert invoice_hash(xml) == expected
    assert len(expected) == 43 and "=" not in expected and "+" not in expected
    # One byte more is another invoice: the link no longer verifies it.
    assert invoice_hash(xml + b"\n") != expected


def test_hosts_per_environment() -> None:
    day = date(2026, 12, 1)
    assert verification_url("5260250274", day, b"x").startswith("https://qr.ksef.mf.gov.pl/")
    assert verification_url("5260250274", day, b"x", "demo").startswith(
        "https://qr-demo.ksef.mf.gov.pl/invoice/5260250274/01-12-2026/"
    )


@pytest.mark.parametrize("nip", ["526025027", "52602502744", "526-025-02-7", ""])
def test_a_nip_that_is_not_ten_digits_is_refused(nip: str) -> None:
    with pytest.raises(ValueError, match="10 digits"):
        verification_url(nip, date(2026, 12, 1), b"x")
