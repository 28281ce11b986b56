"""Inference on a file larger than the upload limit: streamed in with PUT, result fetched from output_url.

The real gateway (with small limits), relay, projector and tester; the input is streamed chunked, so neither
side holds it whole; the expectation is computed here from the input rows, not taken from the service.
"""
from __future__ import annotations

import asyncio
import base64
import csv
import io
import time
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from recast_common.db.session import asyncpg_dsn
from recast_common.storage import Storage
from test_pipeline_kit import API, create_client, train, wait_job

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
UPLOAD_LIMIT = 1 * MiB
STREAM_LIMIT = 16 * MiB
INLINE_LIMIT = 256 * 1024
LIMITS = {
    "RECAST_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    "RECAST_MAX_INFERENCE_BYTES": str(STREAM_LIMIT),
    "RECAST_INLINE_OUTPUT_BYTES": str(INLINE_LIMIT),
    "RECAST_INFERENCE_WAIT_SECONDS": "90",
}

TRAIN_INPUT = "name,city,age\nAda Lovelace,London,36\nAlan Turing,Wilmslow,41\nGrace Hopper,Arlington,85\n"
TRAIN_EXPECTED = "city,name\nLondon,Ada Lovelace\nWilmslow,Alan Turing\nArlington,Grace Hopper\n"
FIRST = ["Edsger", "Barbara", "Donald", "Frances", "Niklaus", "Radia", "Ken", "Margaret", "Tony", "Shafi"]
LAST = ["Dijkstra", "Liskov", "Knuth", "Allen", "Wirth", "Perlman", "Thompson", "Hamilton", "Hoare", "Goldwasser"]
CITIES = ["Nuenen", "Boston", "Stanford", "Peru", "Zurich", "Portland", "Berkeley", "Paoli", "Oxford", "Haifa"]


def rows(count: int) -> list[list[str]]:
    return [
        [f"{FIRST[i % 10]} {LAST[(i // 10) % 10]} {i}", f"{CITIES[(i * 7) % 10]}-{i % 997}", str(20 + i % 70)]
        for i in range(count)
    ]


def as_csv(header: list[str], body: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue().encode()


def chunked(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    """An iterator body: httpx sends it with chunked transfer encoding, no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def leftovers(settings, prefix: str) -> tuple[list[str], list[dict]]:
    """Objects and unfinished multipart uploads under prefix."""
    async with Storage(settings) as storage:
        keys = await storage.list_keys(prefix)
        uploads = await storage.client.list_multipart_uploads(Bucket=storage.bucket, Prefix=prefix)
    return keys, uploads.get("Uploads", [])


def finished(url: str, headers: dict[str, str], response: httpx.Response, timeout: float = 180) -> dict:
    """The run's JSON once done: the PUT answer itself, or the status_url polled after a 202."""
    body = response.json()
    deadline = time.monotonic() + timeout
    while body["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(1)
        body = httpx.get(url + body["status_url"], headers=headers, timeout=60).json()
    return body


@pytest.fixture(scope="module")
def trained(pipeline):
    client_id, key = create_client(pipeline.url, pipeline.admin_key)
    accepted = train(pipeline.url, key, TRAIN_INPUT, TRAIN_EXPECTED)
    job = wait_job(pipeline.url, key, client_id, accepted["job_id"])
    assert job["status"] == "succeeded", job
    return client_id, {"X-API-KEY": key}, accepted["job_id"]


async def test_big_file_streams_in_and_out_past_the_upload_limit(pipeline, spawn_gateway, trained):
    gateway = spawn_gateway(extra_env=LIMITS)
    url, (client_id, key, job_id) = gateway.url, trained
    stream_url = f"{url}{API}/inference/run/stream"
    runs = f"{client_id}/{job_id}/runs/"
    body_rows = rows(260_000)
    big = as_csv(["name", "city", "age"], body_rows)
    assert UPLOAD_LIMIT * 5 < len(big) < STREAM_LIMIT

    old = httpx.post(f"{url}{API}/inference/run/upload", headers=key, data={"job_id": job_id},
                     files={"input_file": ("big.csv", big, "text/csv")}, timeout=60)
    assert old.status_code == 413, old.text

    # Past the stream's own limit: refused whether the size is declared or only counted, nothing stored.
    over = big + big[len("name,city,age\n") :]
    assert len(over) > STREAM_LIMIT
    declared = httpx.put(stream_url, params={"job_id": job_id}, headers={**key, "Content-Type": "text/csv"},
                         content=over, timeout=60)
    assert declared.status_code == 413, declared.text
    counted = httpx.put(stream_url, params={"job_id": job_id}, headers={**key, "Content-Type": "text/csv"},
                        content=chunked(over), timeout=60)
    assert counted.status_code == 413, counted.text
    assert "larger than the limit" in counted.json()["detail"]

    # Not a CSV: a binary file, refused from its first bytes.
    binary = bytes(range(256)) * 40_000
    refused = httpx.put(stream_url, params={"job_id": job_id}, headers={**key, "Content-Type": "text/csv"},
                        content=chunked(binary), timeout=60)
    assert refused.status_code == 422, refused.text
    assert "UTF-8" in refused.json()["detail"]
    assert await leftovers(pipeline.settings, runs) == ([], [])

    # Another client's key, or a user_id that does not own the job: same answers as the other routes.
    _, stranger = await asyncio.to_thread(create_client, url, pipeline.admin_key)
    foreign = httpx.put(stream_url, params={"job_id": job_id}, headers={"X-API-KEY": stranger},
                        content=b"name,city,age\nX,Y,1\n")
    assert foreign.status_code == 404, foreign.text  # as if it did not exist
    wrong_user = httpx.put(stream_url, params={"job_id": job_id, "user_id": "someone-else"}, headers=key,
                           content=b"name,city,age\nX,Y,1\n")
    assert wrong_user.status_code == 404, wrong_user.text

    response = await asyncio.to_thread(
        httpx.put, stream_url, params={"job_id": job_id}, headers={**key, "Content-Type": "text/csv"},
        content=chunked(big), timeout=180,
    )
    assert response.status_code in (200, 202), response.text
    result = await asyncio.to_thread(finished, url, key, response)
    assert result["status"] == "succeeded", result
    assert result["output_file_base64"] is None
    assert result["output_url"] == f"{API}/inference/{result['run_id']}/output"

    download = await asyncio.to_thread(httpx.get, url + result["output_url"], headers=key, timeout=120)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert int(download.headers["content-length"]) == len(download.content) > INLINE_LIMIT
    assert f'filename="{result["run_id"]}.csv"' in download.headers["content-disposition"]
    expected = [["city", "name"]] + [[city, name] for name, city, _ in body_rows]
    assert list(csv.reader(io.StringIO(download.content.decode()))) == expected

    assert httpx.get(url + result["output_url"], headers={"X-API-KEY": stranger}).status_code == 404
    assert httpx.get(f"{url}{API}/inference/no-such-run/output", headers=key).status_code == 404


async def test_small_stream_answers_inline_and_at_output_url(pipeline, spawn_gateway, trained):
    gateway = spawn_gateway(extra_env=LIMITS)
    url, (_, key, job_id) = gateway.url, trained
    small = b"name,city,age\nEdsger Dijkstra,Nuenen,72\nBarbara Liskov,Boston,84\n"
    response = await asyncio.to_thread(
        httpx.put, f"{url}{API}/inference/run/stream", params={"job_id": job_id}, headers=key,
        content=small, timeout=120,
    )
    assert response.status_code in (200, 202), response.text
    result = await asyncio.to_thread(finished, url, key, response)
    assert result["status"] == "succeeded", result
    inline = base64.b64decode(result["output_file_base64"])
    assert list(csv.reader(io.StringIO(inline.decode()))) == [
        ["city", "name"], ["Nuenen", "Edsger Dijkstra"], ["Boston", "Barbara Liskov"]
    ]
    assert httpx.get(url + result["output_url"], headers=key).content == inline


async def test_output_route_waits_for_a_pending_run_and_refuses_a_failed_one(pipeline, spawn_gateway, trained):
    gateway = spawn_gateway(extra_env=LIMITS)
    url, (client_id, key, job_id) = gateway.url, trained
    conn = await asyncpg.connect(asyncpg_dsn(pipeline.settings.database_url))
    try:
        await conn.execute(
            "INSERT INTO inference_runs (id, job_id, client_id, input_key, output_key) "
            "VALUES ('pending-run-1', $1, $2, 'i', 'o')",
            job_id,
            client_id,
        )
        assert httpx.get(f"{url}{API}/inference/pending-run-1/output", headers=key).status_code == 409
        await conn.execute(
            "UPDATE inference_runs SET status = 'failed', error = 'boom' WHERE id = 'pending-run-1'"
        )
        failed = httpx.get(f"{url}{API}/inference/pending-run-1/output", headers=key)
        assert failed.status_code == 422 and "boom" in failed.json()["detail"]
        assert httpx.get(f"{url}{API}/inference/pending-run-1", headers=key).json()["output_url"] is None
    finally:
        await conn.execute("DELETE FROM inference_runs WHERE id = 'pending-run-1'")
        await conn.close()
