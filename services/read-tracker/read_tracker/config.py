from einvoice.settings import Settings


class TrackerSettings(Settings):
    metrics_port: int = 9105
    reverse_dns_timeout: float = 2.0
    # An open this soon after its e-mail was sent, from a data-centre range, is a scanner's.
    scanner_window_seconds: int = 120
