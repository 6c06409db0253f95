"""Each service's declared topics (`<package>/topics.py`) against its code: every topic its
code names is one it declares, and every topic it declares producing is named in its code.
The consume loop checks the consumed ones at start; docs/events.md is generated from these."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from einvoice import events
from einvoice.contract import ServiceTopics

SERVICES = {
    "receipt-ingest": "receipt_ingest",
    "invoice-builder": "invoice_builder",
    "pdf-renderer": "pdf_renderer",
    "mailer": "mailer",
    "read-tracker": "read_tracker",
    "gateway": "gateway",
}
TOPIC_CONSTANTS = {
    name: value
    for name, value in vars(events).items()
    if isinstance(value, str) and name.isupper() and value in events.TOPIC_PARTITIONS
}
# Shared helpers that produce on a service's behalf.
PRODUCING_HELPERS = {
    "publish_tenant": events.TENANT_CONFIG,
    "update": events.TENANT_CONFIG,  # TenantDirectory.update publishes the whole record
    "receipt_event": events.RECEIPT_SCANNED,
}


def named_topics(package: str) -> set[str]:
    """The topics a package's code names (`events.MAIL_SENT`, `events.dlq_topic(...)` of one),
    or produces through a shared helper; its contract module and entry point left out."""
    root = Path(importlib.import_module(package).__file__).parent
    found: set[str] = set()
    for path in root.rglob("*.py"):
        if path.name in ("topics.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in TOPIC_CONSTANTS:
                if isinstance(node.value, ast.Name) and node.value.id == "events":
                    found.add(TOPIC_CONSTANTS[node.attr])
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in PRODUCING_HELPERS and (
                    name != "update" or "tenants" in ast.unparse(node.func)
                ):
                    found.add(PRODUCING_HELPERS[name])
    return found


def contract(package: str) -> ServiceTopics:
    return importlib.import_module(f"{package}.topics").TOPICS


@pytest.mark.parametrize("service", SERVICES)
def test_the_declared_topics_are_the_ones_the_code_uses(service: str) -> None:
    topics = contract(SERVICES[service])
    assert topics.service == service
    declared = {t.removesuffix(".dlq") for t in (*topics.consumes, *topics.follows)}
    declared |= set(topics.produces)
    named = named_topics(SERVICES[service])
    assert named - declared == set(), f"{service} names topics it does not declare"
    assert set(topics.produces) - named == set(), f"{service} declares what it never produces"


@pytest.mark.parametrize("service", SERVICES)
def test_every_declared_topic_exists(service: str) -> None:
    topics = contract(SERVICES[service])
    for topic in (*topics.consumes, *topics.produces, *topics.follows):
        assert topic in events.TOPIC_PARTITIONS, topic
    assert (topics.dead_letters_for or frozenset()) <= set(topics.consumes)


def test_each_consumed_topic_has_one_owner_of_its_dead_letters() -> None:
    owners: dict[str, list[str]] = {}
    for package in SERVICES.values():
        topics = contract(package)
        owned = topics.dead_letters_for
        for topic in topics.consumes:
            if not topic.endswith(".dlq") and (owned is None or topic in owned):
                owners.setdefault(topic, []).append(topics.service)
    assert {t: o for t, o in owners.items() if len(o) != 1} == {}


def test_the_loop_refuses_handlers_the_service_does_not_declare() -> None:
    topics = ServiceTopics("x", handlers={events.MAIL_SENT: print})
    topics.check_handlers({events.MAIL_SENT: object()})
    with pytest.raises(ValueError, match="declares"):
        topics.check_handlers({events.MAIL_SENT: object(), events.MAIL_FAILED: object()})
    with pytest.raises(ValueError, match="declares"):
        topics.check_handlers({})
