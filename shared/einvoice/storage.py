"""S3-compatible object storage (SeaweedFS locally, AWS S3 in production).

Objects are written and read through obstore (Rust's `object_store`, async, no worker
thread), which costs far less CPU per PUT than boto3, and that counts at 100 invoices a
second (ADR 0011 has the measurements). boto3 stays for what obstore does not do: creating
the bucket, and the tools and tests that look into the bucket.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import obstore
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from obstore.exceptions import (
    AlreadyExistsError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)
from obstore.store import S3Store
from pydantic import SecretStr

from einvoice import events
from einvoice.bus import PermanentError, TransientError
from einvoice.settings import Settings

if TYPE_CHECKING:  # obstore declares it in its stubs only
    from obstore.store import S3Config


class Objects(Protocol):
    """What the services that write an invoice's objects need of the store (`ObjectStore`
    in production, a fake in unit tests)."""

    bucket: str

    async def head(self, key: str) -> dict[str, Any] | None: ...

    async def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        metadata: dict[str, str],
        *,
        only_new: bool = False,
    ) -> bool: ...


def invoice_key(tenant_id: str, invoice: events.InvoiceIssued, suffix: str) -> str:
    """Where one of an invoice's objects lives: `<tenant>/<YYYY>/<MM>/<invoice_id>.<suffix>`
    (issue date), deterministic, so a redelivery finds the object it wrote. Its parts are
    checked, so no id can reach into another tenant's keys."""
    for name, value in (("tenant_id", tenant_id), ("invoice_id", invoice.invoice_id)):
        if why := events.unsafe_id(value):
            raise PermanentError(f"{name} {why}")
    return f"{tenant_id}/{invoice.issue_date:%Y/%m}/{invoice.invoice_id}.{suffix}"


def s3_client(settings: Settings) -> Any:
    """A boto3 client: bucket administration, and tools that inspect the bucket."""
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        region_name=settings.s3_region,
        aws_access_key_id=_secret(settings.s3_access_key),
        aws_secret_access_key=_secret(settings.s3_secret_key),
        config=Config(
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"},
            max_pool_connections=32,
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def object_store(settings: Settings, bucket: str | None = None) -> ObjectStore:
    """The store the services read and write PDFs through."""
    bucket = bucket or settings.s3_bucket
    credentials: S3Config = {}
    if access_key_id := _secret(settings.s3_access_key):
        credentials["access_key_id"] = access_key_id
    if secret_access_key := _secret(settings.s3_secret_key):
        credentials["secret_access_key"] = secret_access_key
    store = S3Store(
        bucket,
        endpoint=settings.s3_endpoint,
        region=settings.s3_region,
        virtual_hosted_style_request=False,
        client_options={
            "allow_http": settings.s3_endpoint.startswith("http://"),
            "connect_timeout": timedelta(seconds=5),
            "timeout": timedelta(seconds=30),
        },
        # The same budget as boto3's standard mode; after it the caller's own retries
        # (a TransientError) take over, so a long outage never hides in here.
        retry_config={
            "max_retries": 2,
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=2),
                "base": 2,
            },
            "retry_timeout": timedelta(seconds=30),
        },
        config=credentials,
    )
    return ObjectStore(store, bucket, admin=lambda: s3_client(settings))


@dataclass
class ObjectStore:
    store: Any  # obstore's S3Store
    bucket: str
    admin: Any = None  # () -> a boto3 client, for creating the bucket

    async def ensure_bucket(self) -> None:
        if self.admin is None:
            return
        client = self.admin()

        def create() -> None:
            try:
                client.head_bucket(Bucket=self.bucket)
            except ClientError:
                client.create_bucket(Bucket=self.bucket)

        try:
            await asyncio.to_thread(create)
        except (BotoConnectionError, HTTPClientError) as exc:
            raise TransientError(f"object storage unreachable: {exc}") from exc

    async def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        metadata: dict[str, str],
        *,
        only_new: bool = False,
    ) -> bool:
        """Store the object; with `only_new`, only if the key is free (`If-None-Match: *`,
        supported by S3 and SeaweedFS): False when an object is there already.
        Metadata values must be ASCII (S3 sends them as HTTP headers)."""
        for name, value in metadata.items():
            if not (name + value).isascii():
                raise ValueError(f"object metadata must be ASCII: {name}={value!r}")
        try:
            await self._call(
                obstore.put_async(
                    self.store,
                    key,
                    body,
                    mode="create" if only_new else "overwrite",
                    attributes={"Content-Type": content_type, **metadata},
                )
            )
        except (AlreadyExistsError, PreconditionError):
            if only_new:
                return False
            raise
        return True

    async def get(self, key: str) -> bytes:
        result = await self._call(obstore.get_async(self.store, key))
        return bytes(await self._call(result.bytes_async()))

    async def head(self, key: str) -> dict[str, Any] | None:
        """The object's size and metadata, or None when it does not exist."""
        try:
            result = await self._call(obstore.get_async(self.store, key, options={"head": True}))
        except _MISSING:
            return None
        metadata = {
            str(name): value
            for name, value in result.attributes.items()
            if str(name) not in _STANDARD_ATTRIBUTES
        }
        return {"size": result.meta["size"], "metadata": metadata}

    async def close(self) -> None:
        """Let go of the connections before the interpreter exits (obstore's runtime can
        abort a process that exits with connections still open)."""
        self.store = None
        await asyncio.sleep(0)

    @staticmethod
    async def _call(operation: Any) -> Any:
        try:
            return await operation
        except (*_MISSING, AlreadyExistsError, PreconditionError):
            raise
        except (PermissionDeniedError, UnauthenticatedError, PermissionError):
            raise  # a configuration error: retrying does not help
        except (obstore.exceptions.BaseError, OSError) as exc:
            # Connection refused or reset, timeouts, 5xx and 429 after the store's own retries.
            raise TransientError(f"object storage: {exc}".splitlines()[0]) from exc


# obstore raises Python's FileNotFoundError for a missing object (its own class exists too).
_MISSING = (NotFoundError, FileNotFoundError)

# Attributes obstore reports that are HTTP headers, not the object's user metadata.
_STANDARD_ATTRIBUTES = frozenset(
    {"Content-Type", "Content-Disposition", "Content-Encoding", "Content-Language", "Cache-Control"}
)
