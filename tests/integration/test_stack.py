"""The local stack answers on its fixed ports (start it with deploy/local/stack.py up).

Read-only smoke checks with plain sync clients: nothing here creates topics or buckets,
or deletes mail, so it is safe to run against a stack other tests are using.
"""

from __future__ import annotations

import os
import smtplib
import socket
import struct

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pymongo import MongoClient

# The session's `stack` fixture starts what is not running (and stops only that).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("stack")]

HOST = "127.0.0.1"
KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
S3_ENDPOINT = f"http://{HOST}:8333"
MONGO_URI = f"mongodb://{HOST}:27017"
SMTP_PORT = 1025
MAILDEV_URL = f"http://{HOST}:1080"
KSEF_URL = f"http://{HOST}:8088/v2"
S3_ACCESS_KEY = os.environ.get("S3_ACCESS_KEY") or "einvoice"
S3_SECRET_KEY = os.environ.get("S3_SECRET_KEY") or "einvoice-secret"


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk, "connection closed"
        buf += chunk
    return buf


def _s3(access: str, secret: str):
    return boto3.client(
        "s3",
        endpoint_url=S3_ENDPOINT,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=5,
            read_timeout=10,
        ),
    )


def test_kafka_answers_api_versions() -> None:
    client_id = b"test_stack"
    request = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id  # ApiVersions v0
    with socket.create_connection((HOST, KAFKA_PORT), timeout=5) as sock:
        sock.settimeout(10)
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        response = _recv_exact(sock, size)
    correlation_id, error_code, n_apis = struct.unpack_from(">ihi", response)
    assert correlation_id == 7
    assert error_code == 0
    api_keys = {struct.unpack_from(">h", response, 10 + 6 * i)[0] for i in range(n_apis)}
    assert {0, 1, 3} <= api_keys  # Produce, Fetch, Metadata


def test_kafka_controller_port_is_open() -> None:
    with socket.create_connection((HOST, KAFKA_CONTROLLER_PORT), timeout=5):
        pass


def test_s3_accepts_the_configured_keys() -> None:
    response = _s3(S3_ACCESS_KEY, S3_SECRET_KEY).list_buckets()
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_s3_rejects_a_wrong_secret() -> None:
    with pytest.raises(ClientError) as excinfo:
        _s3(S3_ACCESS_KEY, S3_SECRET_KEY + "-wrong").list_buckets()
    assert excinfo.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}


def test_mongo_answers_ping() -> None:
    client = MongoClient(MONGO_URI, serverSelectionTimeoutMS=5000)
    try:
        assert client.admin.command("ping")["ok"] == 1
    finally:
        client.close()


def test_smtp_answers() -> None:
    with smtplib.SMTP(HOST, SMTP_PORT, timeout=5) as smtp:
        code, _ = smtp.noop()
    assert code == 250


def test_maildev_rest_lists_messages() -> None:
    response = httpx.get(f"{MAILDEV_URL}/email", timeout=5)
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_the_ksef_simulator_serves_its_public_key_certificates() -> None:
    found = httpx.get(f"{KSEF_URL}/security/public-key-certificates", timeout=5)
    assert found.status_code == 200
    usages = {usage for cert in found.json() for usage in cert["usage"]}
    assert usages == {"KsefTokenEncryption", "SymmetricKeyEncryption"}
