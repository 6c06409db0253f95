from einvoice.settings import Settings


class IngestSettings(Settings):
    metrics_port: int = 9101
