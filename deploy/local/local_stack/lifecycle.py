"""Bringing one part up (reuse what answers, else install, start and wait until it answers)
and down (exactly the pid in its pid file)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import dataclass

from .part import Part, Rejected
from .processes import StackError, listening_pid, pid_alive, port_open, stop_pid


@dataclass
class Outcome:
    part: Part
    ok: bool
    how: str  # started / reused / failed
    pid: int | None
    seconds: float
    detail: str = ""


def wait_ready(
    part: Part, deadline: float, proc: subprocess.Popen[bytes] | None, pid: int | None
) -> tuple[bool, str]:
    detail = ""
    while True:
        try:
            ok, detail = part.probe()
        except Rejected as exc:
            if proc is None:  # an already running server: its answer is final
                return False, str(exc)
            ok, detail = False, str(exc)  # a fresh server may still be loading its config
        if ok:
            return True, detail
        if proc is not None and proc.poll() is not None:
            return False, f"process exited with code {proc.returncode} ({detail})"
        if proc is None and pid is not None and not pid_alive(pid):
            return False, f"process {pid} died ({detail})"
        if time.monotonic() >= deadline:
            return False, f"not ready before the deadline ({detail})"
        time.sleep(0.2)


def bring_up(part: Part) -> Outcome:
    t0 = time.monotonic()
    deadline = t0 + part.timeout
    try:
        pid = part.our_pid()
        if part.answers():
            # Something answers on the port: ours (pid file) or foreign. Reuse it either way.
            owner = pid or listening_pid(part.port)
            # A foreign process gets a short grace; ours may still be starting.
            ok, detail = wait_ready(part, deadline if pid else min(deadline, t0 + 15), None, pid)
            if not ok and pid is None:
                detail = (
                    f"port {part.port} is taken by pid {owner or '?'}, "
                    f"which does not answer as {part.name}: {detail}"
                )
            how = "reused" if pid else "reused (not started by stack.py)"
            if not ok and part.usable_anyway():  # e.g. S3 answers, but not to our keys
                return Outcome(part, True, how, owner, time.monotonic() - t0, f"WARNING {detail}")
            return Outcome(part, ok, how if ok else "failed", owner, time.monotonic() - t0, detail)
        if pid is not None:
            # Our process is alive but not answering yet: a start still in progress.
            ok, detail = wait_ready(part, deadline, None, pid)
            return Outcome(
                part, ok, "reused" if ok else "failed", pid, time.monotonic() - t0, detail
            )
        busy = [p for p in part.extra_ports if port_open(p, 0.2)]
        if busy:
            owners = ", ".join(f"{p} (pid {listening_pid(p) or '?'})" for p in busy)
            raise StackError(f"port(s) needed by {part.name} already in use: {owners}")
        installed_now = part.ensure_installed()
        t_start = time.monotonic()
        proc = part.start()
        ok, detail = wait_ready(part, t_start + part.timeout, proc, None)
        if installed_now:
            detail += f"; install {t_start - t0:.1f}s"
        return Outcome(
            part, ok, "started" if ok else "failed", proc.pid, time.monotonic() - t0, detail
        )
    except StackError as exc:
        return Outcome(part, False, "failed", None, time.monotonic() - t0, str(exc))
    except Exception as exc:  # keep the other parts' results
        return Outcome(
            part, False, "failed", None, time.monotonic() - t0, f"{type(exc).__name__}: {exc}"
        )


def take_down(part: Part) -> str:
    """Stop the part's process if its pid file names a live process of ours; one line."""
    t = time.monotonic()
    had_file = part.pid_file.exists()
    pid = part.our_pid()  # removes a stale pid file
    if pid is None:
        msg = "not running (stale pid file removed)" if had_file else "not running"
        if part.answers():
            owner = listening_pid(part.port) or "?"
            msg += f"; port {part.port} answered by pid {owner}, not ours: left alone"
        return f"{part.name:<11} {msg}"
    how = stop_pid(pid, 60 if part.name == "kafka" else 30)
    with contextlib.suppress(OSError):
        part.pid_file.unlink()
    return f"{part.name:<11} pid {pid:<7} {how} in {time.monotonic() - t:.1f}s"
