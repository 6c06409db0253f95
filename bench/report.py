"""From what a run measured to figures: throughput, per-stage rates and latency percentiles,
retail latency, CPU and memory per process group; as Markdown, JSON and one summary line."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench import dbops
from bench.baselines import Baseline
from bench.procs import Sample
from bench.tally import Tally
from bench.workload import Load

STAGES = ("requested", "issued", "rendered", "mailed")
GAPS = [(a, b) for a, b in zip(STAGES, STAGES[1:], strict=False)] + [("requested", "mailed")]


def percentile(values: list[float], q: float) -> float:
    """The q-th quantile (0..1), linear between closest ranks; nan when there is no value."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def spread(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": max(values, default=math.nan),
    }


@dataclass
class Run:
    """Everything one run measured."""

    load: Load
    outcome: str
    detail: str
    machine: dict[str, str]
    baselines: list[Baseline]
    tally: Tally
    rows: list[dict[str, Any]]
    samples: list[Sample]
    kinds: dict[str, str]  # process group -> "service", "infrastructure" or "harness"
    restarts: dict[str, int]
    started: datetime = field(default_factory=datetime.now)
    db_before: dict[str, Any] = field(default_factory=dict)  # bench.dbops snapshots
    db_after: dict[str, Any] = field(default_factory=dict)

    def stage_times(self) -> dict[str, dict[str, float]]:
        """invoice id -> stage -> epoch seconds: the read model's rows, completed with what
        the tail saw (the same event times) where read-tracker had not caught up."""
        times: dict[str, dict[str, float]] = {}
        for row in self.rows:
            times[row["invoice_id"]] = {
                s: row[f"{s}_at"].timestamp() for s in STAGES if row.get(f"{s}_at")
            }
        for stage, seen in (("rendered", self.tally.rendered), ("mailed", self.tally.mailed)):
            for invoice_id, at in seen.items():
                times.setdefault(invoice_id, {}).setdefault(stage, at)
        return times


def figures(run: Run) -> dict[str, Any]:
    """The run's numbers, as one JSON-ready dict (the report and the summary read it)."""
    times = run.stage_times()
    t0 = run.tally.first_publish_at or (run.samples[0].at if run.samples else time.time())
    mailed = [t["mailed"] for t in times.values() if "mailed" in t]
    span = (max(mailed) - t0) if mailed else math.nan
    out: dict[str, Any] = {
        "n": run.load.invoices,
        "status": run.outcome,
        "mailed": len(mailed),
        "failed": len(run.tally.failed),
        "first_publish_to_last_mail_s": span,
        "throughput_per_s": len(mailed) / span if mailed and span > 0 else math.nan,
        "all_published_after_s": (run.tally.all_published_at or math.nan) - t0,
        "stages": {},
        "gaps": {},
    }
    for stage in STAGES:
        at = sorted(t[stage] for t in times.values() if stage in t)
        active = at[-1] - at[0] if len(at) > 1 else math.nan
        since_start = at[-1] - t0 if at else math.nan
        out["stages"][stage] = {
            "count": len(at),
            "first_s": at[0] - t0 if at else math.nan,
            "last_s": since_start,
            "per_s_since_start": len(at) / since_start if since_start >= 1 else math.nan,
            "per_s_active": (len(at) - 1) / active if active >= 1 else math.nan,
        }
    for a, b in GAPS:
        gaps = [t[b] - t[a] for t in times.values() if a in t and b in t]
        out["gaps"][f"{a}→{b}"] = spread(gaps) | {"count": len(gaps)}
    out["retail"] = retail_figures(run.tally)
    out["baselines"] = {
        b.name: {"per_s": b.median, "cpu_ms": b.cpu_ms, "cpu_ceiling_per_s": b.cpu_ceiling}
        for b in run.baselines
    }
    ceiling = run.baselines[0].median if run.baselines else None
    out["ratio_to_ceiling"] = out["throughput_per_s"] / ceiling if ceiling else math.nan
    # Every invoice the platform produced costs CPU: the batch's and the shoppers'.
    produced = len(mailed) + out["retail"]["with_pdf"]
    out["resources"] = resources(run, produced)
    services = [r for r in out["resources"] if r["kind"] == "service"]
    for key, column in (
        ("rss_growth_pct", "growth_pct"),
        ("rss_growth_warm_pct", "growth_after_warmup_pct"),
    ):
        growths = [r[column] for r in services if not math.isnan(r[column])]
        out[key] = max(growths, default=math.nan)
    out["cpu"] = cpu_figures(out["resources"], produced, float(run.machine.get("cores", 1)))
    out["db"] = dbops.per_invoice(run.db_before, run.db_after, produced)
    totals: dict[str, float] = {}
    for row in out["db"]:
        totals[row["service"]] = totals.get(row["service"], 0) + row["per_invoice"]
    out["db_per_invoice"] = totals
    return out


def cpu_figures(rows: list[dict[str, Any]], produced: int, cores: float) -> dict[str, Any]:
    """What an invoice costs the platform in CPU, noise or not, and what that allows."""
    platform = sum(r["cpu_s"] for r in rows if r["kind"] in ("service", "infrastructure"))
    per_invoice = platform / produced if produced else math.nan
    renderer = next((r["cpu_s"] for r in rows if r["name"] == "pdf-renderer"), math.nan)
    return {
        "invoices": produced,
        "platform_ms_per_invoice": per_invoice * 1000,
        "renderer_ms_per_invoice": renderer * 1000 / produced if produced else math.nan,
        "capacity_per_s": cores / per_invoice if per_invoice > 0 else math.nan,
    }


def retail_figures(tally: Tally) -> dict[str, Any]:
    latencies = [
        tally.retail_rendered[i] - at
        for i, at in tally.retail_requested.items()
        if i in tally.retail_rendered
    ]
    return spread(latencies) | {
        "requested": len(tally.retail_requested),
        "with_pdf": len(latencies),
        "failed": len(tally.retail_failed),
        "without_pdf": tally.retail_pending,
        "errors": len(tally.retail_errors),
        "first_errors": sorted(set(tally.retail_errors))[:3],
    }


def resources(run: Run, invoices: int) -> list[dict[str, Any]]:
    """Per process group: CPU seconds over the run, peak RSS, RSS at the start, a quarter in
    (after warm-up) and at the end, and the growth from start and from warm-up to the end
    (not for a group that restarted during the run: its processes are not comparable)."""
    samples = run.samples
    if len(samples) < 2:
        return []
    first, last = samples[0], samples[-1]
    warm = samples[len(samples) // 4]
    seconds = last.at - first.at
    out = []
    for name, kind in run.kinds.items():
        cpu = last.cpu_s.get(name, math.nan) - first.cpu_s.get(name, 0.0)
        rss = [s.rss_bytes[name] for s in samples if name in s.rss_bytes]
        start, end = first.rss_bytes.get(name), last.rss_bytes.get(name)
        warmed = warm.rss_bytes.get(name)
        restarted = run.restarts.get(name, 0)
        out.append(
            {
                "name": name,
                "kind": kind,
                "restarts": restarted,
                "cpu_s": cpu,
                "cores": cpu / seconds if seconds > 0 else math.nan,
                "cpu_ms_per_invoice": cpu * 1000 / invoices if invoices else math.nan,
                "peak_rss_mib": max(rss, default=0) / 2**20,
                "start_rss_mib": (start or 0) / 2**20,
                "warm_rss_mib": (warmed or 0) / 2**20,
                "end_rss_mib": (end or 0) / 2**20,
                "growth_pct": math.nan if restarted else _growth(start, end),
                "growth_after_warmup_pct": math.nan if restarted else _growth(warmed, end),
            }
        )
    busy = last.machine_busy_s - first.machine_busy_s
    tracked = sum(r["cpu_s"] for r in out if not math.isnan(r["cpu_s"]))
    out.append(
        {
            "name": "everything else on the machine",
            "kind": "other",
            "cpu_s": busy - tracked,
            "cores": (busy - tracked) / seconds if seconds > 0 else math.nan,
            "cpu_ms_per_invoice": math.nan,
        }
    )
    return out


def _growth(start: int | None, end: int | None) -> float:
    return (end - start) * 100 / start if start and end else math.nan


def summary_line(f: dict[str, Any], baselines: list[Baseline]) -> str:
    """The machine-readable last line of a run (n/a for what was not measured)."""

    def num(value: float | None, unit: str = "", places: int = 1) -> str:
        return "n/a" if value is None or math.isnan(value) else f"{value:.{places}f}{unit}"

    ceiling = baselines[0].median if baselines else None
    weasyprint = baselines[1].median if len(baselines) > 1 else None
    retail = f.get("retail", {})
    return (
        f"bench: n={f['n']} status={f['status']} "
        f"throughput={num(f.get('throughput_per_s'), '/s')} "
        f"renderer_ceiling={num(ceiling, '/s')} weasyprint={num(weasyprint, '/s')} "
        f"ratio={num(f.get('ratio_to_ceiling'), '', 2)} "
        f"retail_p95={num(retail.get('p95'), 's')} rss_growth={num(f.get('rss_growth_pct'), '%')} "
        # From a quarter into the run, once pools and caches have filled: what would grow
        # without bound shows here.
        f"rss_growth_after_warmup={num(f.get('rss_growth_warm_pct'), '%')} "
        f"cpu_per_invoice={num(f.get('cpu', {}).get('platform_ms_per_invoice'), 'ms', 0)}"
    )


@dataclass
class ProgressLine:
    """Prints done/total, the recent rate and the ETA every `every` seconds."""

    total: int
    say: Callable[[str], None]
    every: float = 10.0
    started: float = field(default_factory=time.monotonic)
    _history: deque[tuple[float, int]] = field(default_factory=deque)
    _next: float = 0.0
    _finished: bool = False

    def __call__(self, tally: Tally) -> None:
        now = time.monotonic()
        self._history.append((now, tally.done))
        while len(self._history) > 2 and now - self._history[0][0] > 60:
            self._history.popleft()
        finished = tally.done >= self.total and not self._finished
        if now < self._next and not finished:
            return
        self._finished = self._finished or finished
        self._next = now + self.every
        (t_old, d_old), rate = self._history[0], 0.0
        if now - t_old > 1:
            rate = (tally.done - d_old) / (now - t_old)
        eta = _clock((self.total - tally.done) / rate) if rate > 0 else "?"
        self.say(
            f"[{_clock(now - self.started)}] mailed {tally.done}/{self.total} "
            f"({tally.done * 100 / self.total:.0f}%), published {tally.published}, "
            f"rendered {len(tally.rendered)}, failed {len(tally.failed)}; "
            f"{rate:.1f}/s, ETA {eta}; retail {len(tally.retail_requested)} requested, "
            f"{len(tally.retail_rendered)} PDFs"
        )


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
