"""What pdf-renderer reads and writes on Kafka (see `einvoice.contract`)."""

from einvoice import events
from einvoice.contract import ServiceTopics
from pdf_renderer.handlers import on_invoice_issued

TOPICS = ServiceTopics(
    service="pdf-renderer",
    handlers={events.INVOICE_ISSUED: on_invoice_issued},
    produces=(events.PDF_RENDERED,),
    follows=(events.TENANT_CONFIG,),  # a chain's branding and layout
)
