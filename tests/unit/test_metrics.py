"""Metrics without servers: consumer outcomes, the request middleware's route labels, job durations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from gateway.metrics import (
    UNMATCHED_ROUTE,
    install_metrics,
    job_duration_seconds,
    match_template,
    route_templates,
)
from prometheus_client import REGISTRY
from recast_common import metrics
from recast_common.consumer import Consumer
from recast_common.settings import Settings


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_outcome_labels_are_the_documented_ones():
    assert metrics.outcome_label("dead-lettered") == "dead_lettered"
    assert metrics.outcome_label("handled") == "handled"
    with pytest.raises(ValueError):
        metrics.outcome_label("exploded")


def test_record_message_counts_the_outcome_and_observes_the_duration():
    labels = {"service": "unit-svc", "topic": "job.submitted"}
    before = sample("recast_events_handled_total", **labels, outcome="duplicate")
    metrics.record_message("unit-svc", "job.submitted", "duplicate", 0.2)
    assert sample("recast_events_handled_total", **labels, outcome="duplicate") == before + 1
    assert sample("recast_stage_duration_seconds_count", **labels, outcome="duplicate") >= 1
    assert sample("recast_stage_duration_seconds_bucket", **labels, outcome="duplicate", le="0.25") >= 1


def test_a_failed_try_counts_as_error_and_as_retried_only_when_retried():
    labels = {"service": "unit-err", "topic": "job.planned"}
    metrics.record_handler_error("unit-err", "job.planned", will_retry=True)
    metrics.record_handler_error("unit-err", "job.planned", will_retry=False)
    assert sample("recast_handler_errors_total", **labels) == 2
    assert sample("recast_events_handled_total", **labels, outcome="retried") == 1


def test_metrics_port_comes_from_the_environment():
    assert metrics.metrics_port_from_env({}) is None
    assert metrics.metrics_port_from_env({"RECAST_METRICS_PORT": " "}) is None
    assert metrics.metrics_port_from_env({"RECAST_METRICS_PORT": "9100"}) == 9100
    with pytest.raises(ValueError):
        metrics.metrics_port_from_env({"RECAST_METRICS_PORT": "70000"})


class RecordingBroker:
    """Stands in for Kafka in this unit test only: keeps what the consumer publishes."""

    def __init__(self):
        self.published: list[tuple[str, object]] = []

    async def publish(self, body, topic, key=None, headers=None):
        self.published.append((topic, body))


async def test_consumer_process_records_a_dead_lettered_undecodable_message():
    async def never_called(event, ctx):
        raise AssertionError("an undecodable message reaches no handler")

    consumer = Consumer("unit-consumer", Settings(), never_called)
    consumer.broker = RecordingBroker()
    labels = {"service": "unit-consumer", "topic": "job.coded"}

    assert await consumer.process("job.coded", b"{not json") == "dead-lettered"

    assert [topic for topic, _ in consumer.broker.published] == ["job.coded.dlq"]
    assert sample("recast_events_handled_total", **labels, outcome="dead_lettered") == 1
    assert sample("recast_stage_duration_seconds_count", **labels, outcome="dead_lettered") == 1
    assert sample("recast_handler_errors_total", **labels) == 0  # no handler ran


def small_app() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict:
        if thing_id == "boom":
            raise ValueError("boom")
        return {"id": thing_id}

    install_metrics(app)
    return app


async def test_requests_are_counted_by_route_template_not_raw_path():
    app = small_app()
    route = {"method": "GET", "route": "/things/{thing_id}", "status": "200"}
    before = sample("http_requests_total", **route)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for thing in ("a", "b", "c"):
            assert (await client.get(f"/things/{thing}")).status_code == 200
        assert (await client.get("/things/boom")).status_code == 500
        assert (await client.get("/no/such/path")).status_code == 404
        exposed = (await client.get("/metrics")).text
        schema = (await client.get("/openapi.json")).json()

    assert sample("http_requests_total", **route) == before + 3
    assert sample("http_requests_total", method="GET", route="/things/{thing_id}", status="500") >= 1
    assert sample("http_requests_total", method="GET", route=UNMATCHED_ROUTE, status="404") >= 1
    assert sample("http_request_duration_seconds_count", method="GET", route="/things/{thing_id}") >= 4
    assert 'route="/things/{thing_id}"' in exposed
    assert "/things/a" not in exposed
    assert "/metrics" not in schema["paths"]


def test_job_duration_is_measured_from_creation_to_the_terminal_event():
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert job_duration_seconds(created, created + timedelta(seconds=42.5)) == 42.5
    assert job_duration_seconds(created, created - timedelta(seconds=1)) == 0.0  # clock skew
    assert job_duration_seconds(created.replace(tzinfo=None), created + timedelta(seconds=1)) == 1.0


def test_included_routers_keep_their_prefix_in_the_route_label():
    inner, outer = APIRouter(), APIRouter()

    @inner.get("/status")
    async def status() -> dict:
        return {}

    @inner.get("/{client_id}/{job_id}")
    async def job(client_id: str, job_id: str) -> dict:
        return {}

    outer.include_router(inner)
    app = FastAPI()
    app.include_router(outer, prefix="/api/v1")
    templates = route_templates(app.routes)

    assert match_template(templates, "GET", "/api/v1/status") == "/api/v1/status"  # routing order wins
    assert match_template(templates, "GET", "/api/v1/c1/j1") == "/api/v1/{client_id}/{job_id}"
    assert match_template(templates, "DELETE", "/api/v1/c1/j1") == "/api/v1/{client_id}/{job_id}"  # a 405
    assert match_template(templates, "GET", "/elsewhere") == UNMATCHED_ROUTE
