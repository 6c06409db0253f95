"""What receipt-ingest reads and writes on Kafka (see `einvoice.contract`)."""

from einvoice import events
from einvoice.contract import ServiceTopics
from receipt_ingest.handlers import on_receipt_scanned
from receipt_ingest.retail import on_invoice_rejected, on_retail_requested

TOPICS = ServiceTopics(
    service="receipt-ingest",
    handlers={
        events.RECEIPT_SCANNED: on_receipt_scanned,
        events.RETAIL_REQUESTED: on_retail_requested,
        # A refused retail invoice gives its reserved quantities back.
        events.INVOICE_REJECTED: on_invoice_rejected,
    },
    produces=(events.RETAIL_RESERVED, events.INVOICE_REJECTED),
    follows=(events.TENANT_CONFIG,),
    # invoice.rejected is read-tracker's to dead-letter; this service only listens.
    dead_letters_for=frozenset({events.RECEIPT_SCANNED, events.RETAIL_REQUESTED}),
)
