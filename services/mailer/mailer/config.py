from einvoice.smtp import SmtpSettings


class MailerSettings(SmtpSettings):
    metrics_port: int = 9104
