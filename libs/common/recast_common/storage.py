"""S3 object storage (aiobotocore). Keys look like `{client_id}/{job_id}/...`.

async with Storage(settings) as s:
    await s.put_bytes("c1/j1/input.csv", data)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from recast_common.settings import Settings
from recast_common.tracing import instrument_s3_client

_CHUNK = 1024 * 1024


class StorageError(RuntimeError):
    """S3 answered, but did not do all that was asked."""
_PART_SIZE = 8 * 1024 * 1024
_NOT_FOUND = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


class Storage:
    def __init__(self, settings: Settings, bucket: str | None = None):
        self.settings = settings
        self.bucket = bucket or settings.s3_bucket
        self._client_cm = None
        self._client = None

    async def __aenter__(self) -> "Storage":
        session = get_session()
        self._client_cm = session.create_client(
            "s3",
            endpoint_url=self.settings.s3_endpoint,
            region_name=self.settings.s3_region,
            aws_access_key_id=self.settings.s3_access_key,
            aws_secret_access_key=self.settings.s3_secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self._client = await self._client_cm.__aenter__()
        instrument_s3_client(self._client, self.bucket)  # s3 spans, when tracing is on
        return self

    async def __aexit__(self, *exc) -> None:
        if self._client_cm is not None:
            await self._client_cm.__aexit__(*exc)
        self._client = self._client_cm = None

    @property
    def client(self):
        if self._client is None:
            raise RuntimeError("use Storage inside `async with`")
        return self._client

    async def ensure_bucket(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                await self.client.create_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in (
                    "BucketAlreadyOwnedByYou",
                    "BucketAlreadyExists",
                ):
                    raise

    async def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        await self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def get_bytes(self, key: str) -> bytes:
        response = await self.client.get_object(Bucket=self.bucket, Key=key)
        async with response["Body"] as stream:
            return await stream.read()

    async def upload_file(self, key: str, path: str | os.PathLike) -> None:
        """Upload from disk without loading the whole file (in parts past the first 8 MiB)."""

        async def chunks() -> AsyncIterator[bytes]:
            with Path(path).open("rb") as handle:
                while chunk := handle.read(_PART_SIZE):
                    yield chunk

        await self.put_stream(key, chunks())

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str = "application/octet-stream"
    ) -> int:
        """Store an async stream of chunks in parts of 8 MiB (one PUT if it ends before the first part fills).

        Holds at most one part in memory. If the stream or S3 fails, the multipart upload is aborted so no
        part or half-written object remains. Returns the number of bytes stored.
        """
        buffer = bytearray()
        iterator = aiter(chunks)
        async for chunk in iterator:
            buffer += chunk
            if len(buffer) >= _PART_SIZE:
                break
        else:
            await self.put_bytes(key, bytes(buffer), content_type)
            return len(buffer)
        upload = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        upload_id = upload["UploadId"]
        parts: list[dict] = []
        size = 0

        async def send(data: bytes) -> None:
            nonlocal size
            number = len(parts) + 1
            part = await self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
            parts.append({"ETag": part["ETag"], "PartNumber": number})
            size += len(data)

        async def send_full_parts() -> None:
            while len(buffer) >= _PART_SIZE:
                data = bytes(buffer[:_PART_SIZE])
                del buffer[:_PART_SIZE]
                await send(data)

        try:
            await send_full_parts()
            async for chunk in iterator:
                buffer += chunk
                await send_full_parts()
            if buffer:
                await send(bytes(buffer))
            await self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            await self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return size

    async def iter_object(self, key: str, chunk_size: int = _CHUNK) -> tuple[int, AsyncIterator[bytes]]:
        """The size of an object and an iterator over its bytes, read from S3 as the iterator is consumed."""
        response = await self.client.get_object(Bucket=self.bucket, Key=key)
        body = response["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            async with body as stream:
                while chunk := await stream.read(chunk_size):
                    yield chunk

        return int(response["ContentLength"]), chunks()

    async def download_file(self, key: str, path: str | os.PathLike) -> None:
        """Stream an object to disk in chunks."""
        response = await self.client.get_object(Bucket=self.bucket, Key=key)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        async with response["Body"] as stream:
            with open(path, "wb") as handle:
                while chunk := await stream.read(_CHUNK):
                    handle.write(chunk)

    async def download_ranges(self, key: str, path: str | os.PathLike, ranges: list[tuple[int, int]]) -> None:
        """Write the byte ranges [start, end) of an object to one file, one after the other."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for start, end in ranges:
                if end <= start:
                    continue
                response = await self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}")
                async with response["Body"] as stream:
                    while chunk := await stream.read(_CHUNK):
                        handle.write(chunk)

    # A multipart upload whose parts come from several processes (tester.chunked): each uploads its part by
    # number (a part uploaded again under its number replaces the first), one completes it with every ETag.

    async def start_multipart(self, key: str, content_type: str = "application/octet-stream") -> str:
        upload = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        return str(upload["UploadId"])

    async def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Upload part `number` (from 1) of an upload; returns its ETag."""
        part = await self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                             Body=data)
        return str(part["ETag"])

    async def complete_multipart(self, key: str, upload_id: str, etags: list[str]) -> None:
        """Complete an upload with the ETags of its parts 1..n, in order."""
        parts = [{"ETag": etag, "PartNumber": number} for number, etag in enumerate(etags, start=1)]
        await self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                    MultipartUpload={"Parts": parts})

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Abort an upload and drop its parts (an upload already gone is not an error)."""
        try:
            await self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in (*_NOT_FOUND, "NoSuchUpload"):
                raise

    async def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    async def delete_keys(self, keys: list[str]) -> int:
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            response = await self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            if failed := response.get("Errors"):  # Quiet mode reports only the keys it could not delete
                first = failed[0]
                raise StorageError(
                    f"could not delete {len(failed)} object(s), e.g. {first.get('Key')}: {first.get('Message')}"
                )
        return len(keys)

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix (a trailing '/' is added so 'c1/j1' never matches 'c1/j10')."""
        if not prefix:
            raise ValueError("refusing to delete the whole bucket")
        if not prefix.endswith("/"):
            prefix += "/"
        return await self.delete_keys(await self.list_keys(prefix))

    async def head(self, key: str) -> int | None:
        try:
            response = await self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                return None
            raise
        return int(response["ContentLength"])

    async def exists(self, key: str) -> bool:
        return await self.head(key) is not None

    async def ping(self) -> bool:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
            return True
        except Exception:
            return False
