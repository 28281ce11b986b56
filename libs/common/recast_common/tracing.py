"""OpenTelemetry tracing: one trace from the HTTP request through the outbox, Kafka and every consumer.

Off by default (the OpenTelemetry API alone: no-op spans, next to no cost). `setup_tracing(service)` turns it on
when the standard variables ask for it:

- `OTEL_TRACES_EXPORTER=otlp` (or `console`), or an `OTEL_EXPORTER_OTLP_ENDPOINT` /
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: spans are batched to the OTLP/HTTP exporter, which reads the rest of
  its settings (headers, timeout, protocol details) from the `OTEL_EXPORTER_OTLP_*` variables itself;
- `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the service (default: the Recast service's name);
  `OTEL_TRACES_SAMPLER(_ARG)` sample; `OTEL_SDK_DISABLED=true` turns everything off;
- `RECAST_TRACE_DIR` (tests, debugging): every finished span is also written as one JSON line to
  `<dir>/<service>-<pid>.jsonl` right away.

How the context travels: W3C `traceparent` / `tracestate` (the OTEL_PROPAGATORS default) in HTTP headers and in
Kafka message headers (`inject_headers`, `context_from_headers`); the gateway stores the carrier with each
outbox row (`outbox.trace_context`) so the relay's publish continues the request's trace. Spans: the gateway's
HTTP server span, `db` spans for every SQL statement (`instrument_engine`), `s3` spans (`s3_span`), the relay's
publish, each consumer's message span and the projector's.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

log = logging.getLogger("recast.tracing")

TRACE_DIR_ENV = "RECAST_TRACE_DIR"
TRACER_NAME = "recast"
_setup_lock = threading.Lock()
_configured = False

HeadersLike = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


def enabled_exporters(environ: Mapping[str, str] | None = None) -> list[str]:
    """The exporters the environment asks for ([] means tracing stays off)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if not names and (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        names = ["otlp"]
    exporters = [n for n in names if n in ("otlp", "console")]
    if env.get(TRACE_DIR_ENV):
        exporters.append("file")
    return exporters


def setup_tracing(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Install a tracer provider for this process when the environment asks for one; True when tracing is on."""
    global _configured
    env = os.environ if environ is None else environ
    exporters = enabled_exporters(env)
    if not exporters:
        return False
    with _setup_lock:
        if _configured:
            return True
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

        attributes = {"service.name": env.get("OTEL_SERVICE_NAME") or service}
        provider = TracerProvider(resource=Resource.create(attributes))
        for name in exporters:
            if name == "otlp":
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

                provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            elif name == "console":
                provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
            else:
                path = Path(env[TRACE_DIR_ENV]) / f"{service}-{os.getpid()}.jsonl"
                provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
        trace.set_tracer_provider(provider)
        _configured = True
    log.info("tracing on (%s)", ", ".join(exporters))
    return True


def shutdown_tracing() -> None:
    """Flush and close the exporters (a batch still queued would be lost at exit otherwise)."""
    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        shutdown()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


class JsonLinesSpanExporter:
    """A SpanExporter writing each span as one JSON line (for tests and for reading traces without a backend)."""

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        lines = []
        for span in spans:
            parent = span.parent
            lines.append(json.dumps({
                "name": span.name,
                "service": span.resource.attributes.get("service.name"),
                "kind": span.kind.name,
                "trace_id": f"{span.context.trace_id:032x}",
                "span_id": f"{span.context.span_id:016x}",
                "parent_id": f"{parent.span_id:016x}" if parent is not None else None,
                "start": span.start_time,
                "end": span.end_time,
                "status": span.status.status_code.name,
                "attributes": dict(span.attributes or {}),
            }, default=str))
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _header_items(headers: HeadersLike) -> Iterator[tuple[str, str]]:
    if not headers:
        return
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("latin-1")
        if isinstance(name, str) and isinstance(value, str):
            yield name.lower(), value


def context_from_headers(headers: HeadersLike) -> otel_context.Context:
    """The trace context in HTTP or Kafka headers (a dict, or aiokafka's list of (name, bytes))."""
    return propagate.extract(dict(_header_items(headers)))


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """`headers` with the current trace context added (traceparent, tracestate); a new dict when None."""
    carrier = dict(headers or {})
    propagate.inject(carrier)
    return carrier


def current_carrier() -> dict[str, str] | None:
    """The current trace context as headers, or None when there is no active span (tracing off)."""
    carrier = inject_headers()
    return carrier or None


def kafka_headers(headers: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """aiokafka's header list for these headers plus the current trace context."""
    return [(name, value.encode()) for name, value in inject_headers(dict(headers)).items()]


@contextmanager
def span(name: str, kind: SpanKind = SpanKind.INTERNAL, parent: otel_context.Context | None = None,
         attributes: Mapping[str, Any] | None = None, links: Sequence[trace.Link] = ()) -> Iterator[Span]:
    """A span around the block (current inside it); an exception marks it failed and is re-raised."""
    clean = {k: v for k, v in (attributes or {}).items() if v is not None}
    with tracer().start_as_current_span(name, context=parent, kind=kind, attributes=clean, links=links,
                                        record_exception=True, set_status_on_exception=True) as current:
        yield current


@contextmanager
def consume_span(topic: str, headers: HeadersLike, consumer: str,
                 attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A CONSUMER span for one Kafka message, continuing the trace its headers carry."""
    with span(f"{topic} process", SpanKind.CONSUMER, parent=context_from_headers(headers),
              attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                          "messaging.consumer.group.name": consumer, **(attributes or {})}) as current:
        yield current


@contextmanager
def s3_span(operation: str, bucket: str, key: str | None = None) -> Iterator[Span]:
    with span(f"s3 {operation}", SpanKind.CLIENT,
              attributes={"rpc.system": "aws-api", "rpc.service": "S3", "rpc.method": operation,
                          "aws.s3.bucket": bucket, "aws.s3.key": key}) as current:
        yield current


def mark_error(current: Span, message: str) -> None:
    current.set_status(Status(StatusCode.ERROR, message[:500]))


def instrument_engine(engine: Any) -> None:
    """A CLIENT span for every SQL statement of this (async) SQLAlchemy engine, child of the current span."""
    from sqlalchemy import event

    sync_engine = getattr(engine, "sync_engine", engine)
    if getattr(sync_engine, "_recast_traced", False):
        return
    sync_engine._recast_traced = True

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if not trace.get_current_span().get_span_context().is_valid:
            return  # outside any trace (a poll loop's idle query): no root spans of their own
        operation = (statement.lstrip().split(None, 1) or ["SQL"])[0].upper()
        current = tracer().start_span(f"db {operation}", kind=SpanKind.CLIENT, attributes={
            "db.system": "postgresql", "db.operation.name": operation, "db.query.text": statement[:2000]})
        conn.info.setdefault("recast_spans", []).append(current)

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        spans = conn.info.get("recast_spans")
        if spans:
            spans.pop().end()

    @event.listens_for(sync_engine, "handle_error")
    def _error(exception_context):  # noqa: ANN001
        conn = exception_context.connection
        spans = conn.info.get("recast_spans") if conn is not None else None
        if spans:
            current = spans.pop()
            current.record_exception(exception_context.original_exception)
            mark_error(current, str(exception_context.original_exception))
            current.end()


def instrument_s3_client(client: Any, bucket: str) -> None:
    """A CLIENT span for every call of this (aio)botocore S3 client, child of the current span.

    Hooked on botocore's own events (before-call, after-call, after-call-error), so every operation is covered
    without wrapping each method; a streamed body read after the call is not part of its span.
    """
    events = client.meta.events

    def before(model: Any = None, context: dict | None = None, **_: Any) -> None:
        if context is None or not trace.get_current_span().get_span_context().is_valid:
            return None
        context["recast_span"] = tracer().start_span(f"s3 {model.name}", kind=SpanKind.CLIENT, attributes={
            "rpc.system": "aws-api", "rpc.service": "S3", "rpc.method": model.name, "aws.s3.bucket": bucket})
        return None  # anything else would stand in for the response (emit_until_response)

    def after(http_response: Any = None, context: dict | None = None, **_: Any) -> None:
        current = (context or {}).pop("recast_span", None)
        if current is not None:
            status = getattr(http_response, "status_code", 0)
            current.set_attribute("http.response.status_code", status)
            if status >= 400:
                mark_error(current, f"S3 answered {status}")
            current.end()

    def failed(exception: BaseException | None = None, context: dict | None = None, **_: Any) -> None:
        current = (context or {}).pop("recast_span", None)
        if current is not None:
            if exception is not None:
                current.record_exception(exception)
            mark_error(current, str(exception))
            current.end()

    events.register("before-call.s3", before, unique_id="recast-trace-before")
    events.register("after-call.s3", after, unique_id="recast-trace-after")
    events.register("after-call-error.s3", failed, unique_id="recast-trace-error")
