"""The parts of the local stack, their ports and how long each may take to answer."""

from __future__ import annotations

import os

from .kafka import Kafka
from .ksef import KsefSimulator
from .maildev import MailDev
from .part import Part
from .paths import HOST
from .seaweedfs import SeaweedFS
from .secantusdb import SecantusDB


def _timeout(default: float) -> float:
    value = os.environ.get("EINVOICE_STACK_TIMEOUT")
    return float(value) if value else default


PARTS: list[Part] = [
    Kafka(
        "kafka",
        9092,
        f"{HOST}:9092 (controller :9093)",
        "kafka.Kafka",
        _timeout(120),
        extra_ports=(9093,),
    ),
    SeaweedFS(
        "seaweedfs",
        8333,
        f"http://{HOST}:8333 (S3)",
        "weed mini",
        _timeout(60),
        extra_ports=(9333, 19333, 9340, 19340, 8888, 18888, 18333, 23646, 33646),
    ),
    SecantusDB(
        "secantusdb",
        27017,
        f"mongodb://{HOST}:27017",
        "secantusdb/serve.py",
        _timeout(60),
    ),
    MailDev(
        "maildev",
        1080,
        f"smtp://{HOST}:1025 http://{HOST}:1080",
        "maildev",
        _timeout(60),
        extra_ports=(1025,),
    ),
    KsefSimulator(
        "ksef",
        8088,
        f"http://{HOST}:8088/v2 (KSeF 2.0 simulator)",
        "ksef_sim",
        _timeout(60),
    ),
]


def select(names: list[str]) -> list[Part]:
    if not names:
        return PARTS
    by_name = {p.name: p for p in PARTS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown part(s) {unknown}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]
