"""`make bench`: where the time goes, measured on this machine.

1. PDF rendering in-process (median of repeated renders, 4-line and 20-line invoices) and
   through a process pool of 1 and of N workers (the ratio shows what the pool buys).
2. The whole pipeline: a batch published through the gateway to the running services, with
   the batch's wall time and, per stage, the median and p95 latency taken from the delivery
   read model's timestamps (requested -> issued -> rendered -> mailed).

Starts (or reuses) the local stack and the services like the tests do, and stops only what it
started. Quote medians and ratios from one run: the machine is shared and noisy.

    .venv/bin/python bench/run.py [--invoices 200] [--renders 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from einvoice import events, readmodels  # noqa: E402
from einvoice.demo import DEMO_API_KEY, demo_invoices  # noqa: E402
from einvoice.mongo import mongo_client  # noqa: E402
from einvoice.settings import Settings  # noqa: E402
from invoice_builder.issuing import issue  # noqa: E402
from pdf_renderer.render import render_invoice_pdf  # noqa: E402
from tests.support import (  # noqa: E402
    GATEWAY,
    LAUNCHER_SCRIPT,
    PYTHON,
    STACK_PORTS,
    STACK_SCRIPT,
    launcher,
    local_settings,
    port_open,
)


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def issued_sample(lines: int) -> events.InvoiceIssued:
    invoice = demo_invoices(1, seed=lines, period=date(2026, 10, 31))[0]
    template = invoice["lines"][0]
    invoice["lines"] = [dict(template, name=f"{template['name']} {i + 1}") for i in range(lines)]
    request = events.InvoiceRequested.model_validate(
        invoice | {"invoice_id": "bench", "batch_id": "bench"}
    )
    return issue(request)


def timed(fn: Any, *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def bench_render(renders: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for lines in (4, 20):
        invoice = issued_sample(lines)
        render_invoice_pdf(invoice)  # warm caches (fonts, templates)
        times = [timed(render_invoice_pdf, invoice) for _ in range(renders)]
        result[f"render_{lines}_lines_median_ms"] = round(statistics.median(times) * 1000, 1)
    invoice = issued_sample(4)
    workers = os.cpu_count() or 1
    for size in sorted({1, workers}):
        with ProcessPoolExecutor(max_workers=size) as pool:
            list(pool.map(render_invoice_pdf, [invoice] * size))  # start and warm workers
            start = time.perf_counter()
            list(pool.map(render_invoice_pdf, [invoice] * renders * 2))
            rate = renders * 2 / (time.perf_counter() - start)
        result[f"pool_{size}_renders_per_s"] = round(rate, 1)
    result["pool_speedup"] = round(
        result[f"pool_{workers}_renders_per_s"] / result["pool_1_renders_per_s"], 2
    )
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench_pipeline(count: int) -> dict[str, Any]:
    series = f"BENCH/{uuid.uuid4().hex[:6]}"
    invoices = demo_invoices(count, seed=3, series=series, email_domain="bench.example.pl")
    batch_id = f"bench-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    async with httpx.AsyncClient(base_url=GATEWAY, headers=auth, timeout=120) as client:
        start = time.perf_counter()
        accepted = await client.post(
            "/api/v1/batches", json={"batch_id": batch_id, "invoices": invoices}
        )
        accepted.raise_for_status()
        publish_s = time.perf_counter() - start
        while True:
            status = await client.get(f"/api/v1/batches/{batch_id}")
            if status.status_code == 200 and status.json()["complete"]:
                break
            if time.perf_counter() - start > 600:
                raise SystemExit("the batch did not complete within 600 s")
            await asyncio.sleep(0.2)
        wall_s = time.perf_counter() - start
    client_db = mongo_client(Settings(**local_settings()))
    try:
        rows = (
            await readmodels.tracker_db(client_db)[readmodels.DELIVERIES]
            .find({"batch_ids": batch_id})
            .to_list(None)
        )
    finally:
        await client_db.close()
    stages = [
        ("requested_at", "issued_at"),
        ("issued_at", "rendered_at"),
        ("rendered_at", "mailed_at"),
    ]
    result: dict[str, Any] = {
        "invoices": count,
        "publish_s": round(publish_s, 2),
        "wall_s": round(wall_s, 2),
        "invoices_per_s": round(count / wall_s, 1),
    }
    for begin, end in stages:
        gaps = [(r[end] - r[begin]).total_seconds() for r in rows if r.get(begin) and r.get(end)]
        name = f"{begin.removesuffix('_at')}->{end.removesuffix('_at')}"
        result[f"{name} median_s"] = round(statistics.median(gaps), 3)
        result[f"{name} p95_s"] = round(percentile(gaps, 0.95), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--renders", type=int, default=20)
    args = parser.parse_args()

    say(f"== PDF rendering ({args.renders} renders each, {os.cpu_count()} cores)")
    for key, value in bench_render(args.renders).items():
        say(f"  {key:32} {value}")

    services = launcher().SERVICES
    stack_before = {n for n, port in STACK_PORTS.items() if port_open(port)}
    services_before = {n for n, (_, port) in services.items() if port_open(port)}
    subprocess.run([str(PYTHON), str(LAUNCHER_SCRIPT), "up"], check=True, stdout=subprocess.DEVNULL)
    try:
        say(f"== pipeline: one batch of {args.invoices} invoices through the gateway")
        result = asyncio.run(bench_pipeline(args.invoices))
        for key, value in result.items():
            say(f"  {key:32} {value}")
        out = ROOT / ".run" / "bench-last.json"
        out.write_text(json.dumps(result, indent=2))
        say(f"(saved {out})")
    finally:
        started = sorted(set(services) - services_before)
        if started:
            subprocess.run(
                [str(PYTHON), str(LAUNCHER_SCRIPT), "stop-services", *started],
                check=False,
                stdout=subprocess.DEVNULL,
            )
        stack_started = sorted(set(STACK_PORTS) - stack_before)
        if stack_started:
            subprocess.run(
                [str(PYTHON), str(STACK_SCRIPT), "down", *stack_started],
                check=False,
                stdout=subprocess.DEVNULL,
            )


if __name__ == "__main__":
    main()
