"""Run the whole platform locally: the stack (stack.py), the topics, the six services, a demo.

    python deploy/local/launcher.py run        everything + demo batch; Ctrl-C stops it all
    python deploy/local/launcher.py up         stack + topics + services, then return
    python deploy/local/launcher.py services   (re)start only the services
    python deploy/local/launcher.py down       stop the services and the stack (by PID)
    python deploy/local/launcher.py status

Standard library only. Services run as `.venv/bin/python -m <package>` with the settings of
deploy/local/local.env (the environment overrides them); logs go to .run/logs/<service>.log,
pid files to .run/pids/svc-<service>.pid (local_stack/processes.py, as for the stack's parts).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # loaded by path, not run
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_stack.paths import LOG_DIR, PID_DIR, REPO_ROOT, RUN_DIR  # noqa: E402
from local_stack.processes import live_pid, port_open, spawn, stop_pid, tail  # noqa: E402

ROOT, RUN, LOGS, PIDS = REPO_ROOT, RUN_DIR, LOG_DIR, PID_DIR
PYTHON = ROOT / ".venv" / "bin" / "python"
EINVOICE = ROOT / ".venv" / "bin" / "einvoice"
STACK = [str(PYTHON), str(Path(__file__).with_name("stack.py"))]

# name -> (python module, port that answers once it is up)
SERVICES = {
    "receipt-ingest": ("receipt_ingest", 9101),
    "invoice-builder": ("invoice_builder", 9102),
    "ksef-connector": ("ksef_connector", 9106),
    "pdf-renderer": ("pdf_renderer", 9103),
    "mailer": ("mailer", 9104),
    "read-tracker": ("read_tracker", 9105),
    "gateway": ("gateway", 8000),
}
GATEWAY = "http://127.0.0.1:8000"
MAILDEV = "http://127.0.0.1:1080"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def service_env() -> dict[str, str]:
    env = {}
    for line in (ROOT / "deploy/local/local.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    env.update(os.environ)
    return env


def _pid_file(name: str) -> Path:
    return PIDS / f"svc-{name}.pid"


def _pid(name: str) -> int | None:
    return live_pid(_pid_file(name))


def _port_open(port: int) -> bool:
    return port_open(port, timeout=0.3)


def start_services() -> None:
    env = service_env()
    started = []
    for name, (module, port) in SERVICES.items():
        if _pid(name):
            say(f"  {name:16} reused (pid {_pid(name)})")
            continue
        if _port_open(port):
            raise SystemExit(f"port {port} for {name} is taken by another process")
        log = LOGS / f"{name}.log"
        proc = spawn([str(PYTHON), "-m", module], log, _pid_file(name), cwd=ROOT, env=env)
        started.append((name, port, proc, time.monotonic()))
    for name, port, proc, t0 in started:
        deadline = time.monotonic() + 90
        while not _port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n" + tail(LOGS / f"{name}.log", 30))
            time.sleep(0.2)
        say(
            f"  {name:16} started (pid {proc.pid}, {time.monotonic() - t0:.1f}s) "
            f"log {LOGS / (name + '.log')}"
        )


def stop_services(names: list[str] | None = None) -> None:
    for name in reversed([n for n in SERVICES if not names or n in names]):
        pid = _pid(name)
        if pid is None:
            _pid_file(name).unlink(missing_ok=True)
            continue
        stop_pid(pid, timeout=20)
        _pid_file(name).unlink(missing_ok=True)
        say(f"  {name:16} stopped (pid {pid})")


def up() -> None:
    say("== local stack")
    subprocess.run([*STACK, "up"], check=True)
    say("== topics and demo tenant")
    subprocess.run([str(EINVOICE), "create-topics"], check=True, env=service_env())
    subprocess.run([str(EINVOICE), "seed-demo"], check=True, env=service_env())
    subprocess.run([str(EINVOICE), "seed-demo-chain"], check=True, env=service_env())
    say("== services")
    start_services()


def down() -> None:
    say("== services")
    stop_services()
    say("== local stack")
    subprocess.run([*STACK, "down"], check=False)


def run_demo() -> None:
    up()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    demo_file = RUN / "demo-batch.json"
    batch_id = f"demo-{stamp}"
    api_key = os.environ.get("EINVOICE_DEMO_API_KEY", "demo-zdroj-local-key")
    # A new number series per run, so every `make run` mails a fresh batch; re-sending the
    # same numbers would (rightly) issue and mail nothing twice.
    subprocess.run(
        [str(EINVOICE), "demo-batch", "-n", "20", "--series", f"DEMO/{stamp}", str(demo_file)],
        check=True,
    )
    say("== demo batch")
    out = subprocess.run(
        [
            str(EINVOICE),
            "publish-batch",
            str(demo_file),
            "--batch-id",
            batch_id,
            "--timeout",
            "300",
        ],
        env=service_env() | {"EINVOICE_API_KEY": api_key},
        check=False,
    )
    say("== demo till receipt (retail)")
    qr_file = RUN / "demo-receipt-qr.png"
    till = subprocess.run(
        [str(EINVOICE), "till", "push", "--lines", "5", "--qr", str(qr_file)],
        env=service_env(),
        check=False,
        capture_output=True,
        text=True,
    )
    sys.stdout.write(till.stdout)
    code = next(
        (line.split()[-1] for line in till.stdout.splitlines() if "code" in line.lower()), "?"
    )
    demo_mails = _maildev_count(f"DEMO/{stamp}/")
    say("")
    say(
        "einvoice is running."
        if out.returncode == 0
        else f"einvoice is running, but the demo batch did not complete (exit {out.returncode})."
    )
    say(f"  gateway          {GATEWAY}   (API docs {GATEWAY}/docs)")
    say(f"  operator panel   {GATEWAY}/operator   (API key: {api_key})")
    say(
        f"  batch status     {GATEWAY}/api/v1/batches/{batch_id}   "
        f"(header Authorization: Bearer {api_key})"
    )
    say(f"  mail catcher     {MAILDEV}   ({demo_mails} demo e-mails of this run arrived)")
    say(f"  shopper portal   {GATEWAY}/account/register   (then add the receipt code {code},")
    say(f"                   or scan the QR code in {qr_file})")
    say(
        "  stack            Kafka 127.0.0.1:9092, S3 http://127.0.0.1:8333, "
        "MongoDB 127.0.0.1:27017, SMTP 127.0.0.1:1025"
    )
    say(f"  logs             {LOGS}/")
    say("Press Ctrl-C to stop everything.")
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop:
        time.sleep(0.5)
    say("\nstopping…")
    down()


def _maildev_count(subject_part: str) -> int:
    with urllib.request.urlopen(f"{MAILDEV}/email", timeout=10) as response:  # noqa: S310
        return sum(subject_part in mail.get("subject", "") for mail in json.load(response))


def status() -> None:
    subprocess.run([*STACK, "status"], check=False)
    for name, (_, port) in SERVICES.items():
        pid = _pid(name)
        state = "up" if pid and _port_open(port) else ("starting" if pid else "down")
        say(f"{name:16} 127.0.0.1:{port:<6} {state:9} pid {pid or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command", choices=["run", "up", "services", "down", "status", "stop-services"]
    )
    parser.add_argument("names", nargs="*", help="stop-services: only these services")
    args = parser.parse_args()
    if args.command == "stop-services":
        stop_services(args.names)
        return
    actions = {
        "run": run_demo,
        "up": up,
        "down": down,
        "status": status,
        "services": start_services,
    }
    actions[args.command]()


if __name__ == "__main__":
    main()
