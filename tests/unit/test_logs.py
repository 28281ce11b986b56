"""JSON log lines carry the job, event, request and trace ids; the gateway echoes or makes an X-Request-ID."""

from __future__ import annotations

import io
import json
import logging

import httpx
from gateway.app import create_app
from gateway.request_context import request_id_from
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from recast_common.logs import JsonFormatter, bind, strip_ansi
from recast_common.settings import Settings


def capture(logger_name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("unit"))
    logger = logging.getLogger(logger_name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_log_line_is_one_json_object_with_the_bound_ids_and_the_current_trace():
    logger, stream = capture("recast.unit.ids")
    provider = TracerProvider()  # a local provider: the process-wide one stays untouched
    with provider.get_tracer("unit").start_as_current_span("work") as span:
        with bind(job_id="job-1", event_id="event-1", request_id="req-1"):
            logger.info("handled %s", "it")
        logger.info("after the block")
    ids = span.get_span_context()

    inside, after = lines(stream)
    assert inside["message"] == "handled it" and inside["service"] == "unit" and inside["level"] == "INFO"
    assert (inside["job_id"], inside["event_id"], inside["request_id"]) == ("job-1", "event-1", "req-1")
    assert inside["trace_id"] == f"{ids.trace_id:032x}" and inside["span_id"] == f"{ids.span_id:016x}"
    assert "job_id" not in after and "request_id" not in after


def test_a_line_outside_any_trace_has_no_trace_id_and_exceptions_are_kept():
    logger, stream = capture("recast.unit.plain")
    assert not trace.get_current_span().get_span_context().is_valid
    try:
        raise ValueError("broken")
    except ValueError:
        logger.exception("failed")
    (line,) = lines(stream)
    assert "trace_id" not in line
    assert "ValueError: broken" in line["exception"]


def test_ansi_colour_codes_never_reach_a_log_line():
    logger, stream = capture("recast.unit.colour")
    logger.info("\x1b[32mINFO\x1b[0m:     started \x1b[1mserver\x1b[0m")
    assert lines(stream)[0]["message"] == "INFO:     started server"
    assert strip_ansi("\x1b[?25lhidden\x1b[2K") == "hidden"


def test_a_sane_request_id_is_kept_and_anything_else_replaced():
    assert request_id_from("abc-123_x.y") == "abc-123_x.y"
    for insane in (None, "", "a" * 129, "two words", "new\nline", "é"):
        replaced = request_id_from(insane)
        assert replaced != insane and len(replaced) == 32


async def test_the_gateway_echoes_the_clients_request_id_or_makes_one():
    app = create_app(Settings(dev_mode=True))  # /metrics needs no database: the lifespan is not run here
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        echoed = await client.get("/metrics", headers={"X-Request-ID": "client-chosen-42"})
        made = await client.get("/metrics")
        unknown = await client.get("/no/such/route", headers={"X-Request-ID": "bad id"})
    assert echoed.headers["x-request-id"] == "client-chosen-42"
    assert len(made.headers["x-request-id"]) == 32
    assert unknown.status_code == 404 and unknown.headers["x-request-id"] != "bad id"
    assert made.headers["x-request-id"] != echoed.headers["x-request-id"]


def test_a_crash_is_logged_as_one_json_line_with_its_traceback(tmp_path):
    import subprocess
    import sys

    program = ("from recast_common.logs import setup_logging\n"
               "setup_logging('unit')\n"
               "raise RuntimeError('broker unreachable')\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    (line,) = [json.loads(text) for text in done.stderr.splitlines()]
    assert line["level"] == "CRITICAL" and "broker unreachable" in line["message"]
    assert "Traceback" in line["exception"] and line["service"] == "unit"
