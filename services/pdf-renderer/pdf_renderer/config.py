import os

from einvoice.settings import Settings


class RendererSettings(Settings):
    metrics_port: int = 9103
    # CPU-bound rendering runs in a process pool sized to the cores, never on the event loop.
    render_processes: int = max(1, os.cpu_count() or 1)
