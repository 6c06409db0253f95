"""One PNG per run: stage throughput, retail latency, CPU and RSS over time."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from bench.procs import Sample  # noqa: E402
from bench.report import Run, percentile  # noqa: E402

PLOTTED_STAGES = ("issued", "rendered", "mailed")


def draw(run: Run, out: Path, ceiling: float | None) -> None:
    t0 = run.tally.first_publish_at or (run.samples[0].at if run.samples else 0.0)
    fig, axes = plt.subplots(2, 2, figsize=(15, 10), constrained_layout=True)
    (flow, retail), (cpu, rss) = axes
    fig.suptitle(
        f"make bench: {run.load.invoices:,} utility invoices + retail at "
        f"{run.load.retail_rate:g}/s ({run.outcome}), {run.started:%Y-%m-%d %H:%M}, "
        f"{run.machine.get('cores')} cores"
    )
    _flow(flow, run, t0, ceiling)
    _retail(retail, run, t0)
    _cpu(cpu, run, t0)
    _rss(rss, run, t0)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
        ax.set_xlabel("s since first publish")
        ax.set_xlim(left=0)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _flow(ax: Axes, run: Run, t0: float, ceiling: float | None) -> None:
    """Completions per second of each stage, in bins of about 1/80 of the run."""
    times = run.stage_times()
    last = max((max(t.values()) for t in times.values() if t), default=t0 + 1)
    width = max(5.0, math.ceil((last - t0) / 80))
    edges = [i * width for i in range(math.ceil((last - t0) / width) + 1)]
    for stage in PLOTTED_STAGES:
        counts = [0] * max(1, len(edges) - 1)
        for t in times.values():
            if stage in t:
                counts[min(int((t[stage] - t0) // width), len(counts) - 1)] += 1
        ax.stairs([c / width for c in counts], edges[: len(counts) + 1], label=stage)
    if ceiling:
        label = f"renderer ceiling {ceiling:.1f}/s"
        ax.axhline(ceiling, color="grey", linestyle="--", label=label)
    ax.set_title(f"Utility: completions per stage (invoices/s, {width:g}-s bins)")
    ax.set_ylabel("invoices/s")
    ax.legend(loc="upper right")


def _retail(ax: Axes, run: Run, t0: float) -> None:
    tally = run.tally
    points = sorted(
        (at - t0, tally.retail_rendered[i] - at)
        for i, at in tally.retail_requested.items()
        if i in tally.retail_rendered
    )
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], ".-", markersize=4)
        p95 = percentile([p[1] for p in points], 0.95)
        ax.axhline(p95, color="tab:red", linestyle="--", label=f"p95 {p95:.1f} s")
    missing = [
        at - t0 for i, at in tally.retail_requested.items() if i not in tally.retail_rendered
    ]
    if missing:
        ax.plot(missing, [0] * len(missing), "rx", label="no PDF by the end")
    ax.set_title("Retail: request → PDF downloadable (s), by time of request")
    ax.set_ylabel("latency, s")
    ax.set_ylim(bottom=0)
    if points or missing:
        ax.legend(loc="upper left")


def _mean_every(values: list[float], k: int) -> list[float]:
    return [sum(values[i : i + k]) / len(values[i : i + k]) for i in range(0, len(values), k)]


def _cpu(ax: Axes, run: Run, t0: float) -> None:
    """Cores busy per process group, stacked, with the rest of the machine on top."""
    samples = run.samples
    pairs = list(zip(samples, samples[1:], strict=False))
    if not pairs:
        return
    k = max(1, len(pairs) // 150)  # average over k samples: about 150 points per line

    def rate(a: Sample, b: Sample, value: Callable[[Sample], float]) -> float:
        return max(0.0, (value(b) - value(a)) / max(b.at - a.at, 1e-3))

    stacks = [
        [rate(a, b, lambda s, n=name: s.cpu_s.get(n, 0.0)) for a, b in pairs] for name in run.kinds
    ]
    busy = [rate(a, b, lambda s: s.machine_busy_s) for a, b in pairs]
    rest = [max(0.0, busy[i] - sum(line[i] for line in stacks)) for i in range(len(pairs))]
    ax.stackplot(
        _mean_every([(a.at + b.at) / 2 - t0 for a, b in pairs], k),
        [_mean_every(v, k) for v in [*stacks, rest]],
        labels=[*run.kinds, "everything else"],
        colors=[*_colours(len(run.kinds)), "lightgrey"],
    )
    ax.axhline(float(run.machine.get("cores", 0)), color="black", linestyle=":")
    ax.set_title("CPU: cores busy per process group (stacked; dotted: all cores)")
    ax.set_ylabel("cores")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, ncol=6)


def _rss(ax: Axes, run: Run, t0: float) -> None:
    at = [s.at - t0 for s in run.samples]
    for name, colour in zip(run.kinds, _colours(len(run.kinds)), strict=True):
        mib = [s.rss_bytes[name] / 2**20 if name in s.rss_bytes else math.nan for s in run.samples]
        ax.plot(at, mib, label=name, color=colour)
    ax.set_title("RSS per process group (MiB; a pool's shared pages count per worker)")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, ncol=6)


def _colours(count: int) -> list[tuple[float, float, float]]:
    palette = plt.get_cmap("tab20").colors
    return [palette[i % len(palette)] for i in range(count)]
