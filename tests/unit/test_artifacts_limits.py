"""Per-file upload limit while the multipart body streams (gateway.limits)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import APIRouter, FastAPI, File, HTTPException, UploadFile
from fastapi.testclient import TestClient
from gateway.limits import PartSizeLimit, PerFileLimitRoute

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(**files: bytes) -> bytes:
    body = b""
    for name, data in files.items():
        body += (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n"
        ).encode() + data + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def feed_in_chunks(limit: PartSizeLimit, body: bytes, size: int) -> None:
    for start in range(0, len(body), size):
        limit.feed(body[start : start + size])


def test_parts_within_the_limit_pass_whatever_the_chunking():
    body = multipart(input_file=b"a" * 100, expected_output_file=b"b" * 100)
    for size in (1, 7, 64, len(body)):
        feed_in_chunks(PartSizeLimit(CONTENT_TYPE, 100), body, size)


def test_the_part_over_the_limit_is_named_in_the_413():
    body = multipart(input_file=b"a" * 10, expected_output_file=b"b" * 101)
    limit = PartSizeLimit(CONTENT_TYPE, 100)
    with pytest.raises(HTTPException) as caught:
        feed_in_chunks(limit, body, 16)
    assert caught.value.status_code == 413
    assert "expected_output_file" in caught.value.detail and "100 bytes" in caught.value.detail


def test_stops_as_soon_as_the_part_passes_the_limit_not_at_the_end():
    big = multipart(input_file=b"a" * 10_000)
    limit = PartSizeLimit(CONTENT_TYPE, 1000)
    fed = 0
    with pytest.raises(HTTPException):
        for start in range(0, len(big), 256):
            fed += 256
            limit.feed(big[start : start + 256])
    assert fed < 2000


def test_a_body_without_boundary_is_left_to_the_form_parser():
    PartSizeLimit("multipart/form-data", 10).feed(b"x" * 100)


def _app(limit: int) -> tuple[FastAPI, list[int]]:
    stored: list[int] = []
    router = APIRouter(route_class=PerFileLimitRoute)

    @router.post("/upload")
    async def upload(input_file: UploadFile = File(...), expected_output_file: UploadFile = File(...)) -> dict:
        stored.append(len(await input_file.read()) + len(await expected_output_file.read()))
        return {"ok": True}

    app = FastAPI()
    app.include_router(router)
    app.state.settings = SimpleNamespace(max_upload_bytes=limit)
    return app, stored


def test_route_refuses_an_oversized_file_before_the_handler_runs():
    app, stored = _app(limit=50)
    with TestClient(app) as client:
        response = client.post(
            "/upload", content=multipart(input_file=b"a" * 20, expected_output_file=b"b" * 51),
            headers={"content-type": CONTENT_TYPE},
        )
    assert response.status_code == 413
    assert "expected_output_file" in response.json()["detail"]
    assert stored == []


def test_route_accepts_files_at_the_limit_even_when_together_they_pass_it():
    app, stored = _app(limit=50)
    with TestClient(app) as client:
        response = client.post(
            "/upload", content=multipart(input_file=b"a" * 50, expected_output_file=b"b" * 50),
            headers={"content-type": CONTENT_TYPE},
        )
    assert response.status_code == 200
    assert stored == [100]
