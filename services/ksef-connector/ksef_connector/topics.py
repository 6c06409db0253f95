"""What ksef-connector reads and writes on Kafka (see `einvoice.contract`)."""

from einvoice import events
from einvoice.contract import ServiceTopics
from ksef_connector.jobs import on_invoice_issued

TOPICS = ServiceTopics(
    service="ksef-connector",
    handlers={events.INVOICE_ISSUED: on_invoice_issued},
    produces=(events.INVOICE_REGISTERED, events.INVOICE_KSEF_REJECTED),
    follows=(events.TENANT_CONFIG,),  # each tenant's KSeF connection
    # pdf-renderer, the primary consumer of invoice.issued, owns its dead letters.
    dead_letters_for=frozenset(),
)
