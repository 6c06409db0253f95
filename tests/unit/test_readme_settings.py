"""Each service README's settings table against its settings class: every variable it lists
exists, every setting the service adds to the base is listed, and a default written as a
value is the class's default."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from einvoice.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {
    "receipt-ingest": "receipt_ingest.config:IngestSettings",
    "invoice-builder": "invoice_builder.config:BuilderSettings",
    "pdf-renderer": "pdf_renderer.config:RendererSettings",
    "mailer": "mailer.config:MailerSettings",
    "read-tracker": "read_tracker.config:TrackerSettings",
    "gateway": "gateway.config:GatewaySettings",
    "ksef-connector": "ksef_connector.config:ConnectorSettings",
}
ROW = re.compile(r"^\|([^|]*`EINVOICE_[^|]*)\|([^|]*)\|")
NAME = re.compile(r"`EINVOICE_([A-Z0-9_]+)`")


def settings_class(service: str) -> type[Settings]:
    module, name = SERVICES[service].split(":")
    return getattr(importlib.import_module(module), name)


def documented(service: str) -> dict[str, str]:
    """Variable (lower case, without the prefix) -> the README's default cell."""
    text = (ROOT / "services" / service / "README.md").read_text("utf-8")
    section = text.split("\n## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if match := ROW.match(line):
            for name in NAME.findall(match.group(1)):
                rows[name.lower()] = match.group(2).strip()
    return rows


def as_written(field: FieldInfo) -> str | None:
    """The default as an environment value would spell it; None when there is none to show."""
    if field.default is PydanticUndefined or field.default_factory is not None:
        return None
    value = field.default
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def same(written: str, default: str) -> bool:
    try:
        return float(written) == float(default)
    except ValueError:
        return written == default


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_lists_real_settings_with_their_defaults(service: str) -> None:
    fields = settings_class(service).model_fields
    rows = documented(service)
    assert rows, f"services/{service}/README.md has no settings table"
    assert set(rows) - set(fields) == set(), "listed but not a setting"
    base = Settings.model_fields
    own = {n for n, f in fields.items() if n not in base or f.default != base[n].default}
    assert own - set(rows) == set(), "a setting of the service missing from its README"
    for name, cell in rows.items():
        literal = re.fullmatch(r"`([^`(]*)`", cell)  # a value, not an expression
        default = as_written(fields[name])
        if literal and default is not None:
            assert same(literal.group(1), default), f"EINVOICE_{name.upper()}: README {cell}"
        if "required" in cell:
            assert fields[name].is_required(), f"EINVOICE_{name.upper()} is not required"
