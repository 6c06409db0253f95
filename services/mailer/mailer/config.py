from typing import Literal

from pydantic import SecretStr

from einvoice.settings import Settings


class MailerSettings(Settings):
    metrics_port: int = 9104
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 20.0
    mail_from: str = "einvoice <faktury@einvoice.local>"
