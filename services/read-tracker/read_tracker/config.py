from einvoice.settings import Settings


class TrackerSettings(Settings):
    metrics_port: int = 9105
    reverse_dns_timeout: float = 2.0
