"""What pdf-renderer reads and writes on Kafka (see `einvoice.contract`)."""

from einvoice import events
from einvoice.contract import ServiceTopics
from pdf_renderer.handlers import on_invoice_issued, on_invoice_registered

TOPICS = ServiceTopics(
    service="pdf-renderer",
    handlers={
        events.INVOICE_ISSUED: on_invoice_issued,  # outside KSeF: rendered at once
        events.INVOICE_REGISTERED: on_invoice_registered,  # in KSeF: with its mark
    },
    produces=(events.PDF_RENDERED,),
    follows=(events.TENANT_CONFIG,),  # a chain's branding and layout
)
