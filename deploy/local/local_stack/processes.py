"""Processes of the local stack and the services: pid files, start, stop by pid, port checks.

Nothing here finds a process by name: what was started is stopped by the pid its pid file
holds, and a pid file only counts while that process is alive.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from .paths import HOST


class StackError(Exception):
    pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def pid_cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline")
            .read_bytes()
            .replace(b"\x00", b" ")
            .decode(errors="replace")
        )
    except OSError:
        return ""


def live_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is alive; None otherwise."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def port_open(port: int, timeout: float = 0.5) -> bool:
    """Does anything accept a TCP connection on HOST:port?"""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def listening_pid(port: int) -> int | None:
    """Best effort: the pid listening on TCP `port` (Linux /proc), None if unknown."""
    inodes: set[str] = set()
    want = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[1].endswith(want) and cols[3] == "0A":  # 0A: LISTEN
                inodes.add(cols[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in targets:
                    return int(proc.name)
        except OSError:
            continue
    return None


def spawn(
    cmd: list[str], log_path: Path, pid_file: Path, *, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start `cmd` in a session of its own (so it outlives us and is stopped as a group),
    output appended to `log_path`, its pid written to `pid_file`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def stop_pid(pid: int, timeout: float) -> str:
    """SIGTERM, then SIGKILL if `pid` is still alive after `timeout` seconds; what happened."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "already gone"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return "stopped"
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    return "killed (SIGKILL after SIGTERM timeout)"


def tail(path: Path, n: int = 30) -> str:
    """The last `n` lines of a log, for the message that says why something did not start."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(lines[-n:])


def log_header(log_path: Path, text: str) -> None:
    """A dated line in `log_path`, so a reader sees where each run's output starts."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n=== {datetime.datetime.now():%Y-%m-%d %H:%M:%S} {text}\n".encode())


def run_logged(
    cmd: list[str], log_path: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    """Run an install/format step to completion, output appended to the part's log."""
    log_header(log_path, f"$ {' '.join(cmd)}")
    with log_path.open("ab") as log:
        rc = subprocess.call(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    if rc != 0:
        raise StackError(f"`{' '.join(cmd)}` exited with {rc}")


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """One stack.py at a time changes the stack (an flock on `lock_file`)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
