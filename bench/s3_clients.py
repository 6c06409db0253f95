#!/usr/bin/env python3
# A command-line benchmark: it prints its result line.
# ruff: noqa: T201
"""CPU per 50 kB PUT, in the client and in SeaweedFS, for boto3, obstore and minio (ADR 0011).

Needs the local SeaweedFS (`deploy/local/stack.py up seaweedfs`) and the three clients in
one environment (minio is not a project dependency; this script needs nothing else):

    uv venv /tmp/s3venv && uv pip install --python /tmp/s3venv/bin/python boto3 obstore minio
    set -a; . deploy/local/local.env; set +a
    /tmp/s3venv/bin/python bench/s3_clients.py boto3|obstore|minio [--puts 600] [--size 50000]

Each PUT is conditional where the client can say so (`If-None-Match: *`), with a content
type and two metadata fields, 8 in flight, as the renderer stores a PDF.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlparse

import procs  # bench/procs.py: stdlib only

IN_FLIGHT = 8
PutOne = Callable[[str, bytes], Awaitable[None]]
METADATA = {"tenant-id": "t1", "invoice-id": "i1"}


def boto3_put(endpoint: str, key: str, secret: str, bucket: str) -> PutOne:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32),
    )

    async def put(name: str, body: bytes) -> None:
        await asyncio.to_thread(
            client.put_object,
            Bucket=bucket,
            Key=name,
            Body=body,
            ContentType="application/pdf",
            Metadata=METADATA,
            IfNoneMatch="*",
        )

    return put


def obstore_put(endpoint: str, key: str, secret: str, bucket: str) -> PutOne:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        bucket,
        endpoint=endpoint,
        access_key_id=key,
        secret_access_key=secret,
        region="us-east-1",
        virtual_hosted_style_request=False,
        client_options={"allow_http": endpoint.startswith("http://")},
    )

    async def put(name: str, body: bytes) -> None:
        attributes = {"Content-Type": "application/pdf", **METADATA}
        await obstore.put_async(store, name, body, mode="create", attributes=attributes)

    return put


def minio_put(endpoint: str, key: str, secret: str, bucket: str) -> PutOne:
    from minio import Minio  # its put_object cannot send If-None-Match

    url = urlparse(endpoint)
    client = Minio(url.netloc, access_key=key, secret_key=secret, secure=url.scheme == "https")

    async def put(name: str, body: bytes) -> None:
        await asyncio.to_thread(
            client.put_object,
            bucket,
            name,
            io.BytesIO(body),
            len(body),
            content_type="application/pdf",
            metadata=METADATA,
        )

    return put


CLIENTS = {"boto3": boto3_put, "obstore": obstore_put, "minio": minio_put}


async def measure(client: str, puts: int, size: int, seaweedfs: procs.Target) -> str:
    env = os.environ
    put = CLIENTS[client](
        env["EINVOICE_S3_ENDPOINT"],
        env["EINVOICE_S3_ACCESS_KEY"],
        env["EINVOICE_S3_SECRET_KEY"],
        env["EINVOICE_S3_BUCKET"],
    )
    body = os.urandom(size // 2) + b"x" * (size - size // 2)  # half compressible, like a PDF
    prefix = f"bench/{client}/{time.time()}"
    await put(f"{prefix}/warm-up", body)
    limit = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        async with limit:
            await put(f"{prefix}/{i}", body)

    server_before = procs.measure([seaweedfs])[seaweedfs.name][0]
    cpu_before, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(puts)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_before
    server = procs.measure([seaweedfs])[seaweedfs.name][0] - server_before
    return (
        f"{client:8s} {puts / elapsed:7.1f} PUT/s  client {cpu / puts * 1000:5.2f} CPU-ms/PUT  "
        f"seaweedfs {server / puts * 1000:5.2f} CPU-ms/PUT"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("--puts", type=int, default=600)
    parser.add_argument("--size", type=int, default=50_000, help="bytes per object")
    args = parser.parse_args()
    pid_file = Path(__file__).resolve().parents[1] / ".run" / "pids" / "seaweedfs.pid"
    pid = procs.group_leader(pid_file)
    if pid is None:
        sys.exit(f"SeaweedFS is not running ({pid_file}): deploy/local/stack.py up seaweedfs")
    seaweedfs = procs.Target("seaweedfs", "infrastructure", pid, whole_group=False)
    print(asyncio.run(measure(args.client, args.puts, args.size, seaweedfs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
