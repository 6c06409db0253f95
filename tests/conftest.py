"""Session fixtures: the real local stack and the six services, started or reused.

Whatever a session starts, it stops at the end; what was already running (a developer's
`make run`) is reused and left alone. Set EINVOICE_KEEP_STACK=1 to leave everything up.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.support import (
    LAUNCHER_SCRIPT,
    PYTHON,
    ROOT,
    STACK_PORTS,
    STACK_SCRIPT,
    launcher,
    local_settings,
    port_open,
)
from tests.support.parties import Chain, Tenant, create_chain_account, known_chain, known_tenant

KEEP = os.environ.get("EINVOICE_KEEP_STACK") == "1"


def _run(*args: str) -> None:
    subprocess.run([str(PYTHON), *args], cwd=ROOT, check=True)


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    """Kafka, SeaweedFS, SecantusDB and maildev, with the platform's topics."""
    already = {name for name, port in STACK_PORTS.items() if port_open(port)}
    _run(str(STACK_SCRIPT), "up")
    _run("-m", "einvoice_tools.cli", "create-topics")
    yield local_settings()
    started = sorted(set(STACK_PORTS) - already)
    if started and not KEEP:
        _run(str(STACK_SCRIPT), "down", *started)


@pytest.fixture(scope="session")
def services(stack: dict[str, str]) -> bool:
    """The six services, as `make run` starts them; True when this session started them."""
    names = launcher().SERVICES
    already = {name for name, (_, port) in names.items() if port_open(port)}
    _run(str(LAUNCHER_SCRIPT), "services")
    yield not already
    started = sorted(set(names) - already)
    if started and not KEEP:
        _run(str(LAUNCHER_SCRIPT), "stop-services", *started)


@pytest.fixture(scope="session")
async def tenant(services: bool, stack: dict[str, str]) -> Tenant:
    """A fresh utility tenant per test session, known to the gateway."""
    return await known_tenant(stack["kafka_bootstrap"], "Wodociągi Testowe Sp. z o.o.")


@pytest.fixture(scope="session")
def services_started_here(services: bool) -> bool:
    return services


@pytest.fixture(scope="module")
async def chain(services: bool, stack: dict[str, str]) -> Chain:
    """A fresh retail chain for each test module."""
    return await known_chain(stack["kafka_bootstrap"])


@pytest.fixture(scope="session")
def chain_user(services: bool):
    """A factory: `await chain_user(chain_id)` creates a signed-in-able chain user."""
    return create_chain_account


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault injection last: the tests before it need not wait for a stack that heals."""
    items.sort(key=lambda item: item.get_closest_marker("chaos") is not None)


# The machine is shared and noisy: no per-example deadline, no "generation too slow" check.
hypothesis_settings.register_profile(
    "einvoice", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("einvoice")

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What the end-to-end tests measured (the lines they print while running), listed at
    the end of every run, CI included, so the figures quoted in notes can be read off the
    log. Log lines and the stack's start-up output are left out."""
    lines = []
    for report in terminalreporter.stats.get("passed", []):
        if report.when != "call" or not report.nodeid.startswith("tests/e2e"):
            continue
        for name, content in report.sections:
            if name != "Captured stdout call":
                continue
            name_ = report.nodeid.split("::")[-1]
            lines += [
                f"{name_}: {line.strip()}"
                for line in content.splitlines()
                if line.strip() and not LOG_LINE.match(line)
            ]
    if lines:
        terminalreporter.section("measured figures")
        for line in lines:
            terminalreporter.write_line(line)
