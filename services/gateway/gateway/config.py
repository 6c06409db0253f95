from pydantic import IPvAnyNetwork, SecretStr

from einvoice.smtp import SmtpSettings


class GatewaySettings(SmtpSettings):
    host: str = "127.0.0.1"
    port: int = 8000
    session_secret: SecretStr
    # X-Forwarded-For is believed only when the direct peer is in one of these networks
    # (addresses or CIDR ranges, e.g. ["10.0.0.0/8"]).
    trusted_proxies: list[IPvAnyNetwork] = []
    max_body_bytes: int = 32 * 1024 * 1024
    # Shopper and chain-user accounts' e-mails go through the SMTP server of SmtpSettings
    # (the same variables as the mailer's: EINVOICE_SMTP_HOST, ..., EINVOICE_MAIL_FROM).
    account_session_days: int = 14
    # Fixed windows of this length; sign-in attempts that succeed are not counted.
    account_rate_window_seconds: int = 900
    account_login_limit_per_email: int = 10
    account_login_limit_per_ip: int = 100
    # Registrations, resent confirmations and reset requests, each per client IP (generous:
    # shoppers on a shop's Wi-Fi share one address).
    account_form_limit_per_ip: int = 60
    # E-mails (confirmations, reset links) to one address.
    account_mail_limit_per_email: int = 5
