"""S3-compatible object storage (SeaweedFS locally, AWS S3 in production) through boto3.

boto3 is synchronous; calls run in a worker thread so the event loop keeps going.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from pydantic import SecretStr

from einvoice.bus import TransientError
from einvoice.settings import Settings


def s3_client(settings: Settings) -> Any:
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


@dataclass
class ObjectStore:
    client: Any
    bucket: str

    async def ensure_bucket(self) -> None:
        def create() -> None:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self.client.create_bucket(Bucket=self.bucket)

        await self._call(create)

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
        supported by S3 and SeaweedFS): False when an object is there already."""
        condition = {"IfNoneMatch": "*"} if only_new else {}
        try:
            await self._call(
                self.client.put_object,
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                Metadata=metadata,
                **condition,
            )
        except ClientError as exc:
            if only_new and exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return False
            raise
        return True

    async def get(self, key: str) -> bytes:
        response = await self._call(self.client.get_object, Bucket=self.bucket, Key=key)
        return await asyncio.to_thread(response["Body"].read)

    async def head(self, key: str) -> dict[str, Any] | None:
        """The object's size and metadata, or None when it does not exist."""
        try:
            response = await self._call(self.client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return {"size": response["ContentLength"], "metadata": response.get("Metadata", {})}

    @staticmethod
    async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (BotoConnectionError, HTTPClientError) as exc:
            raise TransientError(f"object storage unreachable: {exc}") from exc
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500 or status == 429:
                raise TransientError(f"object storage answered {status}: {exc}") from exc
            raise
