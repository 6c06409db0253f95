"""issue(): validation of an InvoiceRequested and the InvoiceIssued it produces."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from stdnum.exceptions import ValidationError
from stdnum.pl import nip as stdnum_nip

from einvoice.events import InvoiceIssued, InvoiceRequested
from invoice_builder.issuing import MAX_AMOUNT, Rejection, issue
from invoice_builder.parties import normalize_nip
from invoice_builder.vat import RATE_ORDER
from tests.support.builders import request_payload

D = Decimal

# NIPs valid by checksum: weights 6 5 7 2 3 4 5 6 7 on the first nine digits, the sum
# mod 11 must equal the tenth digit (a remainder of 10 means no valid NIP has that prefix).
#   5260250274: 5*6+2*5+6*7+0*2+2*3+5*4+0*5+2*6+7*7 = 30+10+42+0+6+20+0+12+49 = 169;
#               169 mod 11 = 4 -> check digit 4. (Ministerstwo Finansów)
#   7740001454: 7*6+7*5+4*7+0+0+0+1*5+4*6+5*7 = 42+35+28+5+24+35 = 169 -> 4. (PKN Orlen)
#   1234567883: 6+10+21+8+15+24+35+48+8*7 = 223; 223 mod 11 = 3 -> 3.
# Invalid:
#   1234567890: the prefix 123456789 sums to 230, 230 mod 11 = 10 -> no digit can match.
#   5260250275: the check digit should be 4.
VALID_NIPS = ["5260250274", "7740001454", "1234567883"]
SELLER_NIP = "5260250274"
BUYER_NIP = "7740001454"


def request(**overrides: Any) -> InvoiceRequested:
    """A valid net-basis request whose VAT rounds differently per line and per rate (3 x 33.33
    and 1 x 0.01 at 23%); keyword arguments replace top-level fields."""
    lines = [
        {
            "name": "Energia czynna",
            "quantity": "3",
            "unit": "kWh",
            "unit_price": "33.33",
            "vat_rate": "23",
        },
        {"name": "Opłata handlowa", "quantity": "1", "unit_price": "0.01", "vat_rate": "23"},
    ]
    data = request_payload(**({"batch_id": "batch-1", "lines": lines} | overrides))
    return InvoiceRequested.model_validate(data)


def with_party(role: str, **fields: Any) -> InvoiceRequested:
    base = request().model_dump(mode="json")
    base[role] = base[role] | fields
    return InvoiceRequested.model_validate(base)


def lines(*specs: tuple[str, str, str]) -> list[dict[str, str]]:
    return [
        {"name": f"item {i}", "quantity": q, "unit_price": p, "vat_rate": r}
        for i, (q, p, r) in enumerate(specs)
    ]


def issued(req: InvoiceRequested) -> InvoiceIssued:
    result = issue(req)
    assert isinstance(result, InvoiceIssued), result
    return result


def rejected(req: InvoiceRequested) -> list[str]:
    result = issue(req)
    assert isinstance(result, Rejection), result
    assert result.reasons
    return result.reasons


# --- the happy path -------------------------------------------------------------------------


def test_issues_a_valid_request() -> None:
    inv = issued(request())
    assert inv.invoice_id == "inv-1" and inv.batch_id == "batch-1"
    assert inv.number == "FV/2025/01/0001"
    assert inv.issue_date == date(2025, 1, 31) and inv.sale_date == date(2025, 1, 31)
    assert inv.price_basis == "net" and inv.currency == "PLN"
    assert inv.seller.nip == SELLER_NIP and inv.buyer.nip is None
    assert inv.payment.due_date == date(2025, 2, 14)
    # 3 x 33.33 = 99.99 (VAT 22.9977 -> 23.00); 1 x 0.01 (VAT 0.00); per rate 100.00 -> 23.00
    assert [(ln.position, ln.net, ln.vat, ln.gross) for ln in inv.lines] == [
        (1, D("99.99"), D("23.00"), D("122.99")),
        (2, D("0.01"), D("0.00"), D("0.01")),
    ]
    assert inv.lines[0].name == "Energia czynna" and inv.lines[0].unit == "kWh"
    assert inv.lines[0].quantity == D("3") and inv.lines[0].unit_price == D("33.33")
    assert [(r.vat_rate, r.net, r.vat, r.gross) for r in inv.vat_summary] == [
        ("23", D("100.00"), D("23.00"), D("123.00"))
    ]
    assert (inv.totals.net, inv.totals.vat, inv.totals.gross) == (
        D("100.00"),
        D("23.00"),
        D("123.00"),
    )


def test_output_survives_a_json_round_trip() -> None:
    inv = issued(request())
    again = InvoiceIssued.model_validate(inv.model_dump(mode="json"))
    assert again == inv
    assert inv.model_dump(mode="json")["totals"] == {
        "net": "100.00",
        "vat": "23.00",
        "gross": "123.00",
    }


def test_binding_vat_is_per_rate_not_per_line() -> None:
    # Three lines of 1 x 33.33 @23% and one of 0.01: each line VAT 7.6659 -> 7.67 (sum 23.01),
    # but the invoice's VAT is 100.00 x 23% = 23.00, and the totals follow the summary.
    req = request(lines=lines(*[("1", "33.33", "23")] * 3, ("1", "0.01", "23")))
    inv = issued(req)
    assert sum(ln.vat for ln in inv.lines) == D("23.01")
    assert inv.vat_summary[0].vat == D("23.00")
    assert (inv.totals.net, inv.totals.vat, inv.totals.gross) == (
        D("100.00"),
        D("23.00"),
        D("123.00"),
    )


def test_gross_basis_receipt() -> None:
    # 2 x 4.99 @23%: gross 9.98, VAT 9.98*23/123 = 1.866 -> 1.87, net 8.11
    # 1 x 3.49 @5% : gross 3.49, VAT 3.49*5/105 = 0.166 -> 0.17, net 3.32
    req = request(
        price_basis="gross",
        lines=lines(("2", "4.99", "23"), ("1", "3.49", "5")),
        declared_totals={"net": "11.43", "vat": "2.04", "gross": "13.47"},
    )
    inv = issued(req)
    assert inv.price_basis == "gross"
    assert [(r.vat_rate, r.net, r.vat, r.gross) for r in inv.vat_summary] == [
        ("23", D("8.11"), D("1.87"), D("9.98")),
        ("5", D("3.32"), D("0.17"), D("3.49")),
    ]
    assert (inv.totals.net, inv.totals.vat, inv.totals.gross) == (
        D("11.43"),
        D("2.04"),
        D("13.47"),
    )


def test_mixed_rates_summary_order() -> None:
    req = request(
        lines=lines(
            ("1", "20.00", "np"),
            ("1.5", "9.99", "5"),
            ("1", "80.00", "zw"),
            ("2", "100.00", "23"),
            ("1", "50.00", "0"),
            ("3", "12.50", "8"),
        ),
        declared_totals={"net": "402.49", "vat": "49.75", "gross": "452.24"},
        exemption={"basis": "act", "text": "art. 43 ust. 1 pkt 10 ustawy o VAT"},
    )
    inv = issued(req)
    assert [r.vat_rate for r in inv.vat_summary] == ["23", "8", "5", "0", "zw", "np"]
    assert [ln.vat_rate for ln in inv.lines] == ["np", "5", "zw", "23", "0", "8"]
    assert [ln.position for ln in inv.lines] == [1, 2, 3, 4, 5, 6]


def test_zero_value_line_is_accepted_next_to_a_paid_one() -> None:
    inv = issued(request(lines=lines(("1", "0.00", "23"), ("2", "5.00", "23"))))
    assert (inv.lines[0].net, inv.lines[0].vat, inv.lines[0].gross) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )
    assert inv.totals.gross == D("12.30")


def test_parties_payment_and_notes_pass_through() -> None:
    req = request(notes="Okres rozliczeniowy 01.2025")
    inv = issued(req)
    assert inv.seller.name == req.seller.name and inv.seller.address == req.seller.address
    assert inv.buyer.email == "jan.kowalski@example.pl"
    assert inv.payment == req.payment
    assert inv.notes == "Okres rozliczeniowy 01.2025"


# --- NIP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("nip", VALID_NIPS)
def test_valid_nips_by_stdnum(nip: str) -> None:
    assert stdnum_nip.is_valid(nip)
    assert normalize_nip(nip) == nip


@pytest.mark.parametrize(
    "given",
    [
        "5260250274",
        "PL5260250274",
        "PL 5260250274",
        "526-025-02-74",
        "526 025 02 74",
        "pl526-025-02-74",
        "PL 526-025-02-74",
    ],
)
def test_seller_nip_is_normalised(given: str) -> None:
    inv = issued(with_party("seller", nip=given))
    assert inv.seller.nip == "5260250274"


def test_buyer_nip_is_normalised() -> None:
    inv = issued(with_party("buyer", nip="PL 774-000-14-54"))
    assert inv.buyer.nip == "7740001454"


@pytest.mark.parametrize("nip", ["1234567890", "5260250275"])
def test_invalid_nip_checksum(nip: str) -> None:
    assert rejected(with_party("seller", nip=nip)) == [f"seller.nip '{nip}' fails the NIP checksum"]
    assert rejected(with_party("buyer", nip=nip)) == [f"buyer.nip '{nip}' fails the NIP checksum"]


@pytest.mark.parametrize("nip", ["526025027", "52602502744", "DE123456789", "526O250274", "n/a"])
def test_nip_of_the_wrong_shape(nip: str) -> None:
    reasons = rejected(with_party("buyer", nip=nip))
    assert reasons == [
        f"buyer.nip '{nip}' is not a NIP: expected 10 digits, optionally with a 'PL' prefix, "
        "dashes or spaces"
    ]


def test_normalize_nip_raises_on_invalid() -> None:
    with pytest.raises(ValidationError):
        normalize_nip("1234567890")


def test_seller_nip_is_required() -> None:
    assert rejected(with_party("seller", nip=None)) == ["seller.nip is required"]


def test_buyer_without_nip_is_fine() -> None:
    assert issued(with_party("buyer", nip=None)).buyer.nip is None


# --- e-mail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["a@b.pl", "jan.kowalski+faktury@mail.example.com.pl", "ŁUKASZ@przykład.pl"]
)
def test_buyer_email_accepted(email: str) -> None:
    assert issued(with_party("buyer", email=email)).buyer.email == email


@pytest.mark.parametrize(
    "email",
    [
        "jan",
        "jan@",
        "@example.pl",
        "jan@example",
        "jan kowalski@example.pl",
        "jan@@example.pl",
        "jan@example..pl",
        "jan@.example.pl",
        "jan@example.pl.",
    ],
)
def test_buyer_email_rejected(email: str) -> None:
    assert rejected(with_party("buyer", email=email)) == [
        f"buyer.email '{email}' does not look like an e-mail address"
    ]


# --- lines ----------------------------------------------------------------------------------


def test_negative_quantity() -> None:
    req = request(lines=lines(("1", "10.00", "23"), ("1", "5.00", "8"), ("-2", "3.00", "23")))
    assert rejected(req) == ["lines[2].quantity must be greater than 0 (got -2)"]


def test_zero_quantity() -> None:
    req = request(lines=lines(("0", "10.00", "23")))
    assert rejected(req) == ["lines[0].quantity must be greater than 0 (got 0)"]


def test_negative_unit_price() -> None:
    req = request(lines=lines(("1", "10.00", "23"), ("1", "-0.01", "23")))
    assert rejected(req) == ["lines[1].unit_price must not be negative (got -0.01)"]


def test_all_lines_zero_is_rejected() -> None:
    req = request(lines=lines(("1", "0.00", "23"), ("0.001", "1.00", "8")))
    assert rejected(req) == [
        "lines must include at least one line with a non-zero amount "
        "(every line's net rounds to 0.00)"
    ]


def test_all_lines_zero_gross_basis() -> None:
    req = request(price_basis="gross", lines=lines(("2", "0.00", "5")))
    assert rejected(req) == [
        "lines must include at least one line with a non-zero amount "
        "(every line's gross rounds to 0.00)"
    ]


def test_amount_too_large() -> None:
    # 99999999.9999 x 9999.9999 = 999999989999.00 net, + 23% VAT: gross > 999999999999.99
    req = request(lines=lines(("99999999.9999", "9999.9999", "23")))
    assert rejected(req) == [
        "totals.gross 1229999987698.77 exceeds the largest amount an invoice can carry "
        f"({MAX_AMOUNT})"
    ]


# --- declared totals ------------------------------------------------------------------------


def test_declared_totals_that_match() -> None:
    req = request(declared_totals={"net": "100.00", "vat": "23.00", "gross": "123.00"})
    assert issued(req).totals.gross == D("123.00")
    # the same value with fewer decimal places is still equal
    req = request(declared_totals={"net": "100", "vat": "23.0", "gross": "123"})
    assert issued(req).totals.gross == D("123.00")


def test_declared_totals_off_by_one_grosz() -> None:
    # Per-line rounding would give VAT 23.01 and gross 123.01 (see the per-rate test); a
    # billing system that rounds per line is rejected by exactly that grosz.
    req = request(
        lines=lines(*[("1", "33.33", "23")] * 3, ("1", "0.01", "23")),
        declared_totals={"net": "100.00", "vat": "23.01", "gross": "123.01"},
    )
    assert rejected(req) == [
        "declared_totals.vat 23.01 does not match the lines' 23.00",
        "declared_totals.gross 123.01 does not match the lines' 123.00",
    ]


def test_declared_net_mismatch() -> None:
    req = request(declared_totals={"net": "99.99", "vat": "23.00", "gross": "123.00"})
    assert rejected(req) == ["declared_totals.net 99.99 does not match the lines' 100.00"]


def test_declared_totals_not_checked_when_a_line_is_invalid() -> None:
    req = request(
        lines=lines(("-1", "10.00", "23")),
        declared_totals={"net": "1.00", "vat": "0.23", "gross": "1.23"},
    )
    assert rejected(req) == ["lines[0].quantity must be greater than 0 (got -1)"]


# --- dates ----------------------------------------------------------------------------------


def test_due_date_before_issue_date() -> None:
    req = request(payment={"due_date": "2025-01-30"})
    assert rejected(req) == ["payment.due_date 2025-01-30 is before issue_date 2025-01-31"]


def test_due_date_on_issue_date_or_absent_is_fine() -> None:
    assert issued(request(payment={"due_date": "2025-01-31"}))
    assert issued(request(payment={"method": "gotówka"})).payment.due_date is None


def test_sale_date_before_issue_date_is_fine() -> None:
    # e.g. a utility billing period that ended before the invoice was issued
    assert issued(request(sale_date="2024-12-31")).sale_date == date(2024, 12, 31)
    assert issued(request(sale_date=None)).sale_date is None


def test_sale_date_up_to_60_days_after_issue() -> None:
    assert issued(request(sale_date="2025-04-01"))  # 31.01 + 60 days
    assert rejected(request(sale_date="2025-04-02")) == [
        "sale_date 2025-04-02 is more than 60 days after issue_date 2025-01-31"
    ]


def test_sale_date_bound_is_configurable() -> None:
    req = request(sale_date="2025-06-30")  # e.g. a utility's forecast invoice (art. 106i ust. 8)
    assert isinstance(issue(req), Rejection)
    assert isinstance(issue(req, max_sale_days_after_issue=None), InvoiceIssued)
    assert isinstance(issue(req, max_sale_days_after_issue=180), InvoiceIssued)
    assert isinstance(
        issue(request(sale_date="2025-02-01"), max_sale_days_after_issue=0), Rejection
    )


# --- currency and collecting every problem ---------------------------------------------------


def test_only_pln() -> None:
    req = request().model_copy(update={"currency": "EUR"})  # bypasses the schema's Literal
    assert rejected(req) == ["currency 'EUR' is not supported; only 'PLN' is"]


def test_every_problem_is_reported() -> None:
    base = request().model_dump(mode="json")
    base["seller"]["nip"] = "1234567890"
    base["buyer"] |= {"nip": "123", "email": "not-an-email"}
    base["payment"]["due_date"] = "2025-01-01"
    base["lines"] = lines(("-1", "10.00", "23"), ("1", "5.00", "8"), ("0", "-1.00", "zw"))
    reasons = rejected(InvoiceRequested.model_validate(base))
    assert reasons == [
        "seller.nip '1234567890' fails the NIP checksum",
        "buyer.nip '123' is not a NIP: expected 10 digits, optionally with a 'PL' prefix, "
        "dashes or spaces",
        "buyer.email 'not-an-email' does not look like an e-mail address",
        "payment.due_date 2025-01-01 is before issue_date 2025-01-31",
        "lines[2] is exempt (vat_rate 'zw'): exemption, the legal basis of the exemption, "
        "is required",
        "lines[0].quantity must be greater than 0 (got -1)",
        "lines[2].quantity must be greater than 0 (got 0)",
        "lines[2].unit_price must not be negative (got -1.00)",
    ]


def test_rejection_is_a_frozen_dataclass() -> None:
    rejection = Rejection(reasons=["x"])
    with pytest.raises(AttributeError):
        rejection.reasons = []  # type: ignore[misc]


# --- property-style: random valid requests ----------------------------------------------------


def _random_amount(rng: random.Random, max_units: int, places: int) -> str:
    return str(Decimal(rng.randint(0, max_units * 10**places)).scaleb(-places))


@pytest.mark.parametrize("seed", range(10))
def test_random_requests_issue_with_consistent_amounts(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        specs = [
            (
                _random_amount(rng, 100, rng.choice([0, 2, 4])),
                _random_amount(rng, rng.choice([1, 100, 10_000]), rng.choice([2, 4])),
                rng.choice(RATE_ORDER),
            )
            for _ in range(rng.randint(1, 30))
        ]
        specs = [(q if D(q) > 0 else "1", p, r) for q, p, r in specs]
        specs.append(("1", "0.01", rng.choice(RATE_ORDER)))  # never all zero
        exempt = any(rate == "zw" for _, _, rate in specs)
        req = request(
            price_basis=rng.choice(["net", "gross"]),
            lines=lines(*specs),
            exemption={"basis": "act", "text": "art. 43 ust. 1 pkt 10 ustawy"} if exempt else None,
        )

        inv = issued(req)
        t = inv.totals
        assert t.gross == t.net + t.vat
        assert t.net == sum(r.net for r in inv.vat_summary)
        assert t.vat == sum(r.vat for r in inv.vat_summary)
        assert t.gross == sum(r.gross for r in inv.vat_summary)
        for a in (t, *inv.vat_summary, *inv.lines):
            for value in (a.net, a.vat, a.gross):
                assert value.as_tuple().exponent == -2, value
        assert [r.vat_rate for r in inv.vat_summary] == [
            r for r in RATE_ORDER if r in {s[2] for s in specs}
        ]
        assert [ln.position for ln in inv.lines] == list(range(1, len(specs) + 1))

        # declaring the computed totals is accepted; one grosz off on any of them is not
        totals = {"net": t.net, "vat": t.vat, "gross": t.gross}
        assert isinstance(
            issue(request(**{**_fields(req), "declared_totals": totals})), InvoiceIssued
        )
        field = rng.choice(["net", "vat", "gross"])
        off = totals | {field: totals[field] + D("0.01")}
        reasons = rejected(request(**{**_fields(req), "declared_totals": off}))
        assert reasons == [
            f"declared_totals.{field} {off[field]} does not match the lines' {totals[field]}"
        ]


def _fields(req: InvoiceRequested) -> dict[str, Any]:
    return req.model_dump(mode="json")
