"""Gateway metrics: HTTP requests (middleware), GET /metrics, and (gateway.job_metrics) end-to-end job durations.

`route` is the route template ("/api/v1/{client_id}/{job_id}"), never the raw path, so that the number of
series stays bounded whatever clients request; requests no route matches share the label "unmatched".

A gateway run with several worker processes (RECAST_GATEWAY_WORKERS) keeps its metrics in prometheus_client's
multiprocess mode: each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (set by gateway.__main__
before any worker starts) and GET /metrics, whichever worker answers it, sums every worker's counters and
histograms, dead workers' included, so that counts never go down when a worker is replaced. The sampled gauges
are the same figures in every worker: the most recent sample of a live worker is shown.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.job_metrics import JOB_DURATION, job_duration_seconds, observe_job_finished  # noqa: F401 - re-exported

UNMATCHED_ROUTE = "unmatched"
ROUTE_TEMPLATE = "route_template"  # the scope state key where an outer middleware left the request's template

HTTP_REQUESTS = Counter(
    "http_requests",  # exposed as http_requests_total
    "HTTP requests served by the gateway.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to serve one HTTP request (inference requests may wait for their result).",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0),
)

# Sampled by gateway.pipeline_metrics (every replica the same figures: take max over pods; every worker of one
# pod too: its most recent sample).
SAMPLED = "livemostrecent"
ACTIVE_JOBS = Gauge("recast_active_jobs", "Jobs not finished, by status (stage).", ["stage"],
                    multiprocess_mode=SAMPLED)
OLDEST_ACTIVE_JOB_AGE = Gauge("recast_oldest_active_job_age_seconds",
                              "Age of the oldest job not finished (0 when there is none).", multiprocess_mode=SAMPLED)
OUTBOX_BACKLOG = Gauge("recast_outbox_backlog", "Outbox rows not yet published to Kafka by the relay.",
                       multiprocess_mode=SAMPLED)
OUTBOX_OLDEST_AGE = Gauge("recast_outbox_oldest_unsent_age_seconds",
                          "Age of the oldest outbox row not yet published (0 when there is none).",
                          multiprocess_mode=SAMPLED)
DLQ_MESSAGES = Gauge("recast_dlq_messages", "Messages held by a dead-letter topic.", ["topic"],
                     multiprocess_mode=SAMPLED)
SAMPLE_FAILURES = Counter("recast_metrics_sample_failures",  # exposed as recast_metrics_sample_failures_total
                          "Samples of the pipeline gauges that failed (database or broker unreachable).", ["source"])

router = APIRouter()


MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> Path | None:
    """The folder of the workers' metric files when this process runs in multiprocess mode, else None."""
    value = os.environ.get(MULTIPROC_DIR_ENV)
    return Path(value) if value else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_workers(folder: Path) -> list[int]:
    """Drop the live gauges of workers that are gone (a worker that crashed did not say so); their counters and
    histograms stay, summed into the totals. Returns the pids forgotten."""
    pids = set()
    for path in folder.glob("*.db"):
        tail = path.stem.rsplit("_", 1)[-1]
        if tail.isdigit():
            pids.add(int(tail))
    dead = sorted(pid for pid in pids if pid != os.getpid() and not _pid_alive(pid))
    for pid in dead:
        mark_process_dead(pid, str(folder))
    return dead


def worker_started() -> None:
    """A worker's start in multiprocess mode: forget the live gauges of workers that died before it."""
    folder = multiprocess_dir()
    if folder is not None:
        forget_dead_workers(folder)


def worker_stopped() -> None:
    """A worker's orderly exit in multiprocess mode: its sampled gauges are no longer shown."""
    folder = multiprocess_dir()
    if folder is not None:
        mark_process_dead(os.getpid(), str(folder))


def exposition() -> bytes:
    """This process's metrics, or every worker's in multiprocess mode."""
    if multiprocess_dir() is None:
        return generate_latest()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    regex: re.Pattern
    methods: frozenset[str]


def route_templates(routes: Iterable[Any]) -> list[RouteTemplate]:
    """Full path templates of an app's routes, in routing order.

    Recent FastAPI keeps an included router as one lazy entry whose own routes lack the include prefix, so the
    matched route in the scope does not tell the full template; its effective route contexts do.
    """
    found: list[RouteTemplate] = []
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            entries = [(c.path_format, c.methods) for c in route.effective_route_contexts()]
        else:
            entries = [(getattr(route, "path_format", None) or getattr(route, "path", None),
                        getattr(route, "methods", None))]
        for template, methods in entries:
            if template:
                regex, _, _ = compile_path(template)
                found.append(RouteTemplate(template, regex, frozenset(methods or ())))
    return found


def match_template(templates: list[RouteTemplate], method: str, path: str) -> str:
    """The template that serves (method, path), else one matching the path only (a 405), else "unmatched"."""
    path_only = None
    for route in templates:
        if route.regex.match(path):
            if not route.methods or method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return route.template
            path_only = path_only or route.template
    return path_only or UNMATCHED_ROUTE


class RequestMetrics:
    """Pure ASGI middleware counting every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, routes_of: FastAPI):
        self.app = app
        self.routes_of = routes_of
        self._templates: list[RouteTemplate] | None = None  # built on the first request: routes are final then

    def templates(self) -> list[RouteTemplate]:
        if self._templates is None:
            self._templates = route_templates(self.routes_of.routes)
        return self._templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception escaping the app becomes a 500 further out

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            method = scope.get("method", "GET")
            route = scope.get("state", {}).get(ROUTE_TEMPLATE) or match_template(
                self.templates(), method, scope.get("path", ""))
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_REQUEST_DURATION.labels(method, route).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI) -> None:
    """GET /metrics (no auth, not in the OpenAPI schema) and request counting; call after other middleware."""
    app.include_router(router)
    app.add_middleware(RequestMetrics, routes_of=app)
