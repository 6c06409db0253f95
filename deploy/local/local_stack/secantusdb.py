"""SecantusDB (PyPI `secantusdb`), the MongoDB wire protocol server, run through
deploy/local/secantusdb/serve.py; ready once it answers `ping`."""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path

from .part import FromVenv, recv_exact
from .paths import HERE, HOST, VENV_BIN


class SecantusDB(FromVenv):
    package = "secantusdb"

    @property
    def program(self) -> Path:
        return VENV_BIN / "secantusd-py"

    def version(self) -> str:
        py = VENV_BIN / "python"
        out = subprocess.run(
            [str(py), "-c", "import importlib.metadata as m; print(m.version('secantusdb'))"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return f"SecantusDB {out} (PyPI secantusdb, secantusd-py with its catalog cached)"

    def command(self) -> list[str]:
        # secantusd-py with its catalog reads cached (serve.py; ADR 0009, update):
        # EINVOICE_SECANTUS_CATALOG_CACHE=0 runs it as published.
        return [
            str(VENV_BIN / "python"),
            str(HERE / "secantusdb" / "serve.py"),
            "--config",
            str(HERE / "secantusdb" / "secantusd.toml"),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--storage-path",
            str(self.data_dir),
        ]

    def probe(self) -> tuple[bool, str]:
        return mongo_probe(self.port)


def _bson_ping() -> bytes:
    elements = b"\x10ping\x00" + struct.pack("<i", 1)
    elements += b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00"
    return struct.pack("<i", 4 + len(elements) + 1) + elements + b"\x00"


def mongo_probe(port: int, timeout: float = 2.0) -> tuple[bool, str]:
    """OP_MSG {ping: 1} to the admin database; ready when ok == 1."""
    doc = _bson_ping()
    body = struct.pack("<I", 0) + b"\x00" + doc
    msg = struct.pack("<iiii", 16 + len(body), 1, 0, 2013) + body
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(msg)
            (size,) = struct.unpack("<i", recv_exact(sock, 4))
            resp = recv_exact(sock, size - 4)
    except (OSError, struct.error, ConnectionError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    reply = resp[12 + 4 + 1 :]  # rest of header, flagBits, section kind 0
    for tag, fmt in ((b"\x01ok\x00", "<d"), (b"\x10ok\x00", "<i")):
        i = reply.find(tag)
        if i >= 0:
            (ok,) = struct.unpack_from(fmt, reply, i + len(tag))
            return (ok == 1), f"ping ok={ok}"
    return False, "ping: no ok field"
