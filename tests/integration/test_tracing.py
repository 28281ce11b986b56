"""One trace from the HTTP request to the projected result, on the real stack, through a file exporter.

Every service runs with RECAST_TRACE_DIR (recast_common.tracing writes each finished span as a JSON line); the
test sends its own `traceparent`, trains a job through the whole pipeline and reads the spans back. The
gateway's JSON log lines for the request carry the same trace id and the request id.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

import httpx
import pytest
from recast_devstack.services import BACKGROUND_SERVICES
from test_pipeline_kit import API, create_client, wait_job

pytestmark = pytest.mark.integration

TRAIN_INPUT = "name,city\nAda Lovelace,London\nAlan Turing,Wilmslow\nGrace Hopper,Arlington\n"
TRAIN_EXPECTED = "city,name\nLondon,Ada Lovelace\nWilmslow,Alan Turing\nArlington,Grace Hopper\n"
CONSUMERS = ("profiler", "planner", "coder", "tester")


def read_spans(folder: Path) -> list[dict]:
    return [json.loads(line) for path in folder.glob("*.jsonl") for line in path.read_text().splitlines() if line]


def wait_for_spans(folder: Path, trace_id: str, wanted: set[str], timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        spans = [s for s in read_spans(folder) if s["trace_id"] == trace_id]
        if wanted <= {s["service"] for s in spans} or time.monotonic() > deadline:
            return spans
        time.sleep(0.5)


async def test_one_trace_id_runs_from_the_http_request_to_the_projected_result(stack, spawn, spawn_gateway, tmp_path):
    traces = tmp_path / "traces"
    env = {"RECAST_TRACE_DIR": str(traces)}
    for name, _ in BACKGROUND_SERVICES:
        spawn(name, {**env, "RECAST_REPLICA_ID": f"{name}-traced"})
    gateway = spawn_gateway(env)
    client_id, key = await asyncio.to_thread(create_client, gateway.url, stack.settings.admin_api_key)

    trace_id, parent_span = secrets.token_hex(16), secrets.token_hex(8)
    response = await asyncio.to_thread(
        httpx.post, f"{gateway.url}{API}/train", timeout=60,
        headers={"X-API-KEY": key, "traceparent": f"00-{trace_id}-{parent_span}-01", "X-Request-ID": "trace-test-1"},
        json={"input_file": TRAIN_INPUT, "expected_output_file": TRAIN_EXPECTED, "header": "auto"},
    )
    assert response.status_code == 202, response.text
    assert response.headers["x-request-id"] == "trace-test-1"
    job = await asyncio.to_thread(wait_job, gateway.url, key, client_id, response.json()["job_id"])
    assert job["status"] == "succeeded", job

    spans = wait_for_spans(traces, trace_id, {"gateway", "relay", "projector", *CONSUMERS})
    by_service = {s["service"] for s in spans}
    assert {"gateway", "relay", "projector", *CONSUMERS} <= by_service, by_service
    names = {(s["service"], s["name"]) for s in spans}
    assert ("gateway", "POST /api/v1/train") in names
    assert ("relay", "job.submitted publish") in names
    assert ("profiler", "job.submitted process") in names
    assert ("projector", "job.succeeded process") in names
    # the request's span is the child of the client's; the database and S3 work are spans of the same trace
    (server,) = [s for s in spans if s["name"] == "POST /api/v1/train"]
    assert server["parent_id"] == parent_span and server["kind"] == "SERVER"
    assert server["attributes"]["recast.request_id"] == "trace-test-1"
    assert any(s["name"].startswith("db ") and s["service"] == "gateway" for s in spans)
    assert any(s["name"].startswith("db ") and s["service"] == "profiler" for s in spans)
    assert any(s["name"].startswith("s3 ") and s["service"] == "tester" for s in spans)
    # every span but the request's has its parent in this trace: nothing was cut off between services
    ids = {s["span_id"] for s in spans}
    orphans = [s["name"] for s in spans if s["parent_id"] not in ids and s is not server]
    assert not orphans, orphans

    log_lines = [json.loads(line) for line in gateway.log_path.read_text().splitlines() if line.startswith("{")]
    request_lines = [line for line in log_lines if line.get("request_id") == "trace-test-1"]
    assert request_lines and all(line["trace_id"] == trace_id for line in request_lines)

