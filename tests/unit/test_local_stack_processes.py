"""deploy/local's process handling: pid files, which pid listens on a port, stop by pid."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from deploy.local.local_stack.processes import (
    listening_pid,
    live_pid,
    port_open,
    spawn,
    stop_pid,
)


def test_listening_pid_finds_the_process_that_listens() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert port_open(port)
        assert listening_pid(port) == os.getpid()
    assert not port_open(port)
    assert listening_pid(port) is None


def test_a_pid_file_counts_only_while_its_process_lives(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids" / "sleeper.pid"
    assert live_pid(pid_file) is None  # no file
    proc = spawn(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        tmp_path / "logs" / "sleeper.log",
        pid_file,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    try:
        assert live_pid(pid_file) == proc.pid
        assert os.getsid(proc.pid) == proc.pid  # a session of its own
        assert stop_pid(proc.pid, timeout=10) == "stopped"
    finally:
        proc.kill()
        proc.wait()
    assert live_pid(pid_file) is None
    assert stop_pid(proc.pid, timeout=1) == "already gone"
    pid_file.write_text("not a pid\n")
    assert live_pid(pid_file) is None
