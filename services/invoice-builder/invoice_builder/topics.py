"""What invoice-builder reads and writes on Kafka (see `einvoice.contract`)."""

from einvoice import events
from einvoice.contract import ServiceTopics
from invoice_builder.handlers import on_invoice_requested
from invoice_builder.retail import on_retail_reserved

TOPICS = ServiceTopics(
    service="invoice-builder",
    handlers={
        events.INVOICE_REQUESTED: on_invoice_requested,
        events.RETAIL_RESERVED: on_retail_reserved,
    },
    produces=(events.INVOICE_ISSUED, events.INVOICE_REJECTED),
    follows=(events.TENANT_CONFIG,),
)
