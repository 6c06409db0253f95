"""What every part of the local stack is: installed once, configured, started as a process
of its own with a pid file and a log, and probed until it answers."""

from __future__ import annotations

import abc
import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from .paths import CONF_DIR, DATA_DIR, HOST, LOG_DIR, PID_DIR
from .processes import StackError, log_header, pid_alive, pid_cmdline, port_open, spawn

LOG_ROTATE_BYTES = 50 * 1024 * 1024


class Rejected(Exception):
    """A definitive answer from a server that works but refuses us (e.g. other S3 keys)."""


def log_progress(msg: str) -> None:
    print(f".. {msg}", file=sys.stderr, flush=True)


@dataclass
class Part(abc.ABC):
    name: str
    port: int
    address: str
    marker: str  # must appear in /proc/<pid>/cmdline for the pid file to count as ours
    timeout: float
    extra_ports: tuple[int, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # paths
    @property
    def pid_file(self) -> Path:
        return PID_DIR / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    @property
    def data_dir(self) -> Path:
        return DATA_DIR / self.name

    @property
    def conf_dir(self) -> Path:
        return CONF_DIR / self.name

    # provided by each part
    @abc.abstractmethod
    def installed(self) -> bool: ...

    @abc.abstractmethod
    def install(self) -> None: ...

    @abc.abstractmethod
    def version(self) -> str: ...

    @abc.abstractmethod
    def command(self) -> list[str]: ...

    @abc.abstractmethod
    def probe(self) -> tuple[bool, str]: ...

    def answers(self) -> bool:
        """Is anything answering on the main port (cheap check used for reuse)?"""
        return port_open(self.port)

    def usable_anyway(self) -> bool:
        """A running server that fails the probe but can still be used: warn, do not fail."""
        return False

    def prepare(self) -> None:  # noqa: B027 (optional hook; most parts need nothing)
        """Before start: render configs, format storage..."""

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def on_path(self, program: str, what: str = "") -> str:
        """`program` as found on PATH; if it is missing, a StackError that says who needs it."""
        found = shutil.which(program)
        if not found:
            raise StackError(f"{self.name}: {what or f'`{program}`'} not found on PATH")
        return found

    # pid file
    def our_pid(self) -> int | None:
        """The pid from the pid file if that process is alive and is ours; removes stale files."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if pid_alive(pid) and self.marker in pid_cmdline(pid):
            return pid
        with contextlib.suppress(OSError):
            self.pid_file.unlink()
        return None

    def ensure_installed(self) -> bool:
        with self._lock:
            if self.installed():
                return False
            log_progress(f"{self.name}: installing (output in {self.log_file})")
            self.install()
            if not self.installed():
                raise StackError(f"{self.name}: install finished but the part is still missing")
            return True

    def start(self) -> subprocess.Popen[bytes]:
        for d in (self.data_dir, self.conf_dir, LOG_DIR, PID_DIR):
            d.mkdir(parents=True, exist_ok=True)
        if self.log_file.exists() and self.log_file.stat().st_size > LOG_ROTATE_BYTES:
            self.log_file.replace(self.log_file.with_suffix(".log.1"))
        self.prepare()
        cmd = self.command()
        log_header(self.log_file, f"stack.py up: {' '.join(cmd)}")
        return spawn(cmd, self.log_file, self.pid_file, cwd=self.data_dir, env=self.env())


class FromVenv(Part):
    """A part whose program comes with the project's venv (`uv sync`, the `stack`
    dependency group): nothing to install here, only to check."""

    package: ClassVar[str]  # the PyPI package that brings `program`

    @property
    @abc.abstractmethod
    def program(self) -> Path: ...

    def installed(self) -> bool:
        return self.program.exists()

    def install(self) -> None:
        raise StackError(
            f"{self.name}: {self.program} missing; it comes from PyPI `{self.package}` "
            "(the `stack` dependency group): run `uv sync` in the repo root"
        )


# Probe helpers the parts share (stdlib only).


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def http_get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 2.0
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
