"""Run the whole platform locally: the stack (stack.py), the topics, the six services, a demo.

    python deploy/local/launcher.py run        everything + demo batch; Ctrl-C stops it all
    python deploy/local/launcher.py up         stack + topics + services, then return
    python deploy/local/launcher.py services   (re)start only the services
    python deploy/local/launcher.py down       stop the services and the stack (by PID)
    python deploy/local/launcher.py status

Standard library only. Services run as `.venv/bin/python -m <package>` with the settings of
deploy/local/local.env (the environment overrides them); logs go to .run/logs/<service>.log.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("EINVOICE_RUN_DIR", ROOT / ".run"))
LOGS, PIDS = RUN / "logs", RUN / "pids"
PYTHON = ROOT / ".venv" / "bin" / "python"
EINVOICE = ROOT / ".venv" / "bin" / "einvoice"
STACK = [str(PYTHON), str(Path(__file__).with_name("stack.py"))]

# name -> (python module, port that answers once it is up)
SERVICES = {
    "receipt-ingest": ("receipt_ingest", 9101),
    "invoice-builder": ("invoice_builder", 9102),
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


def _pid(name: str) -> int | None:
    path = PIDS / f"svc-{name}.pid"
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_services() -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    env = service_env()
    started = []
    for name, (module, port) in SERVICES.items():
        if _pid(name):
            say(f"  {name:16} reused (pid {_pid(name)})")
            continue
        if _port_open(port):
            raise SystemExit(f"port {port} for {name} is taken by another process")
        log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 (handed to the child)
        proc = subprocess.Popen(
            [str(PYTHON), "-m", module],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (PIDS / f"svc-{name}.pid").write_text(str(proc.pid))
        started.append((name, port, proc, time.monotonic()))
    for name, port, proc, t0 in started:
        deadline = time.monotonic() + 90
        while not _port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (LOGS / f"{name}.log").read_text(errors="replace").splitlines()[-30:]
                raise SystemExit(f"{name} did not start:\n" + "\n".join(tail))
            time.sleep(0.2)
        say(
            f"  {name:16} started (pid {proc.pid}, {time.monotonic() - t0:.1f}s) "
            f"log {LOGS / (name + '.log')}"
        )


def stop_services(names: list[str] | None = None) -> None:
    for name in reversed([n for n in SERVICES if not names or n in names]):
        pid = _pid(name)
        if pid is None:
            (PIDS / f"svc-{name}.pid").unlink(missing_ok=True)
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        (PIDS / f"svc-{name}.pid").unlink(missing_ok=True)
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
