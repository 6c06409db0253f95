from einvoice.smtp import SmtpSettings


class MailerSettings(SmtpSettings):
    metrics_port: int = 9104
    # Limits of the platform's own mailbox (tenants' mailboxes carry their own).
    mail_per_minute: int | None = None
    mail_per_hour: int | None = None
    mail_per_day: int | None = None
    # E-mails handed to SMTP at once by one replica.
    mail_concurrency: int = 8
    # First retry after a temporary SMTP error; doubles up to 15 min; gives up after 48 h.
    mail_retry_initial_seconds: float = 10.0
