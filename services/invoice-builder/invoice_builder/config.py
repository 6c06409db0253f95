from einvoice.settings import Settings


class BuilderSettings(Settings):
    metrics_port: int = 9102
