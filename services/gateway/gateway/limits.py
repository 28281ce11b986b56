"""Request size limits enforced while the body streams in, before any handler has read it all."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Collection
from typing import Any

from fastapi import HTTPException, UploadFile
from fastapi.routing import APIRoute
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit: int, what: str = "request body") -> HTTPException:
    return HTTPException(413, f"{what} is larger than the limit of {limit} bytes")


class BodySizeLimit:
    """Pure ASGI middleware: 413 as soon as Content-Length or the streamed byte count exceeds `max_bytes`.

    Requests to `exempt_paths` pass untouched: those routes stream their body and hold it to their own limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_paths: Collection[str] = ()):
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_413(send, self.max_bytes)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:
            if exc.status_code != 413 or response_started:
                raise
            await _send_413(send, self.max_bytes)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body is larger than the limit of {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_upload(upload: UploadFile, limit: int, field: str) -> bytes:
    """Read an uploaded file in chunks, stopping with 413 once it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large(limit, field)
        chunks.append(chunk)
    return b"".join(chunks)


async def limit_stream(chunks: AsyncIterable[bytes], limit: int, what: str) -> AsyncIterator[bytes]:
    """Pass chunks through, raising 413 as soon as more than `limit` bytes went by."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit, what)
        yield chunk


def check_text_size(text: str, limit: int, field: str) -> bytes:
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) > limit:
        raise too_large(limit, field)
    return data


class PartSizeLimit:
    """Follows a multipart body as it streams and stops it with 413 once one part passes `limit` bytes.

    Pure (no I/O): feed it the body chunks. The form parser downstream still does the real parsing; a body
    this cannot follow (no boundary, malformed) is left to that parser to reject.
    """

    def __init__(self, content_type: str, limit: int):
        self.limit = limit
        self.part_name = ""
        self.part_size = 0
        self._header_field = b""
        self._header_value = b""
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        self._parser: MultipartParser | None = None
        if boundary:
            self._parser = MultipartParser(
                boundary,
                callbacks={
                    "on_part_begin": self._on_part_begin,
                    "on_header_field": self._on_header_field,
                    "on_header_value": self._on_header_value,
                    "on_header_end": self._on_header_end,
                    "on_part_data": self._on_part_data,
                },
            )

    def feed(self, chunk: bytes) -> None:
        if self._parser is None or not chunk:
            return
        try:
            self._parser.write(chunk)
        except MultipartParseError:
            self._parser = None  # not ours to judge: the form parser reports it
        if self.part_size > self.limit:
            self._parser = None
            raise too_large(self.limit, self.part_name or "an uploaded file")

    def _on_part_begin(self) -> None:
        self.part_name, self.part_size = "", 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_field.strip().lower() == b"content-disposition":
            _, options = parse_options_header(self._header_value)
            self.part_name = options.get(b"name", b"").decode("utf-8", "replace")
        self._header_field = self._header_value = b""

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.part_size += end - start


def limit_multipart_parts(scope: Scope, receive: Receive, limit: int) -> Receive:
    """`receive` for a request whose multipart parts may each hold at most `limit` bytes."""
    headers = dict(scope.get("headers") or [])
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    if not content_type.lower().startswith("multipart/"):
        return receive
    parts = PartSizeLimit(content_type, limit)

    async def limited_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            parts.feed(message.get("body", b""))
        return message

    return limited_receive


class PerFileLimitRoute(APIRoute):
    """A route whose multipart uploads are held to settings.max_upload_bytes per file while they stream in,
    so an oversized file is refused (413) before the form is parsed and before anything is stored."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings: Any = scope["app"].state.settings
        await super().handle(scope, limit_multipart_parts(scope, receive, settings.max_upload_bytes), send)
