"""receipt-ingest: receipt.scanned -> a stored receipt, after checking its arithmetic."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from einvoice import events
from einvoice.bus import PermanentError
from receipt_ingest.handlers import Deps, check_totals, on_receipt_scanned
from tests.unit.fakes import TENANT, FakeReceipts


def receipt_payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "receipt_id": "rcp-1",
        "store_id": "S01",
        "till_id": "K3",
        "number": "000123",
        "issued_at": "2025-01-31T12:15:00+01:00",
        "lines": [
            {
                "name": "Chleb",
                "quantity": "2",
                "unit_gross": "4.49",
                "vat_rate": "5",
                "gross": "8.98",
            },
            {
                "name": "Ser żółty",
                "quantity": "0.355",
                "unit_gross": "39.90",
                "vat_rate": "5",
                "gross": "14.16",
            },  # 14.1645 -> 14.16
            {
                "name": "Baterie",
                "quantity": "1",
                "unit_gross": "19.99",
                "vat_rate": "23",
                "gross": "19.99",
            },
        ],
        "total_gross": "43.13",
        "code": "QR-7F3A",
    }
    data.update(overrides)
    return data


def scanned(payload: dict[str, Any] | None = None, event_id: str = "scan-1") -> events.Envelope:
    return events.Envelope(
        event_id=event_id,
        type=events.RECEIPT_SCANNED,
        schema_version=1,
        occurred_at="2025-01-31T11:15:01Z",
        tenant_id=TENANT,
        correlation_id="rcp-1",
        payload=receipt_payload() if payload is None else payload,
    )


def receipt(**overrides: Any) -> events.ReceiptScanned:
    return events.ReceiptScanned.model_validate(receipt_payload(**overrides))


def one_line(quantity: str, unit_gross: str, gross: str, total: str | None = None):
    line = {
        "name": "X",
        "quantity": quantity,
        "unit_gross": unit_gross,
        "vat_rate": "23",
        "gross": gross,
    }
    return receipt(lines=[line], total_gross=total or gross)


async def test_a_valid_receipt_is_saved_once() -> None:
    receipts = FakeReceipts()
    assert await on_receipt_scanned(scanned(), Deps(receipts)) == []
    assert await on_receipt_scanned(scanned(event_id="scan-2"), Deps(receipts)) == []
    assert receipts.calls == 2
    assert list(receipts.stored) == [f"{TENANT}/rcp-1"]
    stored = receipts.stored[f"{TENANT}/rcp-1"]
    assert stored["scanned_event_id"] == "scan-1"  # the first one wins
    assert stored["tenant_id"] == TENANT
    assert stored["receipt"]["total_gross"] == "43.13"
    assert [ln["gross"] for ln in stored["receipt"]["lines"]] == ["8.98", "14.16", "19.99"]


def test_check_totals_accepts_a_consistent_receipt() -> None:
    assert check_totals(receipt()) == []


async def test_a_total_that_is_not_the_sum_of_lines_is_a_permanent_error() -> None:
    receipts = FakeReceipts()
    with pytest.raises(PermanentError) as info:
        await on_receipt_scanned(scanned(receipt_payload(total_gross="43.14")), Deps(receipts))
    assert str(info.value) == "total_gross 43.14 != sum of lines 43.13"
    assert receipts.calls == 0


async def test_a_line_gross_that_is_not_quantity_times_price_is_reported() -> None:
    payload = receipt_payload()
    payload["lines"][0] = payload["lines"][0] | {"gross": "8.99"}
    payload["total_gross"] = "43.14"
    with pytest.raises(PermanentError) as info:
        await on_receipt_scanned(scanned(payload), Deps(FakeReceipts()))
    assert str(info.value) == "lines[0].gross 8.99 != quantity x unit_gross 8.98"


def test_every_problem_is_listed() -> None:
    r = one_line("3", "1.10", "3.40", total="9.99")
    assert check_totals(r) == [
        "lines[0].gross 3.40 != quantity x unit_gross 3.30",
        "total_gross 9.99 != sum of lines 3.40",
    ]


async def test_a_schema_error_is_a_permanent_error() -> None:
    payload = receipt_payload(lines=[])
    with pytest.raises(PermanentError, match=r"^invalid receipt: .*'loc': \('lines',\)"):
        await on_receipt_scanned(scanned(payload), Deps(FakeReceipts()))


def test_totals_compare_by_value_not_by_representation() -> None:
    assert check_totals(one_line("1", "5", "5.00")) == []
    assert receipt().total_gross == Decimal("43.13")


@pytest.mark.parametrize("gross", ["4.4", "4"])
def test_a_truncated_line_gross_is_reported(gross: str) -> None:
    assert check_totals(one_line("1", "4.44", gross)) != []


def test_half_a_grosz_rounds_up_like_the_rest_of_the_platform() -> None:
    assert check_totals(one_line("0.5", "2.25", "1.13")) == []
    assert check_totals(one_line("0.5", "2.25", "1.12")) != []
