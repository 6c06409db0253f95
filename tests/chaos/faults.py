"""The faults, each injected at a random moment while its part of the batch is at the stage
the fault hurts most, and healed before the next one.

Only what the project's launchers started is touched, found by their pid files."""

from __future__ import annotations

import abc
import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from tests.chaos.gate import SmtpGate
from tests.support import (
    LAUNCHER_SCRIPT,
    PYTHON,
    ROOT,
    STACK_SCRIPT,
    kill_service_hard,
    launcher,
    port_open,
)


async def _run(*args: str) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [str(PYTHON), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{(done.stdout + done.stderr)[-2000:]}")


async def restart_missing_services() -> None:
    """`launcher.py services`: starts every service that is not running, waits for each."""
    await _run(str(LAUNCHER_SCRIPT), "services")


@dataclass
class Fault(abc.ABC):
    name: str
    stage: str  # the stage whose progress through the part times the fault
    detail: str = ""  # what happened, for the table

    async def prepare(self) -> None:  # noqa: B027 (most faults need nothing before)
        """Before the part is published."""

    @abc.abstractmethod
    async def inject(self) -> None:
        """Cause the fault and heal it; returns once the part or service is back."""

    async def cleanup(self) -> None:  # noqa: B027 (most faults leave nothing behind)
        """If the run is interrupted."""


@dataclass
class KillService(Fault):
    service: str = ""

    async def inject(self) -> None:
        pid = kill_service_hard(self.service)
        t0 = time.monotonic()
        await restart_missing_services()
        self.detail = f"pid {pid} SIGKILLed; restarted in {time.monotonic() - t0:.1f} s"


@dataclass
class RestartPart(Fault):
    """Stop a stack part (SIGTERM, as an orchestrator does), keep it down, start it again."""

    part: str = ""
    down_for: float = 0.0

    async def inject(self) -> None:
        t0 = time.monotonic()
        await _run(str(STACK_SCRIPT), "down", self.part)
        stopped = time.monotonic() - t0
        await asyncio.sleep(max(0.0, self.down_for - stopped))
        t1 = time.monotonic()
        await _run(str(STACK_SCRIPT), "up", self.part)
        self.detail = (
            f"down {t1 - t0:.1f} s (stopping took {stopped:.1f} s); "
            f"up again in {time.monotonic() - t1:.1f} s"
        )

    async def cleanup(self) -> None:
        await _run(str(STACK_SCRIPT), "up", self.part)


@dataclass
class RefuseSmtp(Fault):
    gate: SmtpGate | None = None
    down_for: float = 60.0

    async def inject(self) -> None:
        reset = await self.gate.close()
        await asyncio.sleep(self.down_for)
        await self.gate.open()
        self.detail = f"refused connections for {self.down_for:g} s; reset {reset} open"

    async def cleanup(self) -> None:
        await self.gate.open()


@dataclass
class KillReplica(Fault):
    """A second replica joins the service's consumer groups; one of the two is SIGKILLed."""

    service: str = ""
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    async def prepare(self) -> None:
        self._proc = await asyncio.to_thread(self._start)
        # Both replicas share the work once the group has rebalanced.
        await asyncio.sleep(12)
        if self._proc.poll() is not None:
            raise RuntimeError(f"the second {self.service} replica exited; see its log")

    def _start(self) -> subprocess.Popen:
        module = launcher().SERVICES[self.service][0]
        env = launcher().service_env() | {
            "EINVOICE_REPLICA_ID": f"{self.service}-chaos-2",
            "EINVOICE_METRICS_PORT": "0",
        }
        log = open(ROOT / ".run" / "logs" / f"{self.service}-chaos-2.log", "ab")  # noqa: SIM115
        return subprocess.Popen(
            [str(PYTHON), "-m", module],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def inject(self) -> None:
        pid = self._proc.pid
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        await asyncio.to_thread(self._proc.wait, 10)
        self.detail = f"second replica (pid {pid}) SIGKILLed; the first goes on alone"

    async def cleanup(self) -> None:
        if self._proc and self._proc.poll() is None:
            os.killpg(os.getpgid(self._proc.pid), signal.SIGKILL)


@dataclass(frozen=True)
class Durations:
    storage: float  # S3 down
    database: float  # MongoDB down
    smtp: float  # SMTP refusing


FULL = Durations(storage=30, database=30, smtp=60)
SHORT = Durations(storage=8, database=8, smtp=12)


def plan(gate: SmtpGate, durations: Durations) -> list[Fault]:
    """Every fault of issue 6, one after another."""
    kills = [
        ("receipt-ingest", "issued"),
        ("invoice-builder", "issued"),
        ("pdf-renderer", "rendered"),
        ("mailer", "mailed"),
        ("read-tracker", "mailed"),
        ("gateway", "issued"),
    ]
    return [
        *(KillService(f"kill -9 {s}", stage, service=s) for s, stage in kills),
        RestartPart("restart Kafka", "rendered", part="kafka"),
        RestartPart(
            f"S3 down {durations.storage:g} s",
            "issued",
            part="seaweedfs",
            down_for=durations.storage,
        ),
        RestartPart(
            f"MongoDB down {durations.database:g} s",
            "issued",
            part="secantusdb",
            down_for=durations.database,
        ),
        RefuseSmtp(
            f"SMTP refuses {durations.smtp:g} s", "mailed", gate=gate, down_for=durations.smtp
        ),
        KillReplica("2 mailers, kill one", "mailed", service="mailer"),
    ]


def stack_owned() -> bool:
    """Whether every stack part and service runs from this checkout's pid files (so the
    run may stop and kill them)."""
    pids = ROOT / ".run" / "pids"
    parts = ("kafka", "seaweedfs", "secantusdb", "maildev")
    services = [f"svc-{name}" for name in launcher().SERVICES]
    for name in (*parts, *services):
        try:
            os.kill(int((pids / f"{name}.pid").read_text()), 0)
        except (OSError, ValueError):
            return False
    return port_open(8000)
