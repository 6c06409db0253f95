"""SecantusDB's `secantusd-py`, with its catalog reads kept in memory (ADR 0009, update).

SecantusDB 0.7.0b3 reads its catalog from WiredTiger on every command: the profiler
level of the database, the collection's options, and the collection's index list
(several times per written document: for unique checks, partial filters, geo checks and
index upkeep). Under the platform's load that was a large share of the server's CPU
(ADR 0009 has the profile), a cost mongod does not have: it keeps its catalog in memory.

This launcher caches the three reads and drops the cache around every command that can
change the catalog, so nothing the server enforces changes:

- Any command outside `_DATA_COMMANDS` (createIndexes, drop, collMod, renameCollection,
  profile, aggregate with $out, ...) empties the cache when it starts and again when it
  ends; while one runs, nothing is cached.
- The data commands may create a collection implicitly (an insert into a new one): a
  missing collection and an empty index list are never cached, so the first write's
  implicit creation is read afresh.
- A value read while the catalog changed is not kept (a generation counter).

`EINVOICE_SECANTUS_CATALOG_CACHE=0` runs the server as published, for comparison.
"""

from __future__ import annotations

import copy
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import bson
from secantus import cli, commands, server, storage

# Commands that read or write documents, never the catalog (apart from an implicit create).
_DATA_COMMANDS = frozenset(
    {
        "insert",
        "update",
        "delete",
        "find",
        "findAndModify",
        "findandmodify",
        "getMore",
        "killCursors",
        "count",
        "distinct",
        "hello",
        "isMaster",
        "ismaster",
        "ping",
        "buildInfo",
        "buildinfo",
        "listCollections",
        "listIndexes",
        "listDatabases",
        "serverStatus",
        "dbStats",
        "collStats",
        "endSessions",
        "saslStart",
        "saslContinue",
        "getLastError",
        "getParameter",
        "connectionStatus",
        "whatsmyuri",
    }
)


class CatalogCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._changing = 0  # catalog commands running now
        self._values: dict[tuple[str, str, str], Any] = {}

    def changing(self) -> None:
        with self._lock:
            self._changing += 1
            self._generation += 1
            self._values.clear()

    def changed(self) -> None:
        with self._lock:
            self._changing -= 1
            self._generation += 1
            self._values.clear()

    def read(self, key: tuple[str, str, str], load: Callable[[], Any], keep: Callable[[Any], bool]):
        """The cached value, or `load()`; kept only if `keep(value)` and the catalog did not
        change meanwhile."""
        try:
            return self._values[key]
        except KeyError:
            pass
        generation = self._generation
        value = load()
        if keep(value):
            with self._lock:
                if not self._changing and generation == self._generation:
                    self._values[key] = value
        return value


CACHE = CatalogCache()


def install(cache: CatalogCache = CACHE) -> None:
    original_dispatch = commands.dispatch

    def dispatch(doc: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if commands.command_name(doc) in _DATA_COMMANDS:
            return original_dispatch(doc, ctx)
        cache.changing()
        try:
            return original_dispatch(doc, ctx)
        finally:
            cache.changed()

    commands.dispatch = dispatch
    server.dispatch = dispatch  # server.py imported the name

    iter_indexes = storage.Storage._iter_indexes
    get_profile = storage.Storage.get_profile
    coll_options = storage.Storage._coll_options

    def _iter_indexes(self: Any, db: str, coll: str) -> Iterator[tuple[str, Any, Any]]:
        def load() -> list[tuple[str, bytes, bytes]]:
            # Encoded, so that every caller gets documents of its own to change.
            return [
                (name, bson.encode({"k": key}), bson.encode({"o": options}))
                for name, key, options in iter_indexes(self, db, coll)
            ]

        rows = cache.read(("indexes", db, coll), load, keep=bool)
        for name, key, options in rows:
            yield name, bson.decode(key)["k"], bson.decode(options)["o"]

    def _get_profile(self: Any, db: str) -> dict[str, Any]:
        settings = cache.read(("profile", db, ""), lambda: get_profile(self, db), keep=bool)
        return dict(settings)

    def _coll_options(self: Any, db: str, coll: str) -> dict[str, Any] | None:
        options = cache.read(
            ("options", db, coll), lambda: coll_options(self, db, coll), keep=_exists
        )
        return copy.deepcopy(options)

    storage.Storage._iter_indexes = _iter_indexes
    storage.Storage.get_profile = _get_profile
    storage.Storage._coll_options = _coll_options


def _exists(options: Any) -> bool:
    return options is not None


if __name__ == "__main__":
    if os.environ.get("EINVOICE_SECANTUS_CATALOG_CACHE", "1") != "0":
        install()
    sys.exit(cli.main())
