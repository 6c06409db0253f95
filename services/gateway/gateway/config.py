from pydantic import SecretStr

from einvoice.settings import Settings


class GatewaySettings(Settings):
    host: str = "127.0.0.1"
    port: int = 8000
    session_secret: SecretStr
    # X-Forwarded-For is believed only when the direct peer is one of these proxies.
    trusted_proxies: list[str] = []
    max_body_bytes: int = 64 * 1024 * 1024
