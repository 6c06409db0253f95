"""gateway: the thin HTTP front of the platform (billing API, customer links, operator pages)."""

from __future__ import annotations

import uvicorn

from einvoice.log import configure_logging
from gateway.config import GatewaySettings
from gateway.main import create_app


def run() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    run()
