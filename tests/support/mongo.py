"""An in-memory stand-in for the MongoDB collection operations the services use (the account
store and rate limiter, the outbox, the mailbox limits, the webhook and mail jobs, the read
models), with the semantics they rely on: atomic upsert counters, unique indexes, a duplicate
`_id` refused, find-and-delete, sorted and limited cursors. Nothing here touches a server;
tests/unit/test_fake_mongo.py checks the fake against that behaviour."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pymongo import InsertOne, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

_COMPARISONS = {
    "$gt": lambda v, a: v > a,
    "$gte": lambda v, a: v >= a,
    "$lt": lambda v, a: v < a,
    "$lte": lambda v, a: v <= a,
}


def _test(op: str, present: bool, value: Any, arg: Any) -> bool:
    if op == "$exists":
        return present == arg
    if op == "$ne":
        return value != arg
    if op == "$in":
        return value in arg
    if op not in _COMPARISONS:
        raise ValueError(f"the fake does not support {op}")
    return value is not None and _COMPARISONS[op](value, arg)


def matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    """Whether `doc` matches `query`: equality (a missing field equals None, an array holds
    the value), or operators ($gt, $gte, $lt, $lte, $ne, $in, $exists)."""
    for key, condition in query.items():
        present, value = key in doc, doc.get(key)
        if isinstance(condition, dict) and any(k.startswith("$") for k in condition):
            if not all(_test(op, present, value, arg) for op, arg in condition.items()):
                return False
        elif value != condition and not (isinstance(value, list) and condition in value):
            return False
    return True


@dataclass
class Result:
    """What update_*/delete_* answer."""

    matched_count: int = 0
    modified_count: int = 0
    deleted_count: int = 0


class FakeCursor:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def sort(self, keys: list[tuple[str, int]] | str, direction: int = 1) -> FakeCursor:
        keys = [(keys, direction)] if isinstance(keys, str) else keys
        for name, way in reversed(keys):
            self.docs.sort(key=lambda d, n=name: d.get(n), reverse=way < 0)
        return self

    def limit(self, n: int) -> FakeCursor:
        self.docs = self.docs[:n] if n else self.docs
        return self

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.docs[:length]]


class FakeCollection:
    """`docs` maps `_id` to the stored document; `queries` lists every find's query."""

    def __init__(self, docs: Iterable[dict[str, Any]] = ()) -> None:
        self.docs: dict[Any, dict[str, Any]] = {d["_id"]: copy.deepcopy(d) for d in docs}
        self.indexes: list[tuple[Any, dict[str, Any]]] = []
        self.unique: list[tuple[str, ...]] = []
        self.queries: list[dict[str, Any]] = []

    async def create_index(self, keys: Any, **options: Any) -> str:
        self.indexes.append((keys, options))
        if options.get("unique"):
            fields = (keys,) if isinstance(keys, str) else tuple(name for name, _ in keys)
            self.unique.append(fields)
        return str(keys)

    def _check_unique(self, doc: dict[str, Any]) -> None:
        for fields in self.unique:
            if not all(f in doc for f in fields):
                continue
            for other in self.docs.values():
                if other["_id"] != doc["_id"] and all(other.get(f) == doc[f] for f in fields):
                    raise DuplicateKeyError(f"E11000 duplicate key {fields}")

    async def insert_one(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("E11000 duplicate key _id")
        self._check_unique(doc)
        self.docs[doc["_id"]] = copy.deepcopy(doc)

    def _all(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        self.queries.append(query)
        return [d for d in self.docs.values() if matches(d, query)]

    def _first(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return next(iter(self._all(query)), None)

    def find(
        self, query: dict[str, Any] | None = None, projection: dict[str, int] | None = None
    ) -> FakeCursor:
        found = self._all(query or {})
        if projection and all(projection.values()):  # inclusions
            found = [{k: v for k, v in d.items() if k in projection or k == "_id"} for d in found]
        elif projection:  # exclusions
            found = [{k: v for k, v in d.items() if k not in projection} for d in found]
        return FakeCursor(found)

    async def find_one(
        self,
        query: dict[str, Any] | None = None,
        projection: dict[str, int] | None = None,
        *,
        sort: list[tuple[str, int]] | None = None,
    ) -> dict[str, Any] | None:
        cursor = self.find(query, projection)
        found = (cursor.sort(sort) if sort else cursor).docs
        return copy.deepcopy(found[0]) if found else None

    def _apply(self, doc: dict[str, Any], update: dict[str, Any], inserted: bool) -> None:
        for op, fields in update.items():
            for key, value in fields.items():
                if op == "$set" or (op == "$setOnInsert" and inserted):
                    doc[key] = copy.deepcopy(value)
                elif op == "$inc":
                    doc[key] = doc.get(key, 0) + value
                elif op == "$unset":
                    doc.pop(key, None)
                elif op == "$max":
                    if key not in doc or doc[key] < value:
                        doc[key] = copy.deepcopy(value)
                elif op == "$push":
                    doc.setdefault(key, []).append(copy.deepcopy(value))
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

    async def update_one(
        self, query: dict[str, Any], update: dict[str, Any], *, upsert: bool = False
    ) -> Result:
        doc = self._first(query)
        if doc is None:
            if upsert:
                await self.find_one_and_update(query, update, upsert=True)
            return Result()
        self._apply(doc, update, inserted=False)
        return Result(matched_count=1, modified_count=1)

    async def update_many(self, query: dict[str, Any], update: dict[str, Any]) -> Result:
        hits = self._all(query)
        for doc in hits:
            self._apply(doc, update, inserted=False)
        return Result(matched_count=len(hits), modified_count=len(hits))

    async def delete_one(self, query: dict[str, Any]) -> Result:
        doc = self._first(query)
        if doc is not None:
            del self.docs[doc["_id"]]
        return Result(deleted_count=int(doc is not None))

    async def delete_many(self, query: dict[str, Any]) -> Result:
        gone = [d["_id"] for d in self._all(query)]
        for key in gone:
            del self.docs[key]
        return Result(deleted_count=len(gone))

    async def bulk_write(self, requests: list[Any], ordered: bool = True) -> Result:
        """InsertOne and UpdateOne (no upsert), as einvoice.mongo.CoalescedUpdates sends
        them; a duplicate insert is reported like the server does, the others still run."""
        errors = []
        matched = 0
        for index, request in enumerate(requests):
            if isinstance(request, InsertOne):
                try:
                    await self.insert_one(request._doc)
                except DuplicateKeyError:
                    errors.append({"index": index, "code": 11000, "errmsg": "duplicate _id"})
                    if ordered:
                        break
            else:
                matched += (await self.update_one(request._filter, request._doc)).matched_count
        if errors:
            raise BulkWriteError({"writeErrors": errors})
        return Result(matched_count=matched, modified_count=matched)


class FakeDb(dict):
    """`db[name]` gives the same FakeCollection every time, like a database."""

    def __missing__(self, name: str) -> FakeCollection:
        self[name] = FakeCollection()
        return self[name]


class FakeClient(dict):
    """`client[name]` gives the same FakeDb every time, like a client."""

    def __missing__(self, name: str) -> FakeDb:
        self[name] = FakeDb()
        return self[name]
