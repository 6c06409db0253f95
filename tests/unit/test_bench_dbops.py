"""bench.dbops: MongoDB commands per invoice from two scrapes of each service's metrics."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.dbops import parse, per_invoice


def exposition(counts: dict[tuple[str, str], int]) -> str:
    registry = CollectorRegistry()
    metric = Histogram(
        "einvoice_mongo_command_seconds", "", ["command", "collection"], registry=registry
    )
    for (command, collection), n in counts.items():
        for _ in range(n):
            metric.labels(command, collection).observe(0.002)
    return generate_latest(registry).decode()


def test_commands_per_invoice_are_the_difference_between_two_scrapes() -> None:
    before = {"mailer": parse(exposition({("insert", "sends"): 10}))}
    after = {
        "mailer": parse(exposition({("insert", "sends"): 110, ("find", "sends"): 20})),
        "gateway": None,  # did not answer
    }
    rows = per_invoice(before, after, produced=100)
    assert [(r["command"], r["collection"], r["per_invoice"]) for r in rows] == [
        ("insert", "sends", 1.0),
        ("find", "sends", 0.2),
    ]
    assert rows[0]["ms_per_invoice"] == pytest.approx(2.0)


def test_a_service_restarted_meanwhile_is_not_counted_backwards() -> None:
    before = {"mailer": parse(exposition({("insert", "sends"): 500}))}
    after = {"mailer": parse(exposition({("insert", "sends"): 20}))}
    assert per_invoice(before, after, produced=100) == []
