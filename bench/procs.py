"""Sampling processes from /proc: CPU seconds and resident memory of each service and each
part of the local stack, once a second, on a background thread.

A service is its whole process group (the launcher starts each one in a new session, so the
group also holds pdf-renderer's pool workers); so is a stack part. CPU of a group is the
sum of utime+stime+cutime+cstime over its live members, so workers that exit and are reaped
keep counting (in their parent's cutime). RSS is summed over the members: pages shared by
forked workers count once per worker, so it overstates a pool somewhat.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
PROC = Path("/proc")


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # "service", "infrastructure" or "harness"
    pid: int
    whole_group: bool = True  # the process group led by `pid`, not only `pid`


@dataclass(frozen=True)
class Sample:
    at: float  # time.time()
    cpu_s: dict[str, float]  # per target, since the sampler started (restarts included)
    rss_bytes: dict[str, int]  # per target
    machine_busy_s: float  # cumulative CPU time of the whole machine, every core


@dataclass
class _Usage:
    cpu_ticks: int = 0
    rss_pages: int = 0
    alive: bool = False


def _read_stat(pid_dir: Path) -> tuple[int, int, int] | None:
    """(process group, utime+stime+cutime+cstime ticks, RSS pages) of one process."""
    try:
        text = (pid_dir / "stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces or ')'
    # fields[0] is stat field 3 (state): stat field k is fields[k - 3].
    if fields[0] == "Z":
        return None
    cpu = sum(int(fields[k - 3]) for k in (14, 15, 16, 17))
    return int(fields[5 - 3]), cpu, int(fields[24 - 3])


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent not idle, summed over cores (/proc/stat)."""
    first = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def measure(targets: list[Target]) -> dict[str, tuple[float, int]]:
    """One pass over /proc: (CPU seconds so far, RSS bytes) of every live target."""
    groups = {t.pid: _Usage() for t in targets if t.whole_group}
    singles = {t.pid: _Usage() for t in targets if not t.whole_group}
    for pid_dir in PROC.iterdir():
        if not pid_dir.name.isdigit():
            continue
        stat = _read_stat(pid_dir)
        if stat is None:
            continue
        pgid, ticks, pages = stat
        for usage in (groups.get(pgid), singles.get(int(pid_dir.name))):
            if usage is not None:
                usage.cpu_ticks += ticks
                usage.rss_pages += pages
                usage.alive = True
    found = {}
    for target in targets:
        usage = (groups if target.whole_group else singles)[target.pid]
        if usage.alive:
            found[target.name] = (usage.cpu_ticks / CLOCK_TICKS, usage.rss_pages * PAGE_BYTES)
    return found


@dataclass
class Sampler:
    """Measures the targets `resolve()` names (again each time, so a restarted service is
    followed to its new pid) every `interval` seconds on a daemon thread until `stop()`."""

    resolve: Callable[[], list[Target]]
    interval: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # target name -> kind, as first seen
    restarts: dict[str, int] = field(default_factory=dict)
    _last: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> (pid, CPU s)
    _total: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._take()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._take()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._take()

    def _take(self) -> None:
        targets = self.resolve()
        found = measure(targets)
        for target in targets:
            if target.name not in found:
                continue
            cpu = found[target.name][0]
            previous = self._last.get(target.name)
            if previous is None:  # first seen: counts from here (or from its start, if new)
                self.kinds.setdefault(target.name, target.kind)
                self._total[target.name] = cpu if self.samples else 0.0
            elif previous[0] == target.pid:
                self._total[target.name] += max(0.0, cpu - previous[1])
            else:  # restarted meanwhile: the new process's CPU is all within the run
                self._total[target.name] += cpu
                self.restarts[target.name] = self.restarts.get(target.name, 0) + 1
            self._last[target.name] = (target.pid, cpu)
        rss = {name: usage[1] for name, usage in found.items()}
        self.samples.append(Sample(time.time(), dict(self._total), rss, machine_busy_seconds()))


def group_leader(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is alive."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if (PROC / str(pid)).exists() and _read_stat(PROC / str(pid)) else None


def machine() -> dict[str, str]:
    """Cores, CPU model, RAM, OS and Python: the lines a result needs to be compared."""
    model = "unknown"
    for line in (PROC / "cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in (PROC / "meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
