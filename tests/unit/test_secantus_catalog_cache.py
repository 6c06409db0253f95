"""The local database server's catalog cache (deploy/local/secantusdb/serve.py): a cached
read is never older than the last change of the catalog, and never holds a value read while
the catalog was changing. (The server's behaviour with it is what `make test` runs on: the
stack starts SecantusDB through serve.py.)"""

from __future__ import annotations

import importlib.util
from typing import Any

from tests.support import ROOT


def serve() -> Any:
    path = ROOT / "deploy" / "local" / "secantusdb" / "serve.py"
    spec = importlib.util.spec_from_file_location("einvoice_secantus_serve", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Loads:
    def __init__(self, *values: Any) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.values.pop(0)


def test_a_value_is_read_once_until_the_catalog_changes() -> None:
    cache = serve().CatalogCache()
    load = Loads(["_id_", "number_1"], ["_id_", "number_1", "status_1"])
    assert cache.read(("indexes", "db", "c"), load, keep=bool) == ["_id_", "number_1"]
    assert cache.read(("indexes", "db", "c"), load, keep=bool) == ["_id_", "number_1"]
    assert load.calls == 1
    cache.changing()
    cache.changed()
    assert cache.read(("indexes", "db", "c"), load, keep=bool) == ["_id_", "number_1", "status_1"]
    assert load.calls == 2


def test_nothing_read_while_the_catalog_changes_is_kept() -> None:
    cache = serve().CatalogCache()
    load = Loads(["_id_"], ["_id_", "number_1"], ["_id_", "number_1"])
    cache.changing()  # createIndexes is running
    assert cache.read(("indexes", "db", "c"), load, keep=bool) == ["_id_"]
    cache.changed()
    assert cache.read(("indexes", "db", "c"), load, keep=bool) == ["_id_", "number_1"]
    assert cache.read(("indexes", "db", "c"), load, keep=bool) == ["_id_", "number_1"]
    assert load.calls == 2


def test_a_value_loaded_across_a_change_is_not_kept() -> None:
    cache = serve().CatalogCache()

    def load_while_an_index_is_created() -> list[str]:
        cache.changing()
        cache.changed()
        return ["_id_"]  # read before the change landed

    assert cache.read(("indexes", "db", "c"), load_while_an_index_is_created, keep=bool)
    after = Loads(["_id_", "number_1"])
    assert cache.read(("indexes", "db", "c"), after, keep=bool) == ["_id_", "number_1"]
    assert after.calls == 1


def test_a_missing_collection_is_not_remembered() -> None:
    """An insert creates its collection implicitly, inside a data command: "no such
    collection" and "no indexes" must be read again next time."""
    cache = serve().CatalogCache()
    load = Loads(None, {"uuid": "x"})
    assert cache.read(("options", "db", "new"), load, keep=lambda v: v is not None) is None
    assert cache.read(("options", "db", "new"), load, keep=lambda v: v is not None) == {"uuid": "x"}
    empty = Loads([], ["_id_"])
    assert cache.read(("indexes", "db", "new"), empty, keep=bool) == []
    assert cache.read(("indexes", "db", "new"), empty, keep=bool) == ["_id_"]
