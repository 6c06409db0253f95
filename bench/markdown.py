"""The run's figures as a Markdown report."""

from __future__ import annotations

import math
from typing import Any

from bench.baselines import Baseline
from bench.report import Run

OUTCOMES = {
    "complete": "complete: every utility invoice was mailed or failed",
    "timeout": "INCOMPLETE: the global timeout ended the run; the figures are partial",
    "stalled": "INCOMPLETE: nothing progressed for too long; the figures are partial",
    "stopped": "INCOMPLETE: stopped by a signal; the figures are partial",
    "error": "INCOMPLETE: the load failed; the figures are partial",
}


def _n(value: Any, places: int = 1, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{places}f}{unit}"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render(run: Run, f: dict[str, Any], chart_name: str, summary: str) -> str:
    b = run.baselines
    retail, cpu = f["retail"], f["cpu"]
    out = [
        f"# make bench, {run.started:%Y-%m-%d %H:%M}",
        "",
        f"**Outcome:** {OUTCOMES.get(run.outcome, run.outcome)}."
        + (f" {run.detail}" if run.detail else ""),
        "",
        f"Load: {f['n']:,} utility invoices through `POST /api/v1/batches` in chunks of "
        f"{run.load.chunk:,} (run `{run.load.run_id}`), and meanwhile "
        f"{run.load.retail_rate:g} retail request/s (receipt pushed, then the shopper's request).",
        "",
        "```",
        summary,
        "```",
        "",
        "## Summary",
        "",
        *_table(
            ["figure", "value"],
            [
                [
                    "end-to-end throughput (first publish → last mail accepted by SMTP)",
                    _n(f["throughput_per_s"], 2, " invoices/s"),
                ],
                ["mailed / failed / of", f"{f['mailed']:,} / {f['failed']:,} / {f['n']:,}"],
                [
                    "wall time, first publish → last mail",
                    _n(f["first_publish_to_last_mail_s"], 1, " s"),
                ],
                [
                    "renderer ceiling (renderer alone)",
                    _n(b[0].median if b else None, 2, " renders/s"),
                ],
                ["end-to-end / renderer ceiling", _n(f["ratio_to_ceiling"], 2)],
                ["WeasyPrint, same HTML", _weasy(b)],
                [
                    "retail request → PDF p50 / p95 / p99",
                    f"{_n(retail['p50'])} / {_n(retail['p95'])} / {_n(retail['p99'])} s",
                ],
                ["largest RSS growth of a service, start → end", _n(f["rss_growth_pct"], 1, " %")],
                [
                    "CPU per invoice, services + stack (batch and retail invoices)",
                    _n(cpu["platform_ms_per_invoice"], 0, " ms"),
                ],
                [
                    f"CPU-bound capacity of these {run.machine.get('cores')} cores "
                    "(cores / CPU per invoice)",
                    _n(cpu["capacity_per_s"], 2, " invoices/s"),
                ],
                [
                    "pdf-renderer CPU per invoice / renderer alone",
                    f"{_n(cpu['renderer_ms_per_invoice'], 0, ' ms')} / "
                    f"{_n(b[0].cpu_ms if b else None, 0, ' ms')}",
                ],
            ],
        ),
        "",
        "Renders/s and invoices/s move with whatever else the machine runs; CPU time per "
        "render or per invoice hardly does, so the CPU figures are the ones to compare "
        "between runs on a busy machine.",
        "",
        f"![throughput, retail latency, CPU and RSS over time]({chart_name})",
        "",
        "## Machine",
        "",
        *_table(["", ""], [[k, str(v)] for k, v in run.machine.items()]),
        "",
        "The stack and the services share these cores with the harness and anything else "
        "running on the machine (see *everything else on the machine* below).",
        "",
        *_baselines(b, f),
        *_stages(f),
        *_retail(retail),
        *_resources(f),
        *_database(f),
    ]
    return "\n".join(out) + "\n"


def _weasy(b: list[Baseline]) -> str:
    if len(b) < 2:
        return "n/a"
    if b[1].median is None:
        return f"n/a ({b[1].error})"
    ratio = b[1].median / b[0].median if b[0].median else math.nan
    return f"{b[1].median:.2f} renders/s ({ratio:.2f}× the renderer alone)"


def _baselines(b: list[Baseline], f: dict[str, Any]) -> list[str]:
    rows = [
        [
            x.name,
            ", ".join(f"{r:.2f}" for r in x.rounds) or "—",
            _n(x.median, 2),
            _n(x.cpu_ms, 0),
            _n(x.cpu_ceiling, 2),
            f"{x.pdf_bytes / 1024:.0f} KiB" if x.pdf_bytes else "—",
            x.error or "",
        ]
        for x in b
    ]
    wp = b[1].median if len(b) > 1 else None
    return [
        "## Baselines (before the pipeline run)",
        "",
        f"One sample utility invoice rendered in a tight loop by a process pool of "
        f"{b[0].workers if b else '?'} workers (os.cpu_count()), {b[0].renders if b else '?'} "
        "renders per round, no Kafka, S3 or SMTP. *CPU ms*: median CPU time of one render in "
        "a worker; *cores alone*: renders/s if the renderer had every core to itself "
        "(workers × 1000 / CPU ms).",
        "",
        *_table(
            [
                "renderer",
                "renders/s per round",
                "median renders/s",
                "CPU ms",
                "cores alone, renders/s",
                "PDF size",
                "note",
            ],
            rows,
        ),
        "",
        f"End-to-end throughput is {_n(f['ratio_to_ceiling'] * 100, 0)} % of the renderer "
        f"ceiling"
        + (f" and {_n(f['throughput_per_s'] / wp * 100, 0)} % of WeasyPrint's." if wp else "."),
        "",
    ]


def _stages(f: dict[str, Any]) -> list[str]:
    rows = [
        [
            stage,
            f"{s['count']:,}",
            _n(s["first_s"]),
            _n(s["last_s"]),
            _n(s["per_s_since_start"], 2),
            _n(s["per_s_active"], 2),
        ]
        for stage, s in f["stages"].items()
    ]
    gaps = [
        [
            name,
            f"{g['count']:,}",
            _n(g["p50"], 2),
            _n(g["p95"], 2),
            _n(g["p99"], 2),
            _n(g["max"], 2),
        ]
        for name, g in f["gaps"].items()
    ]
    return [
        "## Utility pipeline, per stage",
        "",
        "Stage times are the events' `occurred_at` as the delivery read model records them "
        "(`requested_at`: the gateway accepted it; `issued_at`: invoice-builder; "
        "`rendered_at`: the PDF is in S3; `mailed_at`: SMTP accepted the e-mail). "
        "*Per s*: completions per second from the first publish to the stage's last completion "
        "(for *mailed* that is the end-to-end throughput); *while active*: between the stage's "
        "first and last completion (n/a when either is under a second).",
        "",
        *_table(
            ["stage", "completed", "first at (s)", "last at (s)", "per s", "per s while active"],
            rows,
        ),
        "",
        "Latency of each stage gap, seconds (queueing included: the whole batch arrives at once):",
        "",
        *_table(["gap", "invoices", "p50", "p95", "p99", "max"], gaps),
        "",
    ]


def _retail(r: dict[str, Any]) -> list[str]:
    lines = [
        "## Retail while the batch runs",
        "",
        "From the shopper's `retail.invoice.requested` to `pdf.rendered` (PDF downloadable), "
        "for requests made while the utility batch was in flight.",
        "",
        *_table(
            [
                "requested",
                "with PDF",
                "rejected",
                "no PDF by the end",
                "p50 s",
                "p95 s",
                "p99 s",
                "max s",
            ],
            [
                [
                    str(r["requested"]),
                    str(r["with_pdf"]),
                    str(r["failed"]),
                    str(r["without_pdf"]),
                    _n(r["p50"], 2),
                    _n(r["p95"], 2),
                    _n(r["p99"], 2),
                    _n(r["max"], 2),
                ]
            ],
        ),
        "",
    ]
    if r["errors"]:
        lines += [f"{r['errors']} requests could not be made: {'; '.join(r['first_errors'])}", ""]
    return lines


def _database(f: dict[str, Any]) -> list[str]:
    rows = [
        [
            r["service"],
            r["command"],
            r["collection"],
            f"{r['commands']:,.0f}",
            _n(r["per_invoice"], 2),
            _n(r["ms_per_invoice"], 2),
        ]
        for r in f.get("db", [])
    ]
    if not rows:
        return []
    totals = ", ".join(f"{s} {n:.1f}" for s, n in sorted(f["db_per_invoice"].items()))
    return [
        "## MongoDB round trips per invoice",
        "",
        "From each service's `einvoice_mongo_command_seconds` before and after the load "
        "(a `bulk_write` of many updates is one command). *ms/invoice* is the client's wait, "
        f"not the server's CPU. Per service: {totals}.",
        "",
        *_table(
            ["service", "command", "collection", "commands", "per invoice", "ms/invoice"], rows
        ),
        "",
    ]


def _resources(f: dict[str, Any]) -> list[str]:
    rows = [
        [
            r["name"],
            r["kind"],
            str(r.get("restarts", "")),
            _n(r["cpu_s"]),
            _n(r["cores"], 2),
            _n(r["cpu_ms_per_invoice"], 1),
            _n(r.get("peak_rss_mib"), 0),
            _n(r.get("start_rss_mib"), 0),
            _n(r.get("end_rss_mib"), 0),
            _n(r.get("growth_pct"), 1),
            _n(r.get("growth_after_warmup_pct"), 1),
        ]
        for r in f["resources"]
    ]
    head = [
        "process group",
        "kind",
        "restarts",
        "CPU s",
        "cores (avg)",
        "CPU ms/invoice",
        "peak RSS MiB",
        "RSS start",
        "RSS end",
        "growth %",
        "growth % after warm-up",
    ]
    return [
        "## CPU and memory per process group",
        "",
        "Sampled from /proc every second while the load ran. A service is its process group "
        "(pdf-renderer's pool workers included); a stack part likewise. RSS sums the group's "
        "processes, so pages shared by forked workers count more than once. *After warm-up* "
        "compares the end with the sample a quarter into the run. *CPU ms/invoice* divides by "
        f"every invoice produced meanwhile ({f['cpu']['invoices']:,}: the batch's mailed and "
        "the shoppers' rendered).",
        "",
        *_table(head, rows),
        "",
    ]
