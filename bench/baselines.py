"""Short baselines run before the pipeline, on the same machine: the renderer alone in a
tight loop (the ceiling no pipeline can pass) and WeasyPrint rendering the same HTML.

Both use a process pool of os.cpu_count() workers, as pdf-renderer's pool would on this
machine, and report renders per second: the median of a few rounds.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from einvoice import events
from einvoice_tools.demo import demo_invoices
from invoice_builder.issuing import issue
from invoice_pdf.drawn import render_for
from invoice_pdf.render import render_invoice_html


@dataclass(frozen=True)
class Baseline:
    name: str
    rounds: list[float]  # renders per second of each round
    workers: int
    renders: int  # per round
    pdf_bytes: int
    error: str | None = None  # why there is no figure
    cpu_s: list[float] = field(default_factory=list)  # CPU time of each timed render

    @property
    def median(self) -> float | None:
        return statistics.median(self.rounds) if self.rounds else None

    @property
    def cpu_ms(self) -> float | None:
        """Median CPU time of one render: unlike renders/s, hardly moved by other load."""
        return statistics.median(self.cpu_s) * 1000 if self.cpu_s else None

    @property
    def cpu_ceiling(self) -> float | None:
        """Renders/s with every core to itself: cores / CPU time per render."""
        return self.workers * 1000 / self.cpu_ms if self.cpu_ms else None


def sample_invoice() -> events.InvoiceIssued:
    """A typical utility invoice (the demo batch's first), issued as invoice-builder would."""
    invoice = demo_invoices(1, seed=3, period=date(2026, 10, 31))[0]
    request = events.InvoiceRequested.model_validate(
        invoice | {"invoice_id": "bench", "batch_id": "bench"}
    )
    return issue(request)


@functools.cache
def _weasyprint_fonts() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()  # once per worker, as a service would keep it


def weasyprint_pdf(html: str) -> bytes:
    import weasyprint  # the `bench` dependency group; absent, the caller reports n/a

    # base_url "/" makes the template's absolute @font-face paths file:///... URLs.
    document = weasyprint.HTML(string=html, base_url="/")
    return document.write_pdf(font_config=_weasyprint_fonts())


def weasyprint_missing() -> str | None:
    """None if WeasyPrint imports, else why not (missing package or system library)."""
    try:
        import weasyprint  # noqa: F401
    except Exception as exc:  # OSError when pango is missing, ImportError when the package is
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
    return None


def _rounds(
    name: str, render: Callable[[Any], bytes], item: Any, rounds: int, renders: int
) -> Baseline:
    workers = os.cpu_count() or 1
    jobs = [(render, item)] * renders
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Start and warm every worker (imports, fonts, templates) before timing.
        size = next(iter(pool.map(_timed, [(render, item)] * workers * 2, timeout=300)))[0]
        rates, cpu = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            cpu += [seconds for _, seconds in pool.map(_timed, jobs, timeout=600)]
            rates.append(renders / (time.perf_counter() - start))
    return Baseline(name, rates, workers, renders, size, cpu_s=cpu)


def _timed(job: tuple[Callable[[Any], bytes], Any]) -> tuple[int, float]:
    """In a worker: render once; the PDF's size and the CPU time it took."""
    render, item = job
    start = time.process_time()
    size = len(render(item))
    return size, time.process_time() - start


def renderer_ceiling(rounds: int, renders: int) -> Baseline:
    """What the service renders a utility invoice with (invoice_pdf.drawn.render_for, the
    drawn default layout, ADR 0008) alone: no Kafka, S3 or mail."""
    return _rounds("renderer (render_for)", render_for, sample_invoice(), rounds, renders)


def weasyprint_baseline(rounds: int, renders: int) -> Baseline:
    """WeasyPrint on the HTML that render_invoice_pdf converts (render_invoice_html)."""
    name = "WeasyPrint (same HTML)"
    missing = weasyprint_missing()
    if missing:
        return Baseline(name, [], os.cpu_count() or 1, renders, 0, missing)
    try:
        return _rounds(name, weasyprint_pdf, render_invoice_html(sample_invoice()), rounds, renders)
    except Exception as exc:  # a broken install must not cost the pipeline run
        return Baseline(name, [], os.cpu_count() or 1, renders, 0, f"{type(exc).__name__}: {exc}")
