#!/usr/bin/env python3
"""Local infrastructure for the e-invoice platform, without Docker.

    .venv/bin/python deploy/local/stack.py COMMAND [PART ...]

    up        install what is missing, start what is not running, wait until each part answers
    down      stop what `up` started (exactly the pids in the pid files)
    status    state of each part (exit code 0 only if all answer)
    install   only install (Maven / npm; checks the .venv tools)
    reset     down, then delete <run dir>/data

Parts (PART is one of these names):
    kafka       Apache Kafka 4.1 (KRaft, broker+controller)  127.0.0.1:9092 (controller :9093)
    seaweedfs   SeaweedFS `weed mini`, S3 API                http://127.0.0.1:8333
    secantusdb  SecantusDB, MongoDB wire protocol            mongodb://127.0.0.1:27017
    maildev     maildev 2.2.1: SMTP 127.0.0.1:1025, web UI + REST http://127.0.0.1:1080

Stdlib only. Installs are cached in <repo>/.cache/ (EINVOICE_CACHE_DIR overrides); pid files,
logs and data live in <repo>/.run/ (EINVOICE_RUN_DIR overrides): .run/pids/<part>.pid,
.run/logs/<part>.log, .run/data/<part>/, rendered configs in .run/conf/<part>/.

Environment: S3_ACCESS_KEY / S3_SECRET_KEY (default einvoice / einvoice-secret),
KAFKA_HEAP_OPTS (default "-Xms256m -Xmx768m"), EINVOICE_STACK_TIMEOUT (seconds to wait for each
part to answer; default 120 for Kafka, 60 for the others).

How each part is installed, configured and probed: local_stack/<part>.py; pid files, start,
stop and port checks: local_stack/processes.py.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

if str(Path(__file__).resolve().parent) not in sys.path:  # loaded by path, not run
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_stack.lifecycle import Outcome, bring_up, take_down  # noqa: E402
from local_stack.part import Part, Rejected  # noqa: E402
from local_stack.parts import PARTS, select  # noqa: E402
from local_stack.paths import DATA_DIR, LOG_DIR, RUN_DIR  # noqa: E402
from local_stack.processes import StackError, exclusive, listening_pid, tail  # noqa: E402

T = TypeVar("T")
LOCK = RUN_DIR / "stack.lock"


def each_in_parallel(parts: list[Part], work: Callable[[Part], T]) -> dict[str, T]:
    """`work(part)` for every part at once, under the stack lock; results by part name."""
    results: dict[str, T] = {}

    def worker(p: Part) -> None:
        results[p.name] = work(p)

    with exclusive(LOCK):
        threads = [threading.Thread(target=worker, args=(p,), daemon=True) for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return results


def format_line(o: Outcome) -> str:
    pid = f"pid {o.pid}" if o.pid else "pid ?"
    line = f"{o.part.name:<11} {o.part.address:<44} {pid:<10} {o.how:<8} {o.seconds:6.1f}s"
    return f"{line}  {o.detail}" if o.detail else line


def cmd_up(parts: list[Part]) -> int:
    t0 = time.monotonic()
    results = each_in_parallel(parts, bring_up)
    failed = []
    for p in parts:
        o = results[p.name]
        print(format_line(o), flush=True)
        if not o.ok:
            failed.append(o)
    for o in failed:
        print(f"\n--- {o.part.name} FAILED: {o.detail}\n--- last 30 lines of {o.part.log_file}:")
        print(tail(o.part.log_file, 30))
    print(f"{'up' if not failed else 'up FAILED'} in {time.monotonic() - t0:.1f}s; logs: {LOG_DIR}")
    return 1 if failed else 0


def cmd_down(parts: list[Part]) -> int:
    t0 = time.monotonic()
    results = each_in_parallel(parts, take_down)
    for p in parts:
        print(results[p.name])
    print(f"down in {time.monotonic() - t0:.1f}s")
    return 0


def cmd_status(parts: list[Part]) -> int:
    all_up = True
    for p in parts:
        pid = p.our_pid()
        try:
            ok, detail = p.probe()
        except Rejected as exc:
            ok, detail = False, str(exc)
        if ok:
            state = "up"
        elif p.answers():
            state = "answering"
        elif pid:
            state = "starting"
        else:
            state = "down"
        all_up &= ok
        if pid:
            owner = f"pid {pid}"
        elif ok or p.answers():
            owner = f"pid {listening_pid(p.port) or '?'} (not ours)"
        else:
            owner = "-"
        print(f"{p.name:<11} {p.address:<44} {state:<10} {owner:<19} {detail}")
    print(f"logs: {LOG_DIR}  data: {DATA_DIR}")
    return 0 if all_up else 3


def cmd_install(parts: list[Part]) -> int:
    rc = 0
    with exclusive(LOCK):
        for p in parts:
            t = time.monotonic()
            try:
                did = p.ensure_installed()
                how = "installed" if did else "present"
                print(f"{p.name:<11} {how:<10} {time.monotonic() - t:5.1f}s  {p.version()}")
            except StackError as exc:
                print(f"{p.name:<11} FAILED  {exc}")
                print(tail(p.log_file, 30))
                rc = 1
    return rc


def cmd_reset(_parts: list[Part]) -> int:
    cmd_down(PARTS)
    with exclusive(LOCK):
        still = [p for p in PARTS if p.answers()]
        if still:
            for p in still:
                owner = listening_pid(p.port) or "?"
                print(f"reset: {p.name} still answers on port {p.port} (pid {owner}, not ours)")
            print(f"reset: refusing to delete {DATA_DIR} while something may be using it")
            return 1
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    print(f"deleted {DATA_DIR}")
    return 0


COMMANDS: dict[str, Callable[[list[Part]], int]] = {
    "up": cmd_up,
    "down": cmd_down,
    "status": cmd_status,
    "install": cmd_install,
    "reset": cmd_reset,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Local Kafka, S3 (SeaweedFS), MongoDB (SecantusDB), SMTP (maildev); no Docker.",
    )
    parser.add_argument("command", choices=list(COMMANDS))
    parser.add_argument("parts", nargs="*", help=f"subset of: {', '.join(p.name for p in PARTS)}")
    args = parser.parse_args(argv)
    if args.command == "reset" and args.parts:
        parser.error("reset takes no parts: it stops everything and deletes all data")
    return COMMANDS[args.command](select(args.parts))


if __name__ == "__main__":
    sys.exit(main())
