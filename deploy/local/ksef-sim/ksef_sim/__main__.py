"""`python -m ksef_sim`: serve the simulator on KSEF_SIM_HOST:KSEF_SIM_PORT (127.0.0.1:8088)."""

from __future__ import annotations

import uvicorn

from .app import create_app
from .config import SimSettings


def main() -> None:
    settings = SimSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
