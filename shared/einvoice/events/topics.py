"""Topic names, dead-letter topics, lanes and partition counts."""

from __future__ import annotations

from typing import Literal

# Topic names. The five from the design card are fixed; the rest complete the set.
RECEIPT_SCANNED = "receipt.scanned"
INVOICE_REQUESTED = "invoice.requested"
INVOICE_ISSUED = "invoice.issued"
INVOICE_REJECTED = "invoice.rejected"
PDF_RENDERED = "pdf.rendered"
MAIL_SENT = "mail.sent"
MAIL_FAILED = "mail.failed"
INVOICE_OPENED = "invoice.opened"
INVOICE_CONFIRMED = "invoice.confirmed"
TENANT_CONFIG = "tenant.config"
# Retail: a shopper's request goes first to receipt-ingest, the owner of the receipt lines,
# which reserves the picked quantities and hands invoice-builder a trusted invoice input.
RETAIL_REQUESTED = "retail.invoice.requested"
RETAIL_RESERVED = "retail.invoice.reserved"
# An operator's command: send the invoice's e-mail again with a new link, revoking the old.
MAIL_RESEND_REQUESTED = "mail.resend.requested"
# KSeF: a KSeF-bound invoice is rendered only once ksef-connector reports its KSeF number.
INVOICE_REGISTERED = "invoice.registered"
INVOICE_KSEF_REJECTED = "invoice.ksef.rejected"

EVENT_TOPICS = (
    RECEIPT_SCANNED,
    INVOICE_REQUESTED,
    INVOICE_ISSUED,
    INVOICE_REJECTED,
    PDF_RENDERED,
    MAIL_SENT,
    MAIL_FAILED,
    INVOICE_OPENED,
    INVOICE_CONFIRMED,
    RETAIL_REQUESTED,
    RETAIL_RESERVED,
    MAIL_RESEND_REQUESTED,
    INVOICE_REGISTERED,
    INVOICE_KSEF_REJECTED,
)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


# Lanes (ADR 0010). A shopper waits at a phone for one invoice while a utility's batch of
# 100,000 may be queued on the same topics. Work somebody waits for travels in the
# interactive lane: its events of the stages a batch floods go to `<type>.interactive`
# topics, which every service consumes in a loop of its own, so they never queue behind
# bulk records. The lane is set where the work starts and every caused event inherits it.
Lane = Literal["bulk", "interactive"]
BULK: Lane = "bulk"
INTERACTIVE: Lane = "interactive"
INTERACTIVE_SUFFIX = ".interactive"
LANED_TOPICS = (
    INVOICE_ISSUED,
    INVOICE_REJECTED,
    INVOICE_REGISTERED,
    INVOICE_KSEF_REJECTED,
    PDF_RENDERED,
    MAIL_SENT,
    MAIL_FAILED,
)
# Topics that only ever carry interactive work (they are consumed in the interactive loop).
INTERACTIVE_TOPICS = frozenset({RETAIL_REQUESTED, RETAIL_RESERVED, MAIL_RESEND_REQUESTED})


def topic_for(event_type: str, lane: str) -> str:
    """The topic an event of this type travels on in this lane."""
    if lane == INTERACTIVE and event_type in LANED_TOPICS:
        return event_type + INTERACTIVE_SUFFIX
    return event_type


def type_of_topic(topic: str) -> str:
    """The event type a topic carries (a lane's topic carries its base type)."""
    base = topic.removesuffix(INTERACTIVE_SUFFIX)
    return base if base in LANED_TOPICS else topic


def is_interactive_topic(topic: str) -> bool:
    return topic.endswith(INTERACTIVE_SUFFIX) or topic in INTERACTIVE_TOPICS


LANE_TOPICS = tuple(t + INTERACTIVE_SUFFIX for t in LANED_TOPICS)

# Partition counts bound each consumer group's parallelism; keep them explicit.
TOPIC_PARTITIONS: dict[str, int] = {topic: 6 for topic in (*EVENT_TOPICS, *LANE_TOPICS)}
TOPIC_PARTITIONS |= {dlq_topic(topic): 1 for topic in (*EVENT_TOPICS, *LANE_TOPICS)}
TOPIC_PARTITIONS[TENANT_CONFIG] = 1
# Which dead letters `einvoice dlq replay` sent back (einvoice_tools.dlq), keyed by dead letter.
DLQ_REPLAYED = "dlq.replayed"
TOPIC_PARTITIONS[DLQ_REPLAYED] = 1
COMPACTED_TOPICS = frozenset({TENANT_CONFIG, DLQ_REPLAYED})
