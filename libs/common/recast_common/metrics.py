"""Prometheus metrics of the pipeline consumers, and a helper to serve /metrics from a background thread.

The Grafana dashboard (deploy/k8s/grafana/recast-dashboard.json) queries these names and labels; change both
together. Metrics live in prometheus_client's default registry, one per process (one service per process).

A service serves /metrics only when `RECAST_METRICS_PORT` is set: tests and `make run` start many services on
one machine and must not fight over a port.
"""
from __future__ import annotations

import logging
import os
import threading

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("recast.metrics")

METRICS_PORT_ENV = "RECAST_METRICS_PORT"

# What happened to one message: the label values of `outcome`.
HANDLED = "handled"
DUPLICATE = "duplicate"
REPLAYED = "replayed"  # handled before, but its outputs were not all published: sent again as first computed
RETRIED = "retried"  # one failed try that will be tried again (a message may count several times)
DEAD_LETTERED = "dead_lettered"
STALE = "stale"  # its job was deleted or replaced by another submission: skipped, nothing written
OUTCOMES = (HANDLED, DUPLICATE, REPLAYED, RETRIED, DEAD_LETTERED, STALE)

# From a duplicate skipped in milliseconds to a planner search or sandbox run of minutes.
STAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

STAGE_DURATION = Histogram(
    "recast_stage_duration_seconds",
    "Time a pipeline consumer spent on one message, retries included, by its final outcome.",
    ["service", "topic", "outcome"],
    buckets=STAGE_BUCKETS,
)
HANDLER_ERRORS = Counter(
    "recast_handler_errors",  # exposed as recast_handler_errors_total
    "Exceptions raised by a consumer's handler (every failed try counts).",
    ["service", "topic"],
)
EVENTS_HANDLED = Counter(
    "recast_events_handled",  # exposed as recast_events_handled_total
    "Messages by outcome: handled, duplicate (already handled), replayed (stored outputs sent again), "
    "retried (per failed try), dead_lettered, stale (job deleted or replaced: skipped).",
    ["service", "topic", "outcome"],
)
OUTBOX_PUBLISHED = Counter(
    "recast_outbox_published",  # exposed as recast_outbox_published_total
    "Outbox rows the relay published to Kafka, by topic.",
    ["topic"],
)
OUTBOX_FAILURES = Counter(
    "recast_outbox_batch_failures",  # exposed as recast_outbox_batch_failures_total
    "Relay batches that failed (broker or database) and were retried.",
)
SANDBOX_ISOLATION = Gauge(
    "recast_sandbox_isolation_info",
    "1 for the isolation layers a script run gets on this tester (e.g. netns+mountns+pidns+uid+no_new_privs).",
    ["layers"],
)


def outcome_label(result: str) -> str:
    """The `outcome` label of a Consumer.process() result ("dead-lettered" becomes "dead_lettered")."""
    label = result.replace("-", "_")
    if label not in OUTCOMES:
        raise ValueError(f"unknown consumer outcome {result!r}")
    return label


def record_message(service: str, topic: str, result: str, seconds: float) -> None:
    """One message finished: count its outcome and observe how long it took."""
    outcome = outcome_label(result)
    EVENTS_HANDLED.labels(service, topic, outcome).inc()
    STAGE_DURATION.labels(service, topic, outcome).observe(max(0.0, seconds))


def record_handler_error(service: str, topic: str, will_retry: bool) -> None:
    """One handler try failed; when it will be tried again that is also a `retried` outcome."""
    HANDLER_ERRORS.labels(service, topic).inc()
    if will_retry:
        EVENTS_HANDLED.labels(service, topic, RETRIED).inc()


def metrics_port_from_env(environ: dict[str, str] | None = None) -> int | None:
    """The port of RECAST_METRICS_PORT, or None when unset or empty (then no server is started)."""
    raw = (os.environ if environ is None else environ).get(METRICS_PORT_ENV, "").strip()
    if not raw:
        return None
    port = int(raw)
    if not 0 < port < 65536:
        raise ValueError(f"{METRICS_PORT_ENV}={raw} is not a TCP port")
    return port


_server_lock = threading.Lock()
_served_port: int | None = None


def serve_metrics_from_env(addr: str = "0.0.0.0") -> int | None:
    """Serve /metrics on RECAST_METRICS_PORT (once per process); returns the port, or None when not serving.

    A port already in use is logged, not raised: a service without metrics is better than no service.
    """
    global _served_port
    port = metrics_port_from_env()
    if port is None:
        return None
    with _server_lock:
        if _served_port is not None:
            return _served_port
        try:
            start_http_server(port, addr=addr)
        except OSError as exc:
            log.error("metrics server not started on port %d: %s", port, exc)
            return None
        _served_port = port
    log.info("serving Prometheus metrics on %s:%d/metrics", addr, port)
    return port
