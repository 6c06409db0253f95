"""MongoDB round trips per invoice, per service: each service's `/metrics` is read before
and after the load (`einvoice_mongo_command_seconds`, counted by einvoice.mongo.CommandTimer)
and the difference divided by the invoices produced meanwhile."""

from __future__ import annotations

import urllib.request
from collections import defaultdict
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

METRIC = "einvoice_mongo_command_seconds"
Counts = dict[tuple[str, str], tuple[float, float]]  # (command, collection) -> (count, seconds)


def metrics_url(service: str, port: int) -> str:
    return f"http://127.0.0.1:{port}/metrics"


def scrape(url: str, timeout: float = 5) -> Counts | None:
    """The service's command counts and times; None when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            text = response.read().decode()
    except OSError:
        return None
    return parse(text)


def parse(text: str) -> Counts:
    counts: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for family in text_string_to_metric_families(text):
        if family.name != METRIC:
            continue
        for sample in family.samples:
            key = (sample.labels.get("command", "?"), sample.labels.get("collection", "?"))
            if sample.name == f"{METRIC}_count":
                counts[key][0] = sample.value
            elif sample.name == f"{METRIC}_sum":
                counts[key][1] = sample.value
    return {k: (v[0], v[1]) for k, v in counts.items()}


def snapshot(ports: dict[str, int]) -> dict[str, Counts | None]:
    return {name: scrape(metrics_url(name, port)) for name, port in ports.items()}


def per_invoice(
    before: dict[str, Counts | None], after: dict[str, Counts | None], produced: int
) -> list[dict[str, Any]]:
    """One row per service and command/collection with commands and client-side ms per
    invoice, busiest first; a service restarted meanwhile (counts went down) is skipped."""
    rows = []
    for service, end in after.items():
        start = before.get(service) or {}
        if end is None or not produced:
            continue
        for key, (count, seconds) in end.items():
            c0, s0 = start.get(key, (0.0, 0.0))
            if count <= c0:
                continue
            rows.append(
                {
                    "service": service,
                    "command": key[0],
                    "collection": key[1],
                    "commands": count - c0,
                    "per_invoice": (count - c0) / produced,
                    "ms_per_invoice": (seconds - s0) * 1000 / produced,
                }
            )
    return sorted(rows, key=lambda r: -r["per_invoice"])
