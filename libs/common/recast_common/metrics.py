"""Prometheus metrics of the pipeline consumers, and a helper to serve /metrics from a background thread.

The Grafana dashboard (deploy/k8s/grafana/recast-dashboard.json) queries these names and labels; change both
together. Metrics live in prometheus_client's default registry, one per process (one service per process).

A service serves /metrics only when `RECAST_METRICS_PORT` is set: tests and `make run` start many services on
one machine and must not fight over a port. The same server answers the Kubernetes probes: /healthz (liveness:
the process answers) and /readyz (readiness: 200 once the service called `mark_ready()`, 503 before and after
`mark_ready(False)` at shutdown).
"""
from __future__ import annotations

import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

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
# The outbox/inbox sweeper (pruning published outbox rows and old inbox claims): one count per run, by outcome
# ("ok" or "failed"), and when it last succeeded. Alerts: deploy/k8s/prometheusrule.yaml (RecastSweeperFailing).
SWEEPER_RUNS = Counter(
    "recast_sweeper_runs",  # exposed as recast_sweeper_runs_total
    "Runs of the outbox/inbox sweeper, by outcome (ok, failed).",
    ["outcome"],
)
SWEEPER_LAST_SUCCESS = Gauge(
    "recast_sweeper_last_success_timestamp_seconds",
    "Unix time of the sweeper's last successful run.",
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


def record_sweep(ok: bool) -> None:
    """One sweeper run finished (the sweeper calls this after each run)."""
    SWEEPER_RUNS.labels("ok" if ok else "failed").inc()
    if ok:
        SWEEPER_LAST_SUCCESS.set_to_current_time()


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
_ready = threading.Event()


def mark_ready(ready: bool = True) -> None:
    """Say whether this service takes work now (/readyz answers 200 when it does, 503 otherwise)."""
    if ready:
        _ready.set()
    else:
        _ready.clear()


def is_ready() -> bool:
    return _ready.is_set()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._answer(200, b"ok\n")
        elif path == "/readyz":
            ready = is_ready()
            self._answer(200 if ready else 503, b"ready\n" if ready else b"not ready\n")
        else:
            self._answer(404, b"not found\n")

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - probes every few seconds: no log
        return


def start_server(port: int, addr: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Serve /metrics, /healthz and /readyz on addr:port from a daemon thread (port 0: any free port)."""
    server = ThreadingHTTPServer((addr, port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server


def serve_metrics_from_env(addr: str = "0.0.0.0") -> int | None:
    """Serve /metrics and the probes on RECAST_METRICS_PORT (once per process); returns the port, or None.

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
            start_server(port, addr=addr)
        except OSError as exc:
            log.error("metrics server not started on port %d: %s", port, exc)
            return None
        _served_port = port
    log.info("serving Prometheus metrics and probes on %s:%d (/metrics, /healthz, /readyz)", addr, port)
    return port
