"""MongoDB through PyMongo's async API (the successor of motor)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pymongo import AsyncMongoClient, InsertOne, UpdateOne, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from einvoice.metrics import MONGO_COMMANDS
from einvoice.settings import Settings

# The documents as PyMongo hands them over; the modules that own a collection give its
# records a TypedDict where they leave the module.
Document = dict[str, Any]
Client = AsyncMongoClient[Document]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]

_Write = InsertOne[Document] | UpdateOne
# a write, the same write sent by itself, and its caller's future
_Queued = tuple[_Write, Callable[[], Awaitable[Any]], asyncio.Future[None]]


class CommandTimer(monitoring.CommandListener):
    """Counts and times every command in `einvoice_mongo_command_seconds`, so operators (and
    `make bench`) see which collection each service spends its database round trips on."""

    _SKIP = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "saslContinue"})

    def __init__(self) -> None:
        self._collections: dict[tuple[Any, int], str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in self._SKIP:
            target = event.command.get(event.command_name)
            name = target if isinstance(target, str) else "-"
            self._collections[(event.connection_id, event.request_id)] = name

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event)

    def _observe(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> None:
        collection = self._collections.pop((event.connection_id, event.request_id), None)
        if collection is not None:
            MONGO_COMMANDS.labels(event.command_name, collection).observe(
                event.duration_micros / 1e6
            )


_TIMER = CommandTimer()


def mongo_client(settings: Settings) -> Client:
    return AsyncMongoClient(
        settings.mongo_url,
        tz_aware=True,
        serverSelectionTimeoutMS=10_000,
        event_listeners=[_TIMER],
    )


def service_db(client: Client, service: str) -> Database:
    """Each service owns its database; no other service writes to it."""
    return client[f"einvoice_{service.replace('-', '_')}"]


@dataclass
class CoalescedUpdates:
    """`update_one` and `insert_one` calls of concurrent handlers sent together as one
    unordered `bulk_write`.

    A consumer batch runs up to 16 handlers at once; each would pay a round trip and the
    server's per-command cost for its one small write. Writes that arrive within `linger`
    seconds of each other (or while the previous bulk is on its way) go in one command:
    a document in a bulk costs the server a fraction of a single upsert (ADR 0009). Each
    caller still waits for its own write and gets its own error: an insert refused as a
    duplicate raises DuplicateKeyError to its caller; an update refused inside
    the bulk (say, two concurrent upserts of one document) is tried again on its own.
    Writes to one document must not be in flight together when their order matters: the
    bus keeps one key's records in order, so they are not."""

    collection: Collection
    linger: float = 0.002
    max_batch: int = 500
    _pending: list[_Queued] = field(default_factory=list, init=False)
    _flusher: asyncio.Task[None] | None = field(default=None, init=False)

    async def update_one(
        self, filter: Mapping[str, Any], update: Mapping[str, Any], *, upsert: bool = False
    ) -> None:
        alone = partial(self.collection.update_one, filter, update, upsert=upsert)
        await self._queue(UpdateOne(filter, update, upsert=upsert), alone)

    async def insert_one(self, document: Document) -> None:
        """Raises DuplicateKeyError, as `AsyncCollection.insert_one` does."""
        await self._queue(InsertOne(document), partial(self.collection.insert_one, document))

    async def _queue(self, op: _Write, alone: Callable[[], Awaitable[Any]]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((op, alone, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(self.linger)
            while self._pending:
                ops = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._write(ops)
        finally:
            self._flusher = None

    async def _write(self, ops: list[_Queued]) -> None:
        refused: dict[int, dict[str, Any]] = {}
        try:
            await self.collection.bulk_write([op for op, _, _ in ops], ordered=False)
        except BulkWriteError as exc:
            refused = {error["index"]: error for error in exc.details.get("writeErrors", [])}
        except Exception as exc:  # noqa: BLE001 - every caller gets the error
            for _, _, done in ops:
                if not done.done():
                    done.set_exception(exc)
            return
        for index, (op, alone, done) in enumerate(ops):
            if done.done():
                continue  # its caller was cancelled
            if index not in refused:
                done.set_result(None)
            elif isinstance(op, InsertOne) and refused[index].get("code") == DUPLICATE_KEY:
                message = refused[index].get("errmsg", "duplicate key")
                done.set_exception(DuplicateKeyError(message, DUPLICATE_KEY))
            else:  # tried again by itself; its outcome goes to its caller
                try:
                    await alone()
                except Exception as exc:  # noqa: BLE001 - handed to its caller
                    done.set_exception(exc)
                else:
                    done.set_result(None)


DUPLICATE_KEY = 11000


@dataclass
class CoalescedGets:
    """`find_one({"_id": ...})` calls of concurrent handlers answered by one
    `find({"_id": {"$in": [...]}})`, as CoalescedUpdates does for writes."""

    collection: Collection
    linger: float = 0.002
    # Ids per `$in`: the local stack's server compares each candidate with the whole list
    # (einvoice.outbox.IDS_PER_COMMAND).
    max_batch: int = 100
    _pending: list[tuple[Any, asyncio.Future[Document | None]]] = field(
        default_factory=list, init=False
    )
    _flusher: asyncio.Task[None] | None = field(default=None, init=False)

    async def get(self, doc_id: Any) -> Document | None:
        found: asyncio.Future[Document | None] = asyncio.get_running_loop().create_future()
        self._pending.append((doc_id, found))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await found

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(self.linger)
            while self._pending:
                asked = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                ids = list({doc_id for doc_id, _ in asked})
                try:
                    docs = await self.collection.find({"_id": {"$in": ids}}).to_list(None)
                except Exception as exc:  # noqa: BLE001 - every caller gets the error
                    for _, found in asked:
                        if not found.done():
                            found.set_exception(exc)
                    continue
                by_id = {doc["_id"]: doc for doc in docs}
                for doc_id, found in asked:
                    if not found.done():
                        found.set_result(by_id.get(doc_id))
        finally:
            self._flusher = None
