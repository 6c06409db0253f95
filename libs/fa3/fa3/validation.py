"""FA(3) XML checked against the official schema, offline.

The schema imports its type definitions by an absolute http address; a resolver maps every
`crd.gov.pl` schema address to the copy in `schemas/`, and the parser may not touch the
network, so validation never waits for or depends on the Ministry's servers.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent / "schemas"
FA3_XSD = SCHEMAS / "FA3_v1-0E.xsd"
NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"
# The documents FA(3) validation may load, by the name they are imported under.
_LOCAL = {path.name: path for path in SCHEMAS.glob("*.xsd")}


class _LocalSchemas(etree.Resolver):  # type: ignore[misc]  # lxml is untyped
    """Serves `http://crd.gov.pl/.../<name>.xsd` from `schemas/<name>.xsd`; refuses the rest."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        name = system_url.rsplit("/", 1)[-1]
        if system_url.startswith("http://crd.gov.pl/") and name in _LOCAL:
            return self.resolve_filename(str(_LOCAL[name]), context)
        return None


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_LocalSchemas())
    return parser


@functools.cache
def schema() -> etree.XMLSchema:
    """The FA(3) schema, loaded once per process."""
    return etree.XMLSchema(etree.parse(str(FA3_XSD), _parser()))


def validate(xml: bytes) -> list[str]:
    """The problems that make `xml` not a valid FA(3) invoice; empty when it is one.
    Each problem is `line N: message`, as the schema validator words it."""
    try:
        document = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    checker = schema()
    if checker.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in checker.error_log]
