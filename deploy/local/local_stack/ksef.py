"""The local KSeF 2.0 simulator (`deploy/local/ksef-sim`, a workspace member): ready once it
serves its public-key certificates, as the real API does at the start of every session."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from .part import FromVenv, http_get
from .paths import HOST, VENV_BIN


class KsefSimulator(FromVenv):
    package = "ksef-sim"

    @property
    def program(self) -> Path:
        return VENV_BIN / "python"

    def installed(self) -> bool:
        return self.program.exists() and (self._version() is not None)

    def _version(self) -> str | None:
        try:
            return importlib.metadata.version("ksef-sim")
        except importlib.metadata.PackageNotFoundError:
            return None

    def version(self) -> str:
        return f"KSeF 2.0 simulator {self._version()} (deploy/local/ksef-sim, online sessions)"

    def command(self) -> list[str]:
        return [str(self.program), "-m", "ksef_sim"]

    def env(self) -> dict[str, str]:
        return super().env() | {
            "KSEF_SIM_HOST": HOST,
            "KSEF_SIM_PORT": str(self.port),
            "KSEF_SIM_DATA_DIR": str(self.data_dir),
        }

    def probe(self) -> tuple[bool, str]:
        try:
            status, _ = http_get(self.port, "/v2/security/public-key-certificates")
        except OSError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return status == 200, f"GET /v2/security/public-key-certificates {status}"
