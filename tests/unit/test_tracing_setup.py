"""Tracing is off unless the standard OTEL_* variables ask for it; trace context survives a header round trip."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import use_span
from recast_common.tracing import context_from_headers, current_carrier, enabled_exporters, inject_headers


def test_tracing_is_off_by_default_and_on_when_the_standard_variables_ask():
    assert enabled_exporters({}) == []
    assert enabled_exporters({"OTEL_TRACES_EXPORTER": "none"}) == []
    assert enabled_exporters({"OTEL_TRACES_EXPORTER": "otlp"}) == ["otlp"]
    assert enabled_exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == ["otlp"]
    assert enabled_exporters({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) == ["otlp"]
    assert enabled_exporters({"RECAST_TRACE_DIR": "/tmp/t", "OTEL_TRACES_EXPORTER": "console"}) == ["console", "file"]
    assert enabled_exporters({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}) == []


def test_without_an_active_span_nothing_is_stored_with_an_outbox_row():
    assert current_carrier() is None
    assert inject_headers({"event_id": "e"}) == {"event_id": "e"}


def test_the_trace_context_survives_kafka_style_headers():
    span = TracerProvider().get_tracer("unit").start_span("request")
    with use_span(span, end_on_exit=True):
        carrier = current_carrier()
    assert carrier and carrier["traceparent"].split("-")[1] == f"{span.get_span_context().trace_id:032x}"
    as_kafka = [(name, value.encode()) for name, value in carrier.items()]
    restored = context_from_headers(as_kafka)
    from opentelemetry import trace

    parent = trace.get_current_span(restored).get_span_context()
    assert (parent.trace_id, parent.span_id) == (span.get_span_context().trace_id, span.get_span_context().span_id)
