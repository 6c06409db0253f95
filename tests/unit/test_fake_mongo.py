"""An in-memory stand-in for the few MongoDB collection operations the account store and the
rate limiter use, plus a controllable clock and a cheap argon2id hasher; and tests that the
fake keeps MongoDB's semantics the store relies on (atomic upsert counters, unique index,
find-and-delete). Nothing here touches a server."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from gateway.accounts.passwords import Passwords

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def cheap_passwords() -> Passwords:
    """argon2id with tiny costs, so unit tests stay fast."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def _test(op: str, present: bool, value: Any, arg: Any) -> bool:
    if op == "$exists":
        return present == arg
    if op == "$ne":
        return value != arg
    if not present:
        return False
    return {"$gt": value > arg, "$gte": value >= arg, "$lt": value < arg}[op]


def _matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    for key, condition in query.items():
        present, value = key in doc, doc.get(key)
        if isinstance(condition, dict) and any(k.startswith("$") for k in condition):
            if not all(_test(op, present, value, arg) for op, arg in condition.items()):
                return False
        elif not present or value != condition:
            return False
    return True


@dataclass
class _Result:
    matched_count: int = 0
    modified_count: int = 0
    deleted_count: int = 0


class FakeCollection:
    def __init__(self) -> None:
        self.docs: dict[Any, dict[str, Any]] = {}
        self.unique: list[str] = []
        self.indexes: list[tuple[Any, dict[str, Any]]] = []

    async def create_index(self, keys: Any, **options: Any) -> str:
        self.indexes.append((keys, options))
        if options.get("unique"):
            self.unique.append(keys)
        return str(keys)

    def _check_unique(self, doc: dict[str, Any]) -> None:
        for other in self.docs.values():
            if other["_id"] != doc["_id"] and any(
                f in doc and other.get(f) == doc[f] for f in self.unique
            ):
                raise DuplicateKeyError("E11000 duplicate key")

    async def insert_one(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("E11000 duplicate key")
        self._check_unique(doc)
        self.docs[doc["_id"]] = copy.deepcopy(doc)

    def _first(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return next((d for d in self.docs.values() if _matches(d, query)), None)

    async def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        found = self._first(query)
        return copy.deepcopy(found) if found else None

    def _apply(self, doc: dict[str, Any], update: dict[str, Any], inserted: bool) -> None:
        for op, fields in update.items():
            for key, value in fields.items():
                if op == "$set" or (op == "$setOnInsert" and inserted):
                    doc[key] = copy.deepcopy(value)
                elif op == "$inc":
                    doc[key] = doc.get(key, 0) + value
                elif op == "$unset":
                    doc.pop(key, None)
                elif op != "$setOnInsert":
                    raise ValueError(f"the fake does not support {op}")

    async def find_one_and_update(
        self,
        query: dict[str, Any],
        update: dict[str, Any],
        *,
        upsert: bool = False,
        return_document: bool = ReturnDocument.BEFORE,
    ) -> dict[str, Any] | None:
        doc = self._first(query)
        before = copy.deepcopy(doc)
        if doc is None:
            if not upsert:
                return None
            doc = {k: v for k, v in query.items() if not isinstance(v, dict)}
            self._apply(doc, update, inserted=True)
            await self.insert_one(doc)
            doc = self.docs[doc["_id"]]
        else:
            self._apply(doc, update, inserted=False)
        return copy.deepcopy(doc) if return_document == ReturnDocument.AFTER else before

    async def find_one_and_delete(self, query: dict[str, Any]) -> dict[str, Any] | None:
        doc = self._first(query)
        if doc is not None:
            del self.docs[doc["_id"]]
        return doc

    async def update_one(self, query: dict[str, Any], update: dict[str, Any]) -> _Result:
        doc = self._first(query)
        if doc is None:
            return _Result()
        self._apply(doc, update, inserted=False)
        return _Result(matched_count=1, modified_count=1)

    async def delete_one(self, query: dict[str, Any]) -> _Result:
        doc = self._first(query)
        if doc is not None:
            del self.docs[doc["_id"]]
        return _Result(deleted_count=int(doc is not None))

    async def delete_many(self, query: dict[str, Any]) -> _Result:
        gone = [k for k, d in self.docs.items() if _matches(d, query)]
        for key in gone:
            del self.docs[key]
        return _Result(deleted_count=len(gone))


class FakeDb(dict):
    """`db[name]` gives the same FakeCollection every time, like a database."""

    def __missing__(self, name: str) -> FakeCollection:
        self[name] = FakeCollection()
        return self[name]


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
