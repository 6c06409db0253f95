"""Apache Kafka (KRaft, one combined broker+controller): jars from Maven Central by
deploy/local/kafka/pom.xml, storage formatted on the first start, ready once the broker
lists itself in a Metadata answer."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import socket
import string
import struct
import subprocess
import uuid
from pathlib import Path

from .part import Part, log_progress, recv_exact
from .paths import CACHE_DIR, HERE, HOST, LOG_DIR
from .processes import StackError, run_logged

KAFKA_POM = HERE / "kafka" / "pom.xml"


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
        mvn = self.on_path("mvn", "Maven (`mvn`)")
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


def _kafka_call(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    client_id = b"stack.py"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    msg = header + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    resp = recv_exact(sock, size)
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
