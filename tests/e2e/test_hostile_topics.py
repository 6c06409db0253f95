"""Hostile and broken records produced straight to the topics that accept outside data (a
billing system may produce to `invoice.requested`, docs/events.md; a till vendor to
`receipt.scanned`, docs/pos.md): every one ends with a clear reason, as a dead letter in
`<topic>.dlq` or as a rejection in the batch status, or, when it is valid data, delivered
(or stored) intact. Kafka itself refuses a 10 MB record. Afterwards
every service is up and a good record is delivered."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError

from einvoice import events
from einvoice.bus import make_producer
from einvoice.mongo import mongo_client
from einvoice.readmodels import tracking
from einvoice.readmodels.receipts import find_receipt_by_code
from einvoice.receipts import receipt_event
from einvoice.settings import Settings
from einvoice_tools import demo, dlq
from einvoice_tools.demo import demo_invoices
from gateway.api.batch_events import batch_events
from tests.support import LAUNCHER_SCRIPT, PYTHON, ROOT, eventually
from tests.support.parties import Chain, Tenant

pytestmark = [pytest.mark.e2e]

TOPIC = events.INVOICE_REQUESTED
Record = dict[str, Any]  # the envelope as JSON, changed by a case


def _payload(path: str, value: Any) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        *parents, last = path.split(".")
        target: Any = record["payload"]
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return change


def _envelope(field: str, value: Any) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        if value is None:
            del record[field]
        else:
            record[field] = value

    return change


# name -> (change to the record, or raw bytes, expected outcome, a phrase of the reason)
# outcome: "dlq" (dead letter with the reason), "rejected" (failed in the batch status with
# the reason), "delivered" (mailed, intact).
CATALOGUE: dict[str, tuple[Callable[[Record], None] | bytes, str, str]] = {
    "malformed JSON": (b'{"type": "invoice.requested", ', "dlq", "not JSON"),
    "not UTF-8": (b"\xff\xfe\x00junk", "dlq", "not JSON"),
    "unknown event type": (_envelope("type", "invoice.exploded"), "dlq", "does not belong"),
    "unknown schema version": (_envelope("schema_version", 99), "dlq", "unknown schema_version"),
    "envelope field missing": (_envelope("tenant_id", None), "dlq", "tenant_id"),
    "extra envelope field": (_envelope("colour", "red"), "dlq", "colour"),
    "wrong type in the envelope": (_envelope("occurred_at", [1, 2]), "dlq", "occurred_at"),
    "300 KB record": (_payload("notes", "x" * 300_000), "dlq", "exceeds"),
    "invoice_id as a MongoDB operator": (
        _payload("invoice_id", {"$ne": None}),
        "dlq",
        "invoice_id",
    ),
    "path traversal in invoice_id": (
        _payload("invoice_id", "../../../other-tenant/2026/11/x"),
        "dlq",
        "invoice_id",
    ),
    "number as a MongoDB operator": (_payload("number", {"$gt": ""}), "rejected", "number"),
    "lines of the wrong type": (_payload("lines", "three lines"), "rejected", "lines"),
    "extra payload field": (_payload("colour", "red"), "rejected", "colour"),
    "invalid NIP checksum": (_payload("seller.nip", "1234567890"), "rejected", "NIP"),
    "negative quantity": (_payload("lines.0.quantity", "-1"), "rejected", "quantity"),
    "non-numeric price": (_payload("lines.0.unit_price", "12,5zł"), "rejected", "unit_price"),
    "declared totals that do not add up": (
        _payload("declared_totals", {"net": "1.00", "vat": "0.23", "gross": "1.23"}),
        "rejected",
        "",
    ),
    "issue date in 1900": (_payload("issue_date", "1900-01-01"), "rejected", "issue_date"),
    "issue date in 2999": (_payload("issue_date", "2999-01-01"), "rejected", "issue_date"),
    "Unicode edge cases in the name": (
        _payload("buyer.name", "Zoë A\u0301 \u200bzero\u200d \u202eעברית\u202c 😀👩‍👩‍👧"),
        "delivered",
        "",
    ),
    "HTML and script in the name": (
        _payload("buyer.name", "<script>x()</script>"),
        "delivered",
        "",
    ),
    "10,000-character name": (_payload("buyer.name", "Ż" * 10_000), "rejected", "name"),
}


async def _outcome(client, tenant: Tenant, invoice_id: str, key: str) -> tuple[str, str] | None:
    letters = await dlq.dead_letters(client["bootstrap"], [events.dlq_topic(TOPIC)])
    for letter in letters:
        if letter.key == key:
            return "dlq", letter.reason
    delivery = await tracking.delivery(client["mongo"], tenant.tenant_id, invoice_id)
    if delivery:
        stage = tracking.stage_of(delivery)
        if stage == "failed":
            return "rejected", "; ".join(tracking.failure_of(delivery)[1])
        if stage in ("mailed", "opened"):
            return "delivered", ""
    return None


async def test_every_hostile_record_on_a_topic_ends_with_a_reason_or_intact(
    tenant: Tenant, stack: dict[str, str]
) -> None:
    bootstrap = stack["kafka_bootstrap"]
    batch_id = f"hostile-topic-{uuid.uuid4().hex[:6]}"
    base = demo_invoices(1, seed=68, email_domain=f"topic.{tenant.email_domain}")[0]
    cases: dict[str, tuple[str, str, bytes]] = {}  # name -> (key, invoice id, value)
    for n, (name, (change, _, _)) in enumerate(CATALOGUE.items()):
        invoice = base | {"number": f"TOPIC/{uuid.uuid4().hex[:6]}/{n}"}
        [envelope], _ = batch_events(tenant.tenant_id, batch_id, [invoice])
        invoice_id = envelope.payload["invoice_id"]
        if isinstance(change, bytes):
            value = change
        else:
            record = json.loads(envelope.model_dump_json())
            change(record)
            value = json.dumps(record).encode()
        cases[name] = (invoice_id, invoice_id, value)
    good_invoice = base | {"number": f"TOPIC/{uuid.uuid4().hex[:6]}/good"}
    [good] = batch_events(tenant.tenant_id, batch_id, [good_invoice])[0]

    producer = make_producer(bootstrap, "tests-hostile")
    await producer.start()
    try:
        for key, _, value in cases.values():
            await producer.send_and_wait(TOPIC, value, key=key.encode())
        with pytest.raises(MessageSizeTooLargeError):  # refused before it reaches the broker
            await producer.send_and_wait(TOPIC, b"x" * 10 * 1024 * 1024, key=b"ten-mb")
        await producer.send_and_wait(
            TOPIC, good.model_dump_json().encode(), key=good.payload["invoice_id"].encode()
        )
    finally:
        await producer.stop()

    mongo = mongo_client(Settings(**stack))
    clients = {"bootstrap": bootstrap, "mongo": mongo}
    try:

        async def all_decided() -> dict | None:
            found = {
                name: await _outcome(clients, tenant, invoice_id, key)
                for name, (key, invoice_id, _) in cases.items()
            }
            return found if all(found.values()) else None

        seen = await eventually(all_decided, timeout=180, interval=1, what="every hostile record")
        good_outcome = await eventually(
            lambda: _outcome(clients, tenant, good.payload["invoice_id"], "-"),
            timeout=120,
            what="the good record after them",
        )
    finally:
        await mongo.close()
    status = await asyncio.to_thread(
        subprocess.run,
        [str(PYTHON), str(LAUNCHER_SCRIPT), "status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    lines = [f"{name:38} {outcome:9} {reason[:110]}" for name, (outcome, reason) in seen.items()]
    lines.append(f"{'10 MB record':38} {'refused':9} by the Kafka producer: MessageSizeTooLarge")
    print(f"\nhostile records on {TOPIC}: {len(seen) + 1} tried\n" + "\n".join(lines))
    for name, (_, expected, phrase) in CATALOGUE.items():
        outcome, reason = seen[name]
        assert outcome == expected, (name, outcome, reason)
        assert expected == "delivered" or reason, (name, "no reason given")
        assert phrase.lower() in reason.lower(), (name, reason)
    assert good_outcome == ("delivered", "")
    assert " down " not in status.stdout, status.stdout


# receipt.scanned: a till vendor may produce straight to it (docs/pos.md, path 2). A receipt
# is either stored (then a shopper can find it by its code) or dead-lettered with the reason.
RECEIPTS: dict[str, tuple[Callable[[Record], None] | bytes, str, str]] = {
    "malformed JSON": (b'{"type": "receipt.scanned", ', "dlq", "not JSON"),
    "unknown event type": (_envelope("type", "receipt.burned"), "dlq", "does not belong"),
    "unknown schema version": (_envelope("schema_version", 99), "dlq", "unknown schema_version"),
    "extra envelope field": (_envelope("colour", "red"), "dlq", "colour"),
    "300 KB record": (_payload("payment_method", "x" * 300_000), "dlq", "exceeds"),
    "extra payload field": (_payload("colour", "red"), "dlq", "colour"),
    "code as a MongoDB operator": (_payload("code", {"$gt": ""}), "dlq", "code"),
    "line gross that does not add up": (_payload("lines.0.gross", "999.99"), "dlq", "gross"),
    "total that does not add up": (_payload("total_gross", "0.01"), "dlq", "total_gross"),
    "negative quantity": (_payload("lines.0.quantity", "-1"), "dlq", "quantity"),
    "non-numeric price": (_payload("lines.0.unit_gross", "4,99 zł"), "dlq", "unit_gross"),
    "invalid buyer NIP": (_payload("buyer_nip", "1234567890"), "dlq", "NIP"),
    "issued in 2999": (_payload("issued_at", "2999-01-01T12:00:00Z"), "dlq", "future"),
    "issued in 1900": (_payload("issued_at", "1900-01-01T12:00:00Z"), "dlq", "before 2000"),
    "path traversal in receipt_id": (_payload("receipt_id", "../../other/x"), "dlq", "receipt_id"),
    "10,000-character line name": (_payload("lines.0.name", "Ż" * 10_000), "dlq", "name"),
    "Unicode edge cases in a line name": (
        _payload("lines.0.name", "Zoë A\u0301 \u200b \u202eעברית\u202c 😀"),
        "stored",
        "",
    ),
    "HTML and script in a line name": (
        _payload("lines.0.name", "<script>x()</script>"),
        "stored",
        "",
    ),
}


async def _receipt_outcome(bootstrap: str, mongo, chain_id: str, key: str, code: str):
    for letter in await dlq.dead_letters(bootstrap, [events.dlq_topic(events.RECEIPT_SCANNED)]):
        if letter.key == key:
            return "dlq", letter.reason
    if await find_receipt_by_code(mongo, chain_id, code):
        return "stored", ""
    return None


async def test_every_hostile_receipt_on_its_topic_is_dead_lettered_or_stored(
    chain: Chain, stack: dict[str, str]
) -> None:
    bootstrap = stack["kafka_bootstrap"]
    rng = random.Random(uuid.uuid4().int)
    cases: dict[str, tuple[str, str, bytes]] = {}  # name -> (key, code, value)
    for name, (change, _, _) in RECEIPTS.items():
        receipt = demo.demo_receipt(rng, lines=3, issued_at=datetime.now(UTC))
        envelope, errors = receipt_event(chain.chain_id, receipt)
        assert envelope is not None, errors
        key = envelope.payload["receipt_id"]
        if isinstance(change, bytes):
            value = change
        else:
            record = json.loads(envelope.model_dump_json())
            change(record)
            value = json.dumps(record).encode()
        cases[name] = (key, receipt["code"], value)
    producer = make_producer(bootstrap, "tests-hostile")
    await producer.start()
    try:
        for key, _, value in cases.values():
            await producer.send_and_wait(events.RECEIPT_SCANNED, value, key=key.encode())
    finally:
        await producer.stop()
    mongo = mongo_client(Settings(**stack))
    try:

        async def all_decided() -> dict | None:
            found = {
                name: await _receipt_outcome(bootstrap, mongo, chain.chain_id, key, code)
                for name, (key, code, _) in cases.items()
            }
            return found if all(found.values()) else None

        seen = await eventually(all_decided, timeout=120, interval=1, what="every hostile receipt")
    finally:
        await mongo.close()
    lines = [f"{name:38} {outcome:7} {reason[:110]}" for name, (outcome, reason) in seen.items()]
    print(f"\nhostile records on receipt.scanned: {len(seen)} tried\n" + "\n".join(lines))
    for name, (_, expected, phrase) in RECEIPTS.items():
        outcome, reason = seen[name]
        assert outcome == expected, (name, outcome, reason)
        assert phrase.lower() in reason.lower(), (name, reason)
