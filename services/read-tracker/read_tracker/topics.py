"""What read-tracker reads and writes on Kafka (see `einvoice.contract`)."""

from einvoice import events
from einvoice.contract import ServiceTopics
from read_tracker.handlers import DEAD_LETTER_TOPICS, HANDLERS, on_dead_letter

TOPICS = ServiceTopics(
    service="read-tracker",
    # Every stage's event, and the dead letters of the stages (an invoice that failed there).
    handlers=HANDLERS | dict.fromkeys(DEAD_LETTER_TOPICS, on_dead_letter),
    produces=(events.INVOICE_CONFIRMED,),
    follows=(events.TENANT_CONFIG,),  # webhooks and scanner settings
    # The stage topics' own consumers dead-letter their bad records; these are read-tracker's.
    # invoice.ksef.rejected is billing's news, as invoice.rejected is: read-tracker owns its
    # dead letters (pdf-renderer only listens to it). invoice.registered is pdf-renderer's
    # to dead-letter (it renders the invoice); read-tracker follows its `.dlq` instead.
    dead_letters_for=frozenset(
        {
            events.INVOICE_REJECTED,
            events.INVOICE_KSEF_REJECTED,
            events.MAIL_SENT,
            events.MAIL_FAILED,
            events.INVOICE_OPENED,
        }
    ),
)
