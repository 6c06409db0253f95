"""What FA(3) costs invoice-builder per invoice: building the XML (`fa3.build`) and validating
it against the official XSD (`fa3.validate`), in CPU milliseconds (`time.process_time`),
over the demo utility batch; the median of repeated runs.

    .venv/bin/python bench/fa3_cost.py [--invoices 1000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import fa3
from einvoice import events
from einvoice_tools.demo import demo_invoices
from invoice_builder.issuing import issue

CREATED_AT = datetime(2026, 2, 2, 8, 30, tzinfo=UTC)


def issued_demo(count: int) -> list[events.InvoiceIssued]:
    invoices = []
    for n, payload in enumerate(demo_invoices(count, seed=11)):
        request = events.InvoiceRequested.model_validate(
            payload | {"invoice_id": f"inv-{n}", "batch_id": "bench", "customer_id": f"K-{n}"}
        )
        result = issue(request)
        assert isinstance(result, events.InvoiceIssued), result
        invoices.append(result)
    return invoices


def cpu_ms_per_invoice(work: Callable[[], object], count: int, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.process_time()
        work()
        samples.append((time.process_time() - start) * 1000 / count)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    invoices = issued_demo(args.invoices)
    fa3.validate(fa3.build(invoices[0], created_at=CREATED_AT))  # load the schema once
    xmls = [fa3.build(invoice, created_at=CREATED_AT) for invoice in invoices]
    assert all(fa3.validate(xml) == [] for xml in xmls)

    def build_all() -> None:
        for invoice in invoices:
            fa3.build(invoice, created_at=CREATED_AT)

    def validate_all() -> None:
        for xml in xmls:
            fa3.validate(xml)

    def both() -> None:
        for invoice in invoices:
            fa3.validate(fa3.build(invoice, created_at=CREATED_AT))

    n, runs = len(invoices), args.runs
    sizes = sorted(len(xml) for xml in xmls)
    print(f"{n} demo invoices, median of {runs} runs, CPU ms per invoice (time.process_time)")
    print(f"  build     {cpu_ms_per_invoice(build_all, n, runs):.3f}")
    print(f"  validate  {cpu_ms_per_invoice(validate_all, n, runs):.3f}")
    print(f"  both      {cpu_ms_per_invoice(both, n, runs):.3f}")
    print(f"  XML size  median {sizes[n // 2]} bytes, max {sizes[-1]}")


if __name__ == "__main__":
    main()
