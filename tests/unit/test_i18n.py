"""Every page text exists in Polish and in English (a missing key renders as nothing)."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.web.texts import TEXTS

TEMPLATES = Path(__file__).resolve().parents[2] / "services/gateway/gateway"


def test_both_languages_have_the_same_keys() -> None:
    assert set(TEXTS["pl"]) - set(TEXTS["en"]) == set(), "only in Polish"
    assert set(TEXTS["en"]) - set(TEXTS["pl"]) == set(), "only in English"


def test_every_text_a_template_names_exists() -> None:
    used = set()
    for page in TEMPLATES.glob("**/templates/*.html"):
        used |= set(re.findall(r"\bt\.([a-z][a-z0-9_]*)", page.read_text("utf-8")))
    assert used - set(TEXTS["pl"]) == set()
