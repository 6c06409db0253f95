"""CPU per 50 kB PUT, client and SeaweedFS, for boto3, obstore and minio (ADR 0011).

Needs SeaweedFS running (`deploy/local/stack.py up seaweedfs`) and the three clients in one
environment (minio is not a project dependency):

    uv venv /tmp/s3venv && uv pip install --python /tmp/s3venv/bin/python boto3 obstore minio
    /tmp/s3venv/bin/python bench/s3_clients.py boto|obstore|minio   # N=600 by default
"""

import asyncio
import io
import os
import pathlib
import sys
import time

RUN = str(time.time())
N = int(os.environ.get("N", "600"))
CONC = 8
body = os.urandom(25000) + b"x" * 25000
EP = "http://127.0.0.1:8333"
AK = "einvoice"
SK = "einvoice-secret"
B = "einvoice-pdfs"
SPID = int(open(pathlib.Path(__file__).resolve().parents[1] / ".run/pids/seaweedfs.pid").read())


def scpu():
    f = open(f"/proc/{SPID}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


async def run_boto():
    import boto3
    from botocore.config import Config

    c = boto3.client(
        "s3",
        endpoint_url=EP,
        region_name="us-east-1",
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=Config(
            s3={"addressing_style": "path"},
            max_pool_connections=32,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )
    sem = asyncio.Semaphore(CONC)

    async def one(i):
        async with sem:
            await asyncio.to_thread(
                c.put_object,
                Bucket=B,
                Key=f"bench/boto/{RUN}/{i}",
                Body=body,
                ContentType="application/pdf",
                Metadata={"tenant-id": "t1", "invoice-id": f"i{i}"},
                IfNoneMatch="*",
            )

    await one(-1)
    return one


async def run_obstore():
    import obstore
    from obstore.store import S3Store

    s = S3Store(
        B,
        endpoint=EP,
        access_key_id=AK,
        secret_access_key=SK,
        region="us-east-1",
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    sem = asyncio.Semaphore(CONC)

    async def one(i):
        async with sem:
            await obstore.put_async(
                s,
                f"bench/obs/{RUN}/{i}",
                body,
                mode="create",
                attributes={
                    "Content-Type": "application/pdf",
                    "tenant-id": "t1",
                    "invoice-id": f"i{i}",
                },
            )

    await one(-1)
    return one


async def run_minio():
    from minio import Minio

    c = Minio("127.0.0.1:8333", access_key=AK, secret_key=SK, secure=False, region="us-east-1")
    sem = asyncio.Semaphore(CONC)

    async def one(i):
        async with sem:
            await asyncio.to_thread(
                c.put_object,
                B,
                f"bench/minio/{RUN}/{i}",
                io.BytesIO(body),
                len(body),
                content_type="application/pdf",
                metadata={"tenant-id": "t1", "invoice-id": f"i{i}"},
            )

    await one(-1)
    return one


async def main(kind):
    one = await {"boto": run_boto, "obstore": run_obstore, "minio": run_minio}[kind]()
    s0 = scpu()
    c0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(N)))
    t = time.perf_counter() - t0
    c = time.process_time() - c0
    s = scpu() - s0
    print(
        f"{kind:8s} {N / t:7.1f} PUT/s  client {c / N * 1000:5.2f} CPU-ms/PUT  "
        f"seaweed {s / N * 1000:5.2f} CPU-ms/PUT"
    )


asyncio.run(main(sys.argv[1]))
