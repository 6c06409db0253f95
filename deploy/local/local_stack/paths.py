"""Where the local stack keeps its installs, pid files, logs, data and rendered configs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parents[1]  # deploy/local
REPO_ROOT = HERE.parent.parent


def _dir_from_env(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    if not value:
        return default
    p = Path(value).expanduser()
    return p if p.is_absolute() else (REPO_ROOT / p)


RUN_DIR = _dir_from_env("EINVOICE_RUN_DIR", REPO_ROOT / ".run")
CACHE_DIR = _dir_from_env("EINVOICE_CACHE_DIR", REPO_ROOT / ".cache")
PID_DIR = RUN_DIR / "pids"
LOG_DIR = RUN_DIR / "logs"
DATA_DIR = RUN_DIR / "data"
CONF_DIR = RUN_DIR / "conf"


def _venv_bin() -> Path:
    # The virtualenv running us if it holds the stack tools; else <repo>/.venv.
    own = Path(sys.prefix) / "bin"
    if sys.prefix != sys.base_prefix and (own / "weed").exists():
        return own
    return REPO_ROOT / ".venv" / "bin"


VENV_BIN = _venv_bin()
