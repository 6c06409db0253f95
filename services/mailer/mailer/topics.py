"""What the mailer reads and writes on Kafka (see `einvoice.contract`)."""

from einvoice import events
from einvoice.contract import ServiceTopics
from mailer.handlers import on_pdf_rendered, on_resend_requested

TOPICS = ServiceTopics(
    service="mailer",
    handlers={
        events.PDF_RENDERED: on_pdf_rendered,
        events.MAIL_RESEND_REQUESTED: on_resend_requested,
    },
    produces=(events.MAIL_SENT, events.MAIL_FAILED),
    follows=(events.TENANT_CONFIG,),  # e-mail templates and mailboxes
)
