"""Helpers shared by integration and end-to-end tests: the local stack's addresses and
settings, and waiting on a condition with a deadline (tests never sleep blindly)."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
STACK_SCRIPT = ROOT / "deploy" / "local" / "stack.py"
LAUNCHER_SCRIPT = ROOT / "deploy" / "local" / "launcher.py"
GATEWAY = "http://127.0.0.1:8000"
MAILDEV = "http://127.0.0.1:1080"
STACK_PORTS = {"kafka": 9092, "seaweedfs": 8333, "secantusdb": 27017, "maildev": 1080}

T = TypeVar("T")


def launcher() -> Any:
    spec = importlib.util.spec_from_file_location("einvoice_launcher", LAUNCHER_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def local_settings() -> dict[str, str]:
    """deploy/local/local.env as keyword arguments for the Settings classes."""
    values = {}
    for line in (ROOT / "deploy/local/local.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.removeprefix("EINVOICE_").lower()] = value
    return values


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 60,
    interval: float = 0.3,
    what: str = "condition",
) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def mails_to(domain: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=MAILDEV, timeout=10) as client:
        response = await client.get("/email")
        response.raise_for_status()
    return [
        m
        for m in response.json()
        if any(to["address"].endswith("@" + domain) for to in m.get("to", []))
    ]
