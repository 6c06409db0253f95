"""receipt-ingest: receipt.scanned -> a stored receipt, after checking its arithmetic."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from einvoice import events
from einvoice.bus import PermanentError
from einvoice.receipts import code_sha256
from receipt_ingest.handlers import Deps, check_totals, on_receipt_scanned
from tests.support.builders import TENANT

CODE = "7F3A-9KQ2-XM4D-0B1C"


@dataclass
class MemoryReceipts:
    """Like MongoReceipts: unique `_id`, and a code unique per chain."""

    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: int = 0

    async def save_once(self, record: dict[str, Any]) -> dict[str, Any] | None:
        self.calls += 1
        for doc in self.stored.values():
            if doc["_id"] == record["_id"]:
                return copy.deepcopy(doc)
        for doc in self.stored.values():
            if (doc["tenant_id"], doc["code"]) == (record["tenant_id"], record["code"]):
                return copy.deepcopy(doc)
        self.stored[record["_id"]] = copy.deepcopy(record)
        return None


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
                "vat_rate": "C",
                "gross": "8.98",
            },
            {
                "name": "Ser żółty",
                "quantity": "0.355",
                "unit": "kg",
                "unit_gross": "39.90",
                "vat_rate": "C",
                "gross": "14.16",
            },  # 14.1645 -> 14.16
            {
                "name": "Baterie",
                "quantity": "1",
                "unit_gross": "19.99",
                "vat_rate": "A",
                "gross": "19.99",
            },
        ],
        "totals": [{"vat_rate": "A", "gross": "19.99"}, {"vat_rate": "C", "gross": "23.14"}],
        "total_gross": "43.13",
        "payment_method": "karta",
        "code": CODE,
    }
    data.update(overrides)
    return data


def scanned(
    payload: dict[str, Any] | None = None, event_id: str = "scan-1", tenant: str = TENANT
) -> events.Envelope:
    return events.Envelope(
        event_id=event_id,
        type=events.RECEIPT_SCANNED,
        schema_version=1,
        occurred_at="2025-01-31T11:15:01Z",
        tenant_id=tenant,
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
    totals = [{"vat_rate": "23", "gross": gross}]
    return receipt(lines=[line], totals=totals, total_gross=total or gross)


async def rejected(payload: dict[str, Any], receipts: MemoryReceipts | None = None) -> str:
    with pytest.raises(PermanentError) as info:
        await on_receipt_scanned(scanned(payload), Deps(receipts or MemoryReceipts()))
    return str(info.value)


# --- storing -------------------------------------------------------------------------------


async def test_a_valid_receipt_is_saved_once() -> None:
    receipts = MemoryReceipts()
    assert await on_receipt_scanned(scanned(), Deps(receipts)) == []
    assert await on_receipt_scanned(scanned(event_id="scan-2"), Deps(receipts)) == []
    assert receipts.calls == 2
    assert list(receipts.stored) == [f"{TENANT}/rcp-1"]
    stored = receipts.stored[f"{TENANT}/rcp-1"]
    assert stored["scanned_event_id"] == "scan-1"  # the first one wins
    assert stored["tenant_id"] == TENANT
    assert stored["receipt"]["total_gross"] == "43.13"
    assert [ln["gross"] for ln in stored["receipt"]["lines"]] == ["8.98", "14.16", "19.99"]


async def test_the_stored_receipt_is_ready_to_be_claimed() -> None:
    receipts = MemoryReceipts()
    await on_receipt_scanned(scanned(), Deps(receipts))
    stored = receipts.stored[f"{TENANT}/rcp-1"]
    assert stored["code"] == "7F3A9KQ2XM4D0B1C"  # dashes gone, as the schema stores it
    assert stored["code_sha256"] == code_sha256("7f3a 9kq2 xm4d 0b1c")
    assert stored["invoiced"] == ["0", "0", "0"]
    assert stored["claimed_by"] is None
    assert stored["version"] == 0
    assert (stored["store_id"], stored["till_id"], stored["number"]) == ("S01", "K3", "000123")
    assert stored["receipt"]["lines"][0]["vat_rate"] == "5"  # PTU letter C
    assert stored["receipt"]["totals"] == [
        {"vat_rate": "23", "gross": "19.99"},
        {"vat_rate": "5", "gross": "23.14"},
    ]


async def test_the_buyer_nip_is_stored_as_its_ten_digits() -> None:
    receipts = MemoryReceipts()
    await on_receipt_scanned(scanned(receipt_payload(buyer_nip="PL 526-025-02-74")), Deps(receipts))
    assert receipts.stored[f"{TENANT}/rcp-1"]["buyer_nip"] == "5260250274"


async def test_an_invalid_buyer_nip_is_a_permanent_error() -> None:
    reason = await rejected(receipt_payload(buyer_nip="5260250275"))
    assert reason == "buyer_nip '5260250275' is not a valid NIP"


async def test_an_issue_time_in_the_future_is_a_permanent_error() -> None:
    reason = await rejected(receipt_payload(issued_at="2999-01-01T12:00:00+01:00"))
    assert "is in the future" in reason


@pytest.mark.parametrize("receipt_id", ["../../other-chain/rcp-1", "a/b", ".rcp"])
async def test_an_unsafe_receipt_id_is_a_permanent_error(receipt_id: str) -> None:
    reason = await rejected(receipt_payload(receipt_id=receipt_id))
    assert reason.startswith("receipt_id must be 1-128 letters")


async def test_the_same_receipt_written_differently_is_still_the_same_receipt() -> None:
    receipts = MemoryReceipts()
    await on_receipt_scanned(scanned(), Deps(receipts))
    again = receipt_payload(issued_at="2025-01-31T11:15:00Z", total_gross="43.130")
    assert await on_receipt_scanned(scanned(again, event_id="scan-2"), Deps(receipts)) == []
    assert len(receipts.stored) == 1


async def test_a_receipt_id_repeated_with_other_content_is_dead_lettered() -> None:
    receipts = MemoryReceipts()
    await on_receipt_scanned(scanned(), Deps(receipts))
    other = receipt_payload(payment_method="gotówka")
    reason = await rejected(other, receipts)
    assert reason == "receipt rcp-1 is already stored with different content"
    assert receipts.stored[f"{TENANT}/rcp-1"]["receipt"]["payment_method"] == "karta"


async def test_a_different_receipt_reusing_a_code_is_dead_lettered() -> None:
    receipts = MemoryReceipts()
    await on_receipt_scanned(scanned(), Deps(receipts))
    reason = await rejected(receipt_payload(receipt_id="rcp-2", number="000124"), receipts)
    assert reason == "receipt rcp-2: its code is already used by receipt rcp-1"
    assert list(receipts.stored) == [f"{TENANT}/rcp-1"]


async def test_the_same_code_in_another_chain_is_fine() -> None:
    receipts = MemoryReceipts()
    await on_receipt_scanned(scanned(), Deps(receipts))
    await on_receipt_scanned(scanned(tenant="other-chain", event_id="scan-9"), Deps(receipts))
    assert sorted(receipts.stored) == sorted([f"{TENANT}/rcp-1", "other-chain/rcp-1"])


async def test_a_schema_error_is_a_permanent_error() -> None:
    payload = receipt_payload(lines=[])
    with pytest.raises(PermanentError, match=r"^invalid receipt: lines: List should have at le"):
        await on_receipt_scanned(scanned(payload), Deps(MemoryReceipts()))


async def test_a_receipt_without_totals_per_rate_breaks_the_schema() -> None:
    payload = receipt_payload()
    del payload["totals"]
    with pytest.raises(PermanentError, match=r"^invalid receipt: totals: Field required"):
        await on_receipt_scanned(scanned(payload), Deps(MemoryReceipts()))


# --- arithmetic ----------------------------------------------------------------------------


def test_check_totals_accepts_a_consistent_receipt() -> None:
    assert check_totals(receipt()) == []


async def test_a_total_that_is_not_the_sum_of_lines_is_a_permanent_error() -> None:
    receipts = MemoryReceipts()
    reason = await rejected(receipt_payload(total_gross="43.14"), receipts)
    assert reason == "total_gross 43.14 != sum of lines 43.13"
    assert receipts.calls == 0


async def test_a_line_gross_that_is_not_quantity_times_price_is_reported() -> None:
    payload = receipt_payload()
    payload["lines"][0] = payload["lines"][0] | {"gross": "8.99"}
    payload["totals"][1] = {"vat_rate": "C", "gross": "23.15"}
    payload["total_gross"] = "43.14"
    assert await rejected(payload) == "lines[0].gross 8.99 != quantity x unit_gross 8.98"


async def test_a_rate_total_that_is_not_the_sum_of_its_lines_is_reported() -> None:
    payload = receipt_payload(
        totals=[{"vat_rate": "A", "gross": "20.00"}, {"vat_rate": "C", "gross": "23.13"}]
    )
    assert await rejected(payload) == (
        "totals for rate 23% 20.00 != sum of its lines 19.99; "
        "totals for rate 5% 23.13 != sum of its lines 23.14"
    )


def test_a_rate_missing_from_the_totals_is_reported() -> None:
    r = receipt(totals=[{"vat_rate": "C", "gross": "23.14"}])
    assert check_totals(r) == ["totals lack rate 23% (its lines sum to 19.99)"]


def test_a_rate_no_line_has_is_reported() -> None:
    totals = [
        {"vat_rate": "23%", "gross": "19.99"},
        {"vat_rate": "5", "gross": "23.14"},
        {"vat_rate": "B", "gross": "0.00"},
    ]
    assert check_totals(receipt(totals=totals)) == ["totals list rate 8% (0.00) but no line has it"]


def test_a_rate_listed_twice_is_reported() -> None:
    totals = [
        {"vat_rate": "A", "gross": "19.99"},
        {"vat_rate": "C", "gross": "23.14"},
        {"vat_rate": "5", "gross": "23.14"},
    ]
    assert check_totals(receipt(totals=totals)) == ["totals list rate 5% twice"]


def test_ptu_letters_and_rates_mean_the_same_in_lines_and_totals() -> None:
    totals = [{"vat_rate": "23", "gross": "19.99"}, {"vat_rate": "c", "gross": "23.14"}]
    assert check_totals(receipt(totals=totals)) == []


def test_every_problem_is_listed() -> None:
    r = one_line("3", "1.10", "3.40", total="9.99")
    assert check_totals(r) == [
        "lines[0].gross 3.40 != quantity x unit_gross 3.30",
        "total_gross 9.99 != sum of lines 3.40",
    ]


def test_totals_compare_by_value_not_by_representation() -> None:
    assert check_totals(one_line("1", "5", "5.00")) == []
    assert receipt().total_gross == Decimal("43.13")


@pytest.mark.parametrize("gross", ["4.4", "4"])
def test_a_truncated_line_gross_is_reported(gross: str) -> None:
    assert check_totals(one_line("1", "4.44", gross)) != []


def test_half_a_grosz_rounds_up_like_the_rest_of_the_platform() -> None:
    assert check_totals(one_line("0.5", "2.25", "1.13")) == []
    assert check_totals(one_line("0.5", "2.25", "1.12")) != []
    assert check_totals(one_line("0.535", "12.99", "6.95")) == []  # 6.94965
    assert check_totals(one_line("0.125", "0.20", "0.03")) == []  # 0.025 -> up, not to even
