"""What the gateway writes on Kafka (see `einvoice.contract`): it consumes nothing through the
consume loop; it follows `tenant.config` for keys and settings, and turns requests into events."""

from einvoice import events
from einvoice.contract import ServiceTopics

TOPICS = ServiceTopics(
    service="gateway",
    produces=(
        events.INVOICE_REQUESTED,  # billing's batches
        events.RECEIPT_SCANNED,  # the tills' POS API
        events.RETAIL_REQUESTED,  # a shopper's request
        events.INVOICE_OPENED,  # a customer's download
        events.MAIL_RESEND_REQUESTED,  # an operator's resend
        events.TENANT_CONFIG,  # the operator's and the chain's settings
    ),
    follows=(events.TENANT_CONFIG,),
)
