"""docs/events.md is generated from the schemas; it must match them (run `einvoice schemas`)."""

from __future__ import annotations

from pathlib import Path

from einvoice_tools.schemadoc import events_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_the_events_reference_matches_the_schemas() -> None:
    assert DOC.read_text("utf-8") == events_markdown(), "stale: run `einvoice schemas`"
