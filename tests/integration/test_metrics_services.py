"""/metrics of real services: the gateway's request counts, a consumer's and the projector's own metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from recast_common.db.session import asyncpg_dsn
from recast_common.events import JobFailed, JobSubmitted, JobSucceeded
from recast_devstack.ports import free_port
from test_pipeline_kit import new_id, publish, put_objects

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 90


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a /metrics page, keyed by (name, labels)."""
    response = httpx.get(url, timeout=5)
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape_until(url: str, ready, what: str) -> dict:
    """Scrape until `ready(samples)` holds (the service may still be starting or handling)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    last: object = None
    while loop.time() < deadline:
        try:
            samples = await asyncio.to_thread(scrape, url)
            if ready(samples):
                return samples
            last = sorted(k[0] for k in samples if k[0].startswith("recast_"))
        except httpx.HTTPError as exc:
            last = exc
        await asyncio.sleep(0.5)
    raise AssertionError(f"no {what} at {url} within {DEADLINE_SECONDS}s (last: {last})")


def test_gateway_metrics_count_requests_by_route_template(spawn_gateway):
    gateway = spawn_gateway()
    for job in ("job-one", "job-two", "job-three"):
        response = httpx.get(f"{gateway.url}/api/v1/metrics-client/{job}", timeout=10)
        assert response.status_code in (401, 403)
    assert httpx.get(f"{gateway.url}/health", timeout=10).status_code == 200

    response = httpx.get(f"{gateway.url}/metrics", timeout=10)
    assert response.status_code == 200
    samples = scrape(f"{gateway.url}/metrics")

    unauthorized = sum(
        value(samples, "http_requests_total", method="GET", route="/api/v1/{client_id}/{job_id}", status=status)
        for status in ("401", "403")
    )
    assert unauthorized == 3
    assert value(samples, "http_requests_total", method="GET", route="/health", status="200") >= 1
    assert "job-one" not in response.text  # raw paths never become labels
    paths = httpx.get(f"{gateway.url}/openapi.json", timeout=10).json()["paths"]
    assert "/metrics" not in paths


def livez_served_by_pid(folder: Path) -> dict[int, float]:
    """GET /livez requests each worker counted, read from its own metrics file."""
    served: dict[int, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == "http_requests_total" and sample.labels.get("route") == "/livez":
                    served[pid] = served.get(pid, 0) + sample.value
    return served


def test_gateway_workers_metrics_count_every_workers_requests(spawn_gateway, tmp_path):
    folder = tmp_path / "gateway-metrics"
    gateway = spawn_gateway({"RECAST_GATEWAY_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(folder)})
    livez = f"{gateway.url}/livez"
    sent = 0
    with ThreadPoolExecutor(16) as pool:  # fresh connections, many at once: both workers take some
        while len(livez_served_by_pid(folder)) < 2 and sent < 3000:
            statuses = list(pool.map(lambda _: httpx.get(livez, timeout=10).status_code, range(50)))
            assert statuses == [200] * 50
            sent += 50
    served = livez_served_by_pid(folder)
    assert len(served) == 2 and sum(served.values()) == sent
    # whichever worker answers the scrape, it counts both workers' requests
    for _ in range(4):
        assert value(scrape(f"{gateway.url}/metrics"), "http_requests_total", method="GET", route="/livez",
                     status="200") == sent

    # A worker killed is replaced; its counts stay in the totals, its sampled gauges go.
    victim = min(served)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    gauges = lambda: {int(p.stem.rsplit("_", 1)[1]) for p in folder.glob("gauge_livemostrecent_*.db")}  # noqa: E731
    while victim in gauges() or len(gauges()) < 2:
        assert time.monotonic() < deadline, f"no replacement for worker {victim}: {sorted(gauges())}"
        time.sleep(0.2)
    assert victim not in gauges()
    assert httpx.get(livez, timeout=10).status_code == 200
    assert value(scrape(f"{gateway.url}/metrics"), "http_requests_total", method="GET", route="/livez",
                 status="200") == sent + 1


async def test_consumer_serves_events_handled_on_its_metrics_port(spawn, stack):
    settings = stack.settings
    port = free_port()
    spawn("profiler", {"RECAST_METRICS_PORT": str(port), "RECAST_REPLICA_ID": "profiler-metrics"})
    client, job = new_id("c"), new_id("j")
    input_key, expected_key = f"{client}/{job}/input.csv", f"{client}/{job}/expected.csv"
    await put_objects(settings, {input_key: b"a,b\n1,2\n", expected_key: b"b,a\n2,1\n"})
    await publish(settings, JobSubmitted(job_id=job, client_id=client, input_key=input_key,
                                         expected_key=expected_key))

    handled = {"service": "profiler", "topic": "job.submitted", "outcome": "handled"}
    samples = await scrape_until(
        f"http://127.0.0.1:{port}/metrics",
        lambda s: value(s, "recast_events_handled_total", **handled) >= 1,
        "handled job.submitted",
    )
    assert value(samples, "recast_stage_duration_seconds_count", **handled) >= 1
    assert value(samples, "recast_stage_duration_seconds_bucket", **handled, le="+Inf") >= 1


async def test_projector_observes_a_job_duration_once(spawn, stack):
    port = free_port()
    spawn("projector", {"RECAST_METRICS_PORT": str(port)})
    url = f"http://127.0.0.1:{port}/metrics"
    conn = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    try:
        client, job = f"metrics-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        await conn.execute("INSERT INTO clients (id) VALUES ($1)", client)
        await conn.execute(
            "INSERT INTO jobs (id, public_id, client_id, input_key, expected_key, created_at) "
            "VALUES ($1, $1, $2, 'i', 'e', now() - interval '1 minute')",
            job, client,
        )
        succeeded = JobSucceeded(job_id=job, client_id=client, script_key="s", verdict={"passed": True})
        await publish(stack.settings, succeeded)
        first = await scrape_until(
            url, lambda s: value(s, "recast_job_duration_seconds_count", outcome="succeeded") >= 1,
            "job duration of a succeeded job",
        )
        assert value(first, "recast_job_duration_seconds_sum", outcome="succeeded") >= 59

        # A redelivery and a late failure of the finished job: projected, but the job ended only once.
        late_failure = JobFailed(job_id=job, client_id=client, reason="late")
        await publish(stack.settings, succeeded, late_failure)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        while await conn.fetchval("SELECT count(*) FROM job_events WHERE event_id = $1",
                                  late_failure.event_id) == 0:
            assert loop.time() < deadline, "late failure not projected"
            await asyncio.sleep(0.2)
        assert await conn.fetchval("SELECT status FROM jobs WHERE id = $1", job) == "succeeded"
        second = await asyncio.to_thread(scrape, url)
        for outcome in ("succeeded", "failed"):
            assert value(second, "recast_job_duration_seconds_count", outcome=outcome) == value(
                first, "recast_job_duration_seconds_count", outcome=outcome)
    finally:
        await conn.close()
