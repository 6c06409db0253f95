"""Prometheus metrics with one naming scheme across services: `einvoice_<what>_<unit>`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

EVENTS_CONSUMED = Counter(
    "einvoice_events_consumed_total",
    "Events taken from a topic, by outcome (ok, dlq).",
    ["service", "topic", "outcome"],
)
EVENTS_PRODUCED = Counter(
    "einvoice_events_produced_total", "Events produced to a topic.", ["service", "topic"]
)
HANDLER_RETRIES = Counter(
    "einvoice_handler_retries_total",
    "Handler attempts that failed and were retried.",
    ["service", "topic", "error"],
)
HANDLER_SECONDS = Histogram(
    "einvoice_handler_seconds",
    "Time to handle one event.",
    ["service", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_LAG = Gauge(
    "einvoice_consumer_lag_messages",
    "Messages behind the end of the partition (the stage's backlog).",
    ["service", "topic", "partition"],
)
STAGE_FAILURES = Counter(
    "einvoice_stage_failures_total",
    "Business failures per stage (rejections, bounces).",
    ["service", "stage", "reason"],
)
MONGO_COMMANDS = Histogram(
    "einvoice_mongo_command_seconds",
    "MongoDB commands this process sent, by command and collection, as the client timed them.",
    ["command", "collection"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on <host>:<port> (port 0 disables it)."""
    if port:
        start_http_server(port, addr=host)
