"""`make bench`: how fast the platform delivers on this machine, and what it costs.

1. Baselines: the renderer alone in a tight loop (the ceiling) and WeasyPrint on the same
   HTML, each in a pool of os.cpu_count() workers; the median of a few rounds.
2. The pipeline on the real local stack (started, or reused if running; only what this run
   started is stopped): N utility invoices through the gateway and, meanwhile, a steady
   stream of retail requests; per-stage rates and latencies, retail request-to-PDF latency,
   CPU and RSS of every service and stack part, sampled every second.
3. A Markdown report, its JSON figures and a PNG chart in bench/results/ (git-ignored); the
   last line printed is a one-line summary.

    .venv/bin/python bench/run.py [--invoices 10000] [--retail-rate 1] [--timeout SECONDS]

Everything is bounded by one global timeout: when it strikes, the run stops its load, writes
a partial report and says so. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import baselines, chart, dbops, markdown, procs, report, workload  # noqa: E402
from bench.tally import Tally, collect  # noqa: E402
from einvoice.mongo import mongo_client  # noqa: E402
from einvoice.settings import Settings  # noqa: E402
from tests.support import (  # noqa: E402
    GATEWAY,
    STACK_PORTS,
    LocalStack,
    launcher,
    local_settings,
)

RESULTS = ROOT / "bench" / "results"
PIDS = ROOT / ".run" / "pids"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", "-n", type=int, default=10_000, help="utility invoices")
    parser.add_argument("--chunk", type=int, default=1000, help="invoices per POST (one batch)")
    parser.add_argument("--retail-rate", type=float, default=1.0, help="retail requests per s")
    parser.add_argument(
        "--business-share", type=float, default=0.5, help="utility invoices to businesses (KSeF)"
    )
    parser.add_argument(
        "--retail-company-share",
        type=float,
        default=0.5,
        help="shoppers asking for a company invoice (KSeF, online session)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each baseline")
    parser.add_argument("--renders", type=int, default=40, help="renders per baseline round")
    parser.add_argument(
        "--timeout", type=float, help="global limit in seconds (default 600 + invoices / 10)"
    )
    parser.add_argument("--stall", type=float, default=300, help="give up after s of no progress")
    parser.add_argument(
        "--progress-every", type=float, help="s between progress lines (default 10, 30 above 10k)"
    )
    args = parser.parse_args()
    if args.timeout is None:
        args.timeout = 600 + args.invoices / 10
    if args.progress_every is None:
        args.progress_every = 10 if args.invoices <= 10_000 else 30
    return args


def targets(services: list[str]) -> list[procs.Target]:
    """Every service and stack part running now, by the pid files the launchers write."""
    found = [procs.Target("bench harness", "harness", os.getpid(), whole_group=False)]
    for name in services:
        pid = procs.group_leader(PIDS / f"svc-{name}.pid")
        if pid:
            found.append(procs.Target(name, "service", pid))
    for part in STACK_PORTS:
        pid = procs.group_leader(PIDS / f"{part}.pid")
        if pid:
            found.append(procs.Target(part, "infrastructure", pid))
    return found


async def pipeline(
    args: argparse.Namespace,
    machine: dict[str, str],
    renderers: list[baselines.Baseline],
    run_deadline: float,
    services: list[str],
) -> tuple[report.Run, dict[str, Any]]:
    started = datetime.now()
    load = workload.Load(
        args.invoices,
        args.chunk,
        args.retail_rate,
        args.business_share,
        args.retail_company_share,
    )
    # Keep a reserve after the load for reading the read model and writing the report.
    reserve = min(60 + args.invoices / 2000, args.timeout / 5)
    limits = workload.Limits(run_deadline - reserve, args.stall, retail_grace=300)
    tally = Tally()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    settings = Settings(**local_settings())
    mongo = mongo_client(settings)
    sampler = procs.Sampler(lambda: targets(services))
    unmeasured = (set(services) | set(STACK_PORTS)) - {t.name for t in targets(services)}
    if unmeasured:
        say(f"   not measured (no live pid file): {', '.join(sorted(unmeasured))}")
    progress = report.ProgressLine(load.invoices, say, args.progress_every)
    outcome, detail = "error", ""
    say(
        f"== pipeline: {load.invoices:,} utility invoices (run {load.run_id}), "
        f"retail {load.retail_rate:g}/s; progress every {args.progress_every:g} s"
    )
    try:
        async with httpx.AsyncClient(base_url=GATEWAY, timeout=120) as http:
            ports = {name: port for name, (_, port) in launcher().SERVICES.items()}
            db_before = dbops.snapshot(ports)
            sampler.start()
            try:
                clients = workload.Clients(http, mongo, settings.kafka_bootstrap)
                outcome = await workload.run(load, clients, tally, limits, progress, stop)
            except Exception as exc:  # a partial report is worth more than a traceback
                detail = f"{type(exc).__name__}: {exc}"
            finally:
                sampler.stop()
                db_after = dbops.snapshot(ports)
        if outcome == "timeout":
            detail = (
                f"The global timeout ({args.timeout:.0f} s, --timeout) struck with "
                f"{tally.done:,} of {load.invoices:,} invoices mailed or failed; the rest are "
                "still in the pipeline and will be delivered after this run."
            )
        elif outcome == "stalled":
            detail = f"Nothing progressed for {args.stall:.0f} s (--stall); see .run/logs/."
        say(f"== load {outcome}; reading the read model")
        if detail:
            say(f"   {detail}")
        rows = await collect(mongo, tally, run_deadline)
    finally:
        await mongo.close()
    run = report.Run(
        load,
        outcome,
        detail,
        machine,
        renderers,
        tally,
        rows,
        sampler.samples,
        sampler.kinds,
        sampler.restarts,
        started,
        db_before,
        db_after,
    )
    return run, report.figures(run)


def write(run: report.Run, figures: dict[str, Any]) -> str:
    """The report, its figures and its chart in bench/results/; returns the summary line."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{run.started:%Y%m%d-%H%M%S}-n{run.load.invoices}"
    summary = report.summary_line(figures, run.baselines)
    ceiling = run.baselines[0].median if run.baselines else None
    chart.draw(run, RESULTS / f"{stem}.png", ceiling)
    (RESULTS / f"{stem}.md").write_text(markdown.render(run, figures, f"{stem}.png", summary))
    (RESULTS / f"{stem}.json").write_text(json.dumps(_json_ready(figures), indent=2))
    say(f"== report {RESULTS / stem}.md, chart {stem}.png, figures {stem}.json")
    return summary


def _json_ready(value: Any) -> Any:
    """NaN (not measured) as null: strict JSON has no NaN."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def print_summary(f: dict[str, Any]) -> None:
    def n(value: float, unit: str = "s", width: int = 8) -> str:
        return f"{'n/a':>{width}}" if math.isnan(value) else f"{value:{width}.2f}{unit}"

    cpu = f["cpu"]
    say(
        f"   end-to-end {n(f['throughput_per_s'], '', 0)} invoices/s, {f['mailed']} mailed; "
        f"CPU {n(cpu['platform_ms_per_invoice'], '', 0)} ms per invoice (services + stack), "
        f"so these cores could do {n(cpu['capacity_per_s'], '', 0)}/s"
    )
    for name, g in f["gaps"].items():
        say(f"   {name:20} p50 {n(g['p50'])}  p95 {n(g['p95'])}  p99 {n(g['p99'])}")
    r = f["retail"]
    say(
        f"   {'retail → PDF':20} p50 {n(r['p50'])}  p95 {n(r['p95'])}  p99 {n(r['p99'])}  "
        f"({r['with_pdf']}/{r['requested']} with PDF)"
    )
    if f.get("db_per_invoice"):
        per = ", ".join(f"{s} {v:.1f}" for s, v in sorted(f["db_per_invoice"].items()))
        say(f"   MongoDB commands per invoice: {per}")
    for row in f["resources"]:
        line = f"   {row['name']:30} CPU {n(row['cpu_s'])}"
        if "peak_rss_mib" in row:
            line += f"  peak RSS {row['peak_rss_mib']:6.0f} MiB  growth {n(row['growth_pct'], '%')}"
        say(line)


def main() -> int:
    args = arguments()
    run_deadline = time.monotonic() + args.timeout
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly, as on Ctrl-C
    machine = procs.machine()
    say(
        f"== make bench: {args.invoices:,} invoices; global timeout {args.timeout:.0f} s; "
        f"{machine['cores']} cores, {machine['cpu']}, {machine['ram']}"
    )
    stack = LocalStack(say)
    renderers: list[baselines.Baseline] = []
    summary = None
    try:
        say(f"== baselines: {args.rounds} rounds of {args.renders} renders each")
        renderers = [
            baselines.renderer_ceiling(args.rounds, args.renders),
            baselines.weasyprint_baseline(args.rounds, args.renders),
        ]
        for b in renderers:
            rounds = ", ".join(f"{r:.1f}" for r in b.rounds)
            found = (
                f"median {b.median:.2f}/s ({rounds}), {b.cpu_ms:.0f} CPU ms/render"
                if b.median and b.cpu_ms
                else f"n/a: {b.error}"
            )
            say(f"   {b.name:32} {found}")
        say("== local stack and services (launcher.py up)")
        stack.up(run_deadline - time.monotonic())
        run, figures = asyncio.run(pipeline(args, machine, renderers, run_deadline, stack.services))
        print_summary(figures)
        summary = write(run, figures)
    except (RuntimeError, OSError, subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        status = "stopped" if isinstance(exc, KeyboardInterrupt) else "error"
        say(f"== bench {status}: {type(exc).__name__}: {exc}")
        summary = report.summary_line({"n": args.invoices, "status": status}, renderers)
    finally:
        stack.down()
    say(summary)
    return 0 if summary.split()[2] == "status=complete" else 1


if __name__ == "__main__":
    sys.exit(main())
