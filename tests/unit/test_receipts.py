"""einvoice.receipts: receipt ids, codes and QR codes, the intake function shared by the
gateway and the CLI, the read model's view; the demo till's receipts; POS keys."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from einvoice import events
from einvoice.readmodels.receipts import find_receipt_by_code, receipt_view
from einvoice.receipts import (
    CROCKFORD,
    code_sha256,
    format_code,
    new_receipt_code,
    normalise_code,
    normalise_nip,
    receipt_event,
    receipt_id_for,
    receipt_key,
)
from einvoice.tenants import TenantDirectory, hash_api_key
from einvoice_tools import demo
from einvoice_tools.receiptqr import qr_png
from receipt_ingest.handlers import check_totals, receipt_record
from tests.support.mongo import FakeClient, FakeCollection

CHAIN = "zielony-koszyk"
WHEN = datetime(2025, 1, 31, 12, 15, 7, tzinfo=timezone(timedelta(hours=1)))


def till_receipt(**overrides: Any) -> dict[str, Any]:
    data = demo.demo_receipt(random.Random(5), lines=5, issued_at=WHEN, code="ABCD-EFGH-JKMN-PQRS")
    data.update(overrides)
    return data


# --- ids and codes ------------------------------------------------------------------------


def test_a_receipt_id_is_stable_and_depends_on_every_part() -> None:
    rid = receipt_id_for(CHAIN, "S001", "K01", "000123", WHEN)
    assert rid == receipt_id_for(CHAIN, "S001", "K01", "000123", WHEN.astimezone(UTC))
    others = {
        receipt_id_for("other", "S001", "K01", "000123", WHEN),
        receipt_id_for(CHAIN, "S002", "K01", "000123", WHEN),
        receipt_id_for(CHAIN, "S001", "K02", "000123", WHEN),
        receipt_id_for(CHAIN, "S001", "K01", "000124", WHEN),
        receipt_id_for(CHAIN, "S001", "K01", "000123", WHEN + timedelta(seconds=1)),
    }
    assert rid not in others and len(others) == 5


def test_a_naive_issue_time_counts_as_utc() -> None:
    naive = WHEN.astimezone(UTC).replace(tzinfo=None)
    assert receipt_id_for(CHAIN, "S1", "K1", "1", naive) == receipt_id_for(
        CHAIN, "S1", "K1", "1", WHEN
    )


def test_receipt_codes_are_80_random_bits_of_crockford_base32_in_groups_of_four() -> None:
    codes = {new_receipt_code() for _ in range(2000)}
    assert len(codes) == 2000
    pattern = re.compile(rf"^[{CROCKFORD}]{{4}}(-[{CROCKFORD}]{{4}}){{3}}$")
    assert all(pattern.match(code) for code in codes)
    used = {char for code in codes for char in normalise_code(code)}
    assert used == set(CROCKFORD)  # every symbol shows up, none outside the alphabet


def test_a_code_is_accepted_by_the_schema_however_it_is_typed() -> None:
    code = new_receipt_code()
    typed = code.lower().replace("-", " ")
    receipt = events.ReceiptScanned.model_validate(till_receipt(code=typed) | {"receipt_id": "r-1"})
    assert receipt.code == normalise_code(code) == normalise_code(typed)
    assert format_code(receipt.code) == code
    assert code_sha256(typed) == code_sha256(code)


def test_the_qr_code_is_a_png() -> None:
    png = qr_png("ABCD-EFGH-JKMN-PQRS")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == qr_png("abcdefghjkmnpqrs")  # what is encoded is the normalised code
    assert png != qr_png("ABCD-EFGH-JKMN-PQRT")


# --- intake -------------------------------------------------------------------------------


def test_a_till_receipt_becomes_a_receipt_scanned_event() -> None:
    env, errors = receipt_event(CHAIN, till_receipt())
    assert errors == []
    assert env is not None
    rid = receipt_id_for(CHAIN, "S001", "K01", env.payload["number"], WHEN)
    assert (env.type, env.tenant_id, env.correlation_id) == (events.RECEIPT_SCANNED, CHAIN, rid)
    assert env.payload["receipt_id"] == rid
    assert env.payload["code"] == "ABCDEFGHJKMNPQRS"
    assert {line["vat_rate"] for line in env.payload["lines"]} == {"23", "8", "5"}
    assert {t["vat_rate"] for t in env.payload["totals"]} == {"23", "8", "5"}


def test_the_receipt_id_may_be_given_only_with_its_derived_value() -> None:
    env, _ = receipt_event(CHAIN, till_receipt())
    rid = env.payload["receipt_id"]
    again, errors = receipt_event(CHAIN, till_receipt(receipt_id=rid))
    assert errors == [] and again.payload["receipt_id"] == rid
    _, errors = receipt_event(CHAIN, till_receipt(receipt_id="my-own-id"))
    assert errors == [f"receipt_id: must be {rid} (derived by the platform) or absent"]


def test_schema_errors_name_their_fields() -> None:
    bad = till_receipt()
    bad["lines"][1]["quantity"] = "-1"
    del bad["store_id"]
    bad["code"] = "SHORT"
    env, errors = receipt_event(CHAIN, bad)
    assert env is None
    assert [e.split(":")[0] for e in errors] == ["store_id", "lines.1.quantity", "code"]


@pytest.mark.parametrize("value", [[], "receipt", 3, None])
def test_a_receipt_must_be_an_object(value: Any) -> None:
    assert receipt_event(CHAIN, value) == (None, ["a receipt must be a JSON object"])


def test_an_issue_time_without_offset_is_refused() -> None:
    _, errors = receipt_event(CHAIN, till_receipt(issued_at="2025-01-31T12:15:07"))
    assert errors == ["issued_at: needs a UTC offset, e.g. 2025-01-31T12:15:00+01:00"]


def test_an_issue_time_in_the_future_or_before_2000_is_refused() -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    _, errors = receipt_event(CHAIN, till_receipt(issued_at=ahead))
    assert len(errors) == 1 and "is in the future" in errors[0]
    _, errors = receipt_event(CHAIN, till_receipt(issued_at="1999-12-31T23:00:00+00:00"))
    assert errors == ["issued_at: 1999-12-31T23:00:00+00:00 is before 2000"]
    slightly = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()  # a fast clock is fine
    assert receipt_event(CHAIN, till_receipt(issued_at=slightly))[1] == []


def test_the_buyer_nip_is_checked_and_normalised() -> None:
    env, errors = receipt_event(CHAIN, till_receipt(buyer_nip="PL 526-025-02-74"))
    assert errors == [] and env.payload["buyer_nip"] == "5260250274"
    _, errors = receipt_event(CHAIN, till_receipt(buyer_nip="1234567890"))
    assert errors == ["buyer_nip: '1234567890' is not a valid NIP"]


def test_arithmetic_is_left_to_receipt_ingest() -> None:
    env, errors = receipt_event(CHAIN, till_receipt(total_gross="0.01"))
    assert errors == [] and env is not None


def test_an_oversize_receipt_is_refused() -> None:
    line = {"name": "Ż" * 500, "quantity": "1", "unit_gross": "1.00", "vat_rate": "A"}
    lines = [line | {"gross": "1.00"} for _ in range(400)]
    big = till_receipt(lines=lines, totals=[{"vat_rate": "A", "gross": "400.00"}])
    env, errors = receipt_event(CHAIN, big | {"total_gross": "400.00"})
    assert env is None
    assert re.fullmatch(r"<root>: the receipt takes \d+ bytes, over 262144", errors[0])


# --- the demo till ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_demo_receipts_are_valid_and_add_up(seed: int) -> None:
    env, errors = receipt_event(CHAIN, demo.demo_receipt(random.Random(seed), lines=8))
    assert errors == []
    receipt = events.parse_payload(env, events.ReceiptScanned)
    assert check_totals(receipt) == []
    assert {line.vat_rate for line in receipt.lines} >= {"23", "8", "5"}


def test_demo_receipts_weigh_goods_and_speak_polish() -> None:
    lines = [
        line
        for seed in range(10)
        for line in demo.demo_receipt(random.Random(seed), lines=10)["lines"]
    ]
    weighed = [line for line in lines if line["unit"] == "kg"]
    assert weighed and any(len(line["quantity"].partition(".")[2]) == 3 for line in weighed)
    assert any(set(line["name"]) & set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ") for line in lines)


def test_a_demo_receipt_has_the_lines_asked_for() -> None:
    assert len(demo.demo_receipt(random.Random(1), lines=1)["lines"]) == 1
    with pytest.raises(ValueError):
        demo.demo_receipt(random.Random(1), lines=0)


def test_the_demo_chain_is_a_retail_tenant_with_two_pos_keys() -> None:
    chain = demo.demo_chain("a" * 64, "b" * 64)
    assert chain.kind == "retail" and chain.seller is not None
    assert normalise_nip(chain.seller.nip) == "7272445205"
    assert [(k.sha256, k.store_id) for k in chain.pos_keys] == [
        ("a" * 64, None),
        ("b" * 64, demo.DEMO_STORE),
    ]
    assert chain.accounting_email


# --- POS keys -----------------------------------------------------------------------------


def config_record(config: events.TenantConfig) -> bytes:
    env = events.envelope(
        events.TENANT_CONFIG, config, tenant_id=config.tenant_id, correlation_id="t"
    )
    return env.model_dump_json().encode()


def test_the_directory_finds_a_chain_and_its_key_by_pos_key() -> None:
    directory = TenantDirectory("unused:9092")
    chain = demo.demo_chain(hash_api_key("chain-key"), hash_api_key("store-key"))
    directory.apply(chain.tenant_id, config_record(chain))
    tenant, key = directory.by_pos_key("store-key")
    assert (tenant.tenant_id, key.store_id) == (demo.DEMO_CHAIN, demo.DEMO_STORE)
    assert directory.by_pos_key("chain-key")[1].store_id is None
    assert directory.by_pos_key("nope") is None
    assert directory.by_api_key("chain-key") is None  # a POS key is no billing API key
    directory.apply(chain.tenant_id, None)
    assert directory.by_pos_key("chain-key") is None


# --- the read model -----------------------------------------------------------------------


def stored_receipt(invoiced: list[str]) -> dict[str, Any]:
    env, _ = receipt_event(CHAIN, till_receipt())
    record = receipt_record(env, events.parse_payload(env, events.ReceiptScanned))
    record["invoiced"] = invoiced
    return record


def test_the_view_shows_each_line_with_what_remains() -> None:
    record = stored_receipt(["0", "1", "0", "0", "0"])
    record["invoiced"][0] = record["receipt"]["lines"][0]["quantity"]
    view = receipt_view(record)
    assert view["chain_id"] == CHAIN and view["claimed_by"] is None
    assert "code" not in view and "code_sha256" not in view
    first, second = view["lines"][0], view["lines"][1]
    assert Decimal(first["remaining"]) == 0
    assert Decimal(second["remaining"]) == Decimal(second["quantity"]) - 1
    assert [line["index"] for line in view["lines"]] == [0, 1, 2, 3, 4]


def client_with(receipts: FakeCollection) -> FakeClient:
    """A client whose receipt-ingest database holds `receipts`, as receipts_collection reads it."""
    client = FakeClient()
    client["einvoice_receipt_ingest"]["receipts"] = receipts
    return client


async def test_a_receipt_is_found_by_its_code_however_it_is_typed() -> None:
    record = stored_receipt(["0"] * 5)
    collection = FakeCollection([record])
    client = client_with(collection)
    found = await find_receipt_by_code(client, CHAIN, "abcd efgh jkmn pqrs")
    assert found["receipt_id"] == record["receipt_id"]
    assert collection.queries == [{"code_sha256": record["code_sha256"], "tenant_id": CHAIN}]
    assert await find_receipt_by_code(client, None, "ABCD-EFGH-JKMN-PQRS") is not None
    assert await find_receipt_by_code(client, "other-chain", "ABCD-EFGH-JKMN-PQRS") is None
    assert await find_receipt_by_code(client, CHAIN, "ABCD-EFGH-JKMN-PQRT") is None
    assert await find_receipt_by_code(client, CHAIN, "short") is None


async def test_crockford_look_alikes_are_forgiven() -> None:
    record = stored_receipt(["0"] * 5)
    record["code"] = "10AB10AB10AB10AB"
    record["code_sha256"] = code_sha256(record["code"])
    client = client_with(FakeCollection([record]))
    assert await find_receipt_by_code(client, CHAIN, "IOAB-LOAB-10AB-1OAB") is not None


async def test_a_code_found_in_two_chains_needs_the_chain() -> None:
    one, two = stored_receipt(["0"] * 5), stored_receipt(["0"] * 5)
    two["tenant_id"] = "other-chain"
    two["_id"] = receipt_key("other-chain", two["receipt_id"])
    client = client_with(FakeCollection([one, two]))
    assert await find_receipt_by_code(client, None, "ABCD-EFGH-JKMN-PQRS") is None
    assert (await find_receipt_by_code(client, "other-chain", "ABCDEFGHJKMNPQRS"))[
        "chain_id"
    ] == "other-chain"
