"""UPO (KSeF's official receipt) checks: valid against the Ministry's UPO v4-3 XSD (the copy
beside the simulator, deploy/local/ksef-sim/ksef_sim/schemas)."""

from __future__ import annotations

from functools import cache

from lxml import etree

from tests.support import ROOT

UPO_XSD = ROOT / "deploy/local/ksef-sim/ksef_sim/schemas/upo-v4-3.xsd"


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(UPO_XSD)))


def upo_problems(xml: bytes) -> list[str]:
    """What makes `xml` an invalid UPO v4-3 (empty: valid)."""
    schema = _schema()
    document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False))
    if schema.validate(document):
        return []
    return [f"{e.line}: {e.message}" for e in schema.error_log]
