from pydantic import IPvAnyNetwork, SecretStr

from einvoice.settings import Settings


class GatewaySettings(Settings):
    host: str = "127.0.0.1"
    port: int = 8000
    session_secret: SecretStr
    # X-Forwarded-For is believed only when the direct peer is in one of these networks
    # (addresses or CIDR ranges, e.g. ["10.0.0.0/8"]).
    trusted_proxies: list[IPvAnyNetwork] = []
    max_body_bytes: int = 32 * 1024 * 1024
