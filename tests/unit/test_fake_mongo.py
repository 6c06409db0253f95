"""tests/support/mongo.py keeps MongoDB's semantics where the code under test relies on them
(atomic upsert counters, unique indexes, find-and-delete, sorted and limited cursors, the
update operators, bulk writes that report duplicates). Nothing here touches a server."""

from __future__ import annotations

import pytest
from pymongo import InsertOne, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from tests.support.clock import T0, Clock
from tests.support.mongo import FakeClient, FakeCollection, FakeDb

# --- the fake behaves like MongoDB where the store depends on it ---------------------------


async def test_upsert_counter_counts_atomically() -> None:
    coll = FakeCollection()
    for expected in (1, 2, 3):
        doc = await coll.find_one_and_update(
            {"_id": "k"},
            {"$inc": {"count": 1}, "$setOnInsert": {"since": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc == {"_id": "k", "count": expected, "since": 1}


async def test_unique_index_refuses_a_second_document() -> None:
    coll = FakeCollection()
    await coll.create_index("email", unique=True)
    await coll.insert_one({"_id": 1, "email": "a@b.pl"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": 2, "email": "a@b.pl"})


async def test_find_one_and_delete_returns_a_document_once() -> None:
    coll = FakeCollection()
    await coll.insert_one({"_id": "t", "expires_at": T0})
    assert await coll.find_one_and_delete({"_id": "t", "expires_at": {"$gt": T0}}) is None
    assert await coll.find_one_and_delete({"_id": "t"}) == {"_id": "t", "expires_at": T0}
    assert await coll.find_one_and_delete({"_id": "t"}) is None


async def test_a_compound_unique_index_refuses_only_the_same_pair() -> None:
    coll = FakeCollection()
    await coll.create_index([("tenant_id", 1), ("code", 1)], unique=True)
    await coll.insert_one({"_id": 1, "tenant_id": "a", "code": "X"})
    await coll.insert_one({"_id": 2, "tenant_id": "b", "code": "X"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": 3, "tenant_id": "a", "code": "X"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": 1, "tenant_id": "c", "code": "Y"})


async def test_queries_match_like_mongodb() -> None:
    coll = FakeCollection(
        [
            {"_id": 1, "due": 5, "state": "queued", "batch_ids": ["b1", "b2"]},
            {"_id": 2, "due": 9, "state": "working"},
            {"_id": 3, "state": "queued", "gone": None},
        ]
    )

    async def ids(query: dict) -> list[int]:
        return [d["_id"] for d in await coll.find(query).to_list(None)]

    assert await ids({"due": {"$lte": 5}}) == [1]  # a missing field is never compared
    assert await ids({"due": {"$gt": 4, "$lt": 9}}) == [1]
    assert await ids({"state": {"$in": ["working", "done"]}}) == [2]
    assert await ids({"state": {"$ne": "queued"}}) == [2]
    assert await ids({"gone": {"$exists": True}}) == [3]
    assert await ids({"due": None}) == [3]  # a missing field equals null
    assert await ids({"batch_ids": "b2"}) == [1]  # an array holds the value
    assert coll.queries[0] == {"due": {"$lte": 5}}


async def test_cursors_sort_limit_and_copy() -> None:
    coll = FakeCollection({"_id": n, "p": n % 2, "due": -n} for n in range(5))
    found = await coll.find({}).sort([("p", 1), ("due", 1)]).limit(3).to_list(None)
    assert [d["_id"] for d in found] == [4, 2, 0]
    assert [d["_id"] for d in await coll.find({}).sort("due", -1).to_list(2)] == [0, 1]
    assert (await coll.find_one({"p": 1}, sort=[("due", 1)]))["_id"] == 3
    assert await coll.find({"_id": 1}, {"p": 1}).to_list(None) == [{"_id": 1, "p": 1}]
    found[0]["p"] = "changed"
    assert coll.docs[4]["p"] == 0, "what a cursor gives is a copy"


async def test_updates_apply_the_operators() -> None:
    coll = FakeCollection([{"_id": "j", "n": 1, "old": True}])
    update = {"$set": {"s": 1}, "$inc": {"n": 2}, "$unset": {"old": ""}, "$push": {"log": "a"}}
    assert (await coll.update_one({"_id": "j"}, update)).matched_count == 1
    assert coll.docs["j"] == {"_id": "j", "n": 3, "s": 1, "log": ["a"]}
    assert (await coll.update_one({"_id": "none"}, update)).matched_count == 0
    assert (await coll.update_many({}, {"$inc": {"n": 1}})).matched_count == 1
    with pytest.raises(ValueError):
        await coll.update_one({"_id": "j"}, {"$rename": {"n": "m"}})


async def test_a_bulk_write_reports_a_duplicate_and_runs_the_rest_when_unordered() -> None:
    coll = FakeCollection([{"_id": "a", "n": 0}])
    requests = [InsertOne({"_id": "a"}), UpdateOne({"_id": "a"}, {"$inc": {"n": 1}})]
    with pytest.raises(BulkWriteError) as refused:
        await coll.bulk_write(requests, ordered=False)
    assert refused.value.details["writeErrors"][0]["code"] == 11000
    assert coll.docs["a"]["n"] == 1


def test_a_client_keeps_its_databases_and_a_database_its_collections() -> None:
    client, db = FakeClient(), FakeDb()
    assert db["jobs"] is db["jobs"] and db["jobs"] is not db["links"]
    assert client["mailer"] is client["mailer"] and client["mailer"] is not client["gateway"]


def test_the_clock_moves_only_when_told() -> None:
    clock, seconds = Clock(), Clock(1_800_000_000.0)
    clock.advance(minutes=1)
    seconds.advance(minutes=1)
    assert clock() == T0.replace(minute=1) and seconds() == 1_800_000_060.0
