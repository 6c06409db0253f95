"""maildev (npm), the mail catcher: SMTP, plus a web UI and REST API; ready once
`GET /email` answers and the SMTP port greets with 220."""

from __future__ import annotations

import http.client
import json
import os
import socket
from pathlib import Path

from .part import Part, http_get
from .paths import CACHE_DIR, HOST
from .processes import port_open, run_logged

MAILDEV_VERSION = "2.2.1"


class MailDev(Part):
    smtp_port = 1025

    @property
    def prefix(self) -> Path:
        return CACHE_DIR / "maildev"

    @property
    def package_dir(self) -> Path:
        return self.prefix / "node_modules" / "maildev"

    def installed(self) -> bool:
        try:
            meta = json.loads((self.package_dir / "package.json").read_text())
        except (OSError, ValueError):
            return False
        return bool(meta.get("version") == MAILDEV_VERSION)

    def _node(self) -> str:
        return self.on_path("node", "`node` (18+)")

    def install(self) -> None:
        npm = self.on_path("npm")
        self._node()
        self.prefix.mkdir(parents=True, exist_ok=True)
        run_logged(
            [
                npm,
                "install",
                "--prefix",
                str(self.prefix),
                "--cache",
                str(CACHE_DIR / "npm"),
                "--save-exact",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"maildev@{MAILDEV_VERSION}",
            ],
            self.log_file,
            cwd=self.prefix,
        )

    def version(self) -> str:
        return f"maildev {MAILDEV_VERSION} (npm)"

    def command(self) -> list[str]:
        return [
            self._node(),
            str(self.package_dir / "bin" / "maildev"),
            "--ip",
            HOST,
            "--web-ip",
            HOST,
            "--smtp",
            str(self.smtp_port),
            "--web",
            str(self.port),
            "--mail-directory",
            str(self.data_dir),
        ]

    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("MAILDEV_")}

    def answers(self) -> bool:
        return port_open(self.port) or port_open(self.smtp_port)

    def probe(self) -> tuple[bool, str]:
        return maildev_probe(self.port, self.smtp_port)


def maildev_probe(web_port: int, smtp_port: int) -> tuple[bool, str]:
    try:
        status, body = http_get(web_port, "/email")
        if status != 200:
            return False, f"GET /email: {status}"
        n = len(json.loads(body))
        with socket.create_connection((HOST, smtp_port), timeout=2.0) as sock:
            sock.settimeout(2.0)
            banner = sock.recv(512)
            if not banner.startswith(b"220"):
                return False, f"SMTP banner {banner[:40]!r}"
            sock.sendall(b"QUIT\r\n")
        return True, f"GET /email 200 ({n} messages), SMTP 220"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
