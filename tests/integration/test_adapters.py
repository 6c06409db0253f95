"""Adapters against the real MongoDB-wire server, S3 store, SMTP catcher and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from einvoice import events
from einvoice.bus import TransientError, make_producer
from einvoice.mongo import mongo_client
from einvoice.settings import Settings
from einvoice.storage import object_store
from einvoice.tenants import TenantDirectory, hash_api_key, publish_tenant
from invoice_builder.adapters import MongoInvoices
from mailer.adapters import SmtpSender
from mailer.config import MailerSettings
from read_tracker.adapters import MongoDeliveries, reverse_dns
from tests.support import eventually, mails_to

pytestmark = [pytest.mark.integration]


@pytest.fixture
async def mongo(stack: dict[str, str]):
    client = mongo_client(Settings(**stack))
    db = client[f"it_{uuid.uuid4().hex[:8]}"]
    yield db
    await client.drop_database(db.name)
    await client.close()


async def test_invoices_are_saved_once(mongo) -> None:
    invoices = MongoInvoices(mongo["invoices"])
    await invoices.setup()
    first = await invoices.save_once(
        {"tenant_id": "t", "invoice_id": "i1", "status": "issued", "number": "FV/1"}
    )
    second = await invoices.save_once(
        {"tenant_id": "t", "invoice_id": "i1", "status": "rejected", "number": "FV/1"}
    )
    assert second["status"] == "issued" == first["status"]
    assert await mongo["invoices"].count_documents({}) == 1
    assert await invoices.number_owner("t", "FV/1") == "i1"
    assert await invoices.number_owner("other", "FV/1") is None


async def test_deliveries_and_opens(mongo) -> None:
    deliveries = MongoDeliveries(mongo["deliveries"], mongo["opens"], mongo["batches"])
    await deliveries.setup()
    now = datetime.now(UTC)
    await deliveries.update("t", "i1", {"requested_at": now}, {"tenant_id": "t", "batch_id": "b"})
    await deliveries.update("t", "i1", {"mailed_at": now}, {"tenant_id": "t", "batch_id": "zz"})
    doc = await deliveries.get("t", "i1")
    assert doc["batch_id"] == "b" and doc["mailed_at"] and doc["requested_at"]
    record = {"_id": "e1", "tenant_id": "t", "invoice_id": "i1", "opened_at": now}
    assert await deliveries.add_open(record) is True
    assert await deliveries.add_open(record) is False


async def test_reverse_dns_resolves_loopback_and_gives_up_quickly() -> None:
    assert await reverse_dns("127.0.0.1", wait_seconds=2.0)
    assert await reverse_dns("not-an-ip", wait_seconds=2.0) is None


async def test_object_store_round_trip(stack: dict[str, str]) -> None:
    settings = Settings(**stack)
    store = object_store(settings, f"it-{uuid.uuid4().hex[:8]}")
    await store.ensure_bucket()
    await store.ensure_bucket()  # idempotent
    assert await store.head("a/b.pdf") is None
    await store.put("a/b.pdf", b"%PDF-1.4 test", "application/pdf", {"sha256": "abc"})
    head = await store.head("a/b.pdf")
    assert head == {"size": 13, "metadata": {"sha256": "abc"}}
    assert await store.get("a/b.pdf") == b"%PDF-1.4 test"
    # a conditional write leaves an existing object alone and says so
    assert await store.put("a/b.pdf", b"other", "application/pdf", {}, only_new=True) is False
    assert await store.get("a/b.pdf") == b"%PDF-1.4 test"
    assert await store.put("a/c.pdf", b"new", "application/pdf", {}, only_new=True) is True


async def test_object_store_errors_say_what_to_do(stack: dict[str, str]) -> None:
    """Unreachable storage is a TransientError (the consumer retries with backoff); a
    missing object and metadata S3 cannot carry are the caller's errors."""
    settings = Settings(**stack)
    store = object_store(settings, f"it-{uuid.uuid4().hex[:8]}")
    await store.ensure_bucket()
    with pytest.raises(FileNotFoundError):
        await store.get("missing.pdf")
    with pytest.raises(ValueError, match="ASCII"):
        await store.put("a.pdf", b"x", "application/pdf", {"number": "FV/ż"})
    closed_port = Settings(**(stack | {"s3_endpoint": "http://127.0.0.1:9"}))
    with pytest.raises(TransientError, match="object storage"):
        await object_store(closed_port, store.bucket).put("a.pdf", b"x", "application/pdf", {})
    await store.close()


async def test_smtp_sender_delivers_polish_mail_to_maildev(stack: dict[str, str]) -> None:
    domain = f"{uuid.uuid4().hex[:8]}.smtp.test"
    message = EmailMessage()
    message["From"] = "Zdrój <efaktury@zdroj.local>"
    message["To"] = f"józef@{domain}".replace("ó", "o")
    message["Subject"] = "Faktura — zażółć gęślą jaźń"
    message.set_content("Treść: ąćęłńóśźż")
    await SmtpSender().send(MailerSettings(**stack).smtp_server(), message)
    mails = await eventually(lambda: mails_to(domain), timeout=20, what="the mail")
    assert mails[0]["subject"] == "Faktura — zażółć gęślą jaźń"
    assert "ąćęłńóśźż" in mails[0]["text"]


async def test_tenant_directory_follows_the_compacted_topic(stack: dict[str, str]) -> None:
    tenant_id, key = f"it-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    directory = TenantDirectory(stack["kafka_bootstrap"])
    await directory.start()
    producer = make_producer(stack["kafka_bootstrap"], "it")
    await producer.start()
    try:
        config = events.TenantConfig(
            tenant_id=tenant_id,
            name="Ciepłownia",
            kind="utility",
            api_key_sha256=[hash_api_key(key)],
        )
        await publish_tenant(producer, config)

        async def learned() -> events.TenantConfig | None:
            return directory.by_api_key(key)

        found = await eventually(learned, timeout=20, what="the directory to learn the key")
        assert found.tenant_id == tenant_id
        assert directory.by_api_key("wrong") is None
    finally:
        await producer.stop()
        await directory.stop()
    restarted = TenantDirectory(stack["kafka_bootstrap"])
    await restarted.start()
    try:
        assert restarted.get(tenant_id).name == "Ciepłownia", "read back from the beginning"
    finally:
        await restarted.stop()


async def test_two_invoices_cannot_be_issued_with_one_number(mongo) -> None:
    invoices = MongoInvoices(mongo["invoices"])
    await invoices.setup()
    first = {
        "tenant_id": "t",
        "invoice_id": "i1",
        "status": "issued",
        "number": "FV/7",
        "invoice": {"x": 1},
    }
    second = first | {"invoice_id": "i2"}
    await invoices.save_once(first)
    stored = await invoices.save_once(second)
    assert stored["status"] == "rejected"
    assert stored["reasons"] == ["number 'FV/7' is already used by i1"]
    assert "invoice" not in stored
    assert (await invoices.get("t", "i2"))["status"] == "rejected"
    # A rejected invoice does not hold the number; another tenant may use it.
    await invoices.save_once(first | {"tenant_id": "u"})
    assert await invoices.number_owner("u", "FV/7") == "i1"


async def test_an_invoice_re_sent_in_a_later_batch_belongs_to_both(mongo) -> None:
    deliveries = MongoDeliveries(mongo["deliveries"], mongo["opens"], mongo["batches"])
    await deliveries.setup()
    now = datetime.now(UTC)
    for batch in ("b1", "b2"):
        await deliveries.register_batch("t", batch, 1, now)
        await deliveries.update(
            "t", "i1", {"requested_at": now}, {"tenant_id": "t", "batch_id": batch}
        )
    await deliveries.register_batch("t", "b1", 99, now)  # the first sighting wins
    doc = await deliveries.get("t", "i1")
    assert doc["batch_id"] == "b1" and sorted(doc["batch_ids"]) == ["b1", "b2"]
    assert (await mongo["batches"].find_one({"_id": "t/b1"}))["size"] == 1


async def test_concurrent_retail_numbers_are_unique_and_gapless(mongo) -> None:
    # Two adapters stand for two builder replicas: each takes its numbers one at a time,
    # and the unique index settles the race between them.
    replicas = [MongoInvoices(mongo["invoices"]), MongoInvoices(mongo["invoices"])]
    await replicas[0].setup()

    def number_of(seq: int) -> str:
        return f"FV/2026/11/{seq:06d}"

    def record(i: int) -> dict:
        return {
            "tenant_id": "chain",
            "invoice_id": f"i{i}",
            "status": "issued",
            "invoice": {"x": i},
            "batch_id": "r",
        }

    # 40 invoices issued at once, each requested twice (a redelivery racing the original).
    results = await asyncio.gather(
        *(
            replicas[i % 2].issue_numbered(record(i % 40), "FV/2026/11/000000", number_of)
            for i in range(80)
        )
    )
    by_invoice: dict[str, set[str]] = {}
    for stored in results:
        by_invoice.setdefault(stored["invoice_id"], set()).add(stored["number"])
    assert all(len(numbers) == 1 for numbers in by_invoice.values()), "one number per invoice"
    numbers = sorted(n for numbers in by_invoice.values() for n in numbers)
    assert numbers == [number_of(seq) for seq in range(1, 41)], "unique and gapless"
    assert await mongo["invoices"].count_documents({}) == 40


class CountingBulks:
    """A collection that counts the bulk_write commands it is sent."""

    def __init__(self, collection) -> None:
        self.collection = collection
        self.bulks: list[int] = []

    async def bulk_write(self, requests, ordered: bool):
        self.bulks.append(len(requests))
        return await self.collection.bulk_write(requests, ordered=ordered)

    async def update_one(self, *args, **kwargs):
        return await self.collection.update_one(*args, **kwargs)

    async def insert_one(self, *args, **kwargs):
        return await self.collection.insert_one(*args, **kwargs)


async def test_concurrent_updates_go_out_together_and_each_caller_gets_its_own_error(
    mongo,
) -> None:
    from einvoice.mongo import CoalescedUpdates

    counted = CountingBulks(mongo["docs"])
    updates = CoalescedUpdates(counted)  # type: ignore[arg-type]

    async def bump(n: int) -> None:
        await updates.update_one({"_id": f"d{n % 10}"}, {"$inc": {"n": 1}}, upsert=True)

    await asyncio.gather(*(bump(n) for n in range(60)))
    docs = await mongo["docs"].find({}).sort("_id").to_list(None)
    assert [d["n"] for d in docs] == [6] * 10
    assert sum(counted.bulks) == 60 and len(counted.bulks) < 60  # fewer commands than writes

    # one refused update (the _id cannot change) fails its own caller only
    outcomes = await asyncio.gather(
        updates.update_one({"_id": "d1"}, {"$set": {"_id": "other"}}),
        updates.update_one({"_id": "d2"}, {"$inc": {"n": 1}}),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], Exception) and outcomes[1] is None
    assert (await mongo["docs"].find_one({"_id": "d2"}))["n"] == 7
    assert (await mongo["docs"].find_one({"_id": "d1"}))["n"] == 6


async def test_every_command_is_counted_and_timed_by_collection(mongo) -> None:
    from prometheus_client import REGISTRY

    def count(command: str) -> float:
        labels = {"command": command, "collection": "timed"}
        return REGISTRY.get_sample_value("einvoice_mongo_command_seconds_count", labels) or 0

    before = count("insert"), count("find")
    await mongo["timed"].insert_one({"_id": 1})
    await mongo["timed"].find_one({"_id": 1})
    await mongo["timed"].find_one({"_id": 2})
    assert (count("insert"), count("find")) == (before[0] + 1, before[1] + 2)


async def test_concurrent_inserts_and_reads_go_out_together_and_duplicates_fail_alone(
    mongo,
) -> None:
    from pymongo.errors import DuplicateKeyError

    from einvoice.mongo import CoalescedGets, CoalescedUpdates

    counted = CountingBulks(mongo["ins"])
    writes = CoalescedUpdates(counted)  # type: ignore[arg-type]
    await asyncio.gather(*(writes.insert_one({"_id": f"j{n}", "n": n}) for n in range(40)))
    assert await mongo["ins"].count_documents({}) == 40 and len(counted.bulks) < 40
    outcomes = await asyncio.gather(
        writes.insert_one({"_id": "j3", "n": -1}),  # taken
        writes.insert_one({"_id": "j40", "n": 40}),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], DuplicateKeyError) and outcomes[1] is None
    assert (await mongo["ins"].find_one({"_id": "j3"}))["n"] == 3

    gets = CoalescedGets(mongo["ins"])
    found = await asyncio.gather(*(gets.get(f"j{n}") for n in (1, 2, 2, 99)))
    assert [d and d["n"] for d in found] == [1, 2, 2, None]
