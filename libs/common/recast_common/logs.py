"""Logging of every service: one JSON object per line, with the ids that tie a line to a job and a request.

`setup_logging(service)` is called first thing by each service's entry point. Each line carries `ts`, `level`,
`service`, `logger`, `message` and, when known, `job_id`, `event_id`, `request_id` (the gateway's X-Request-ID)
and `trace_id` / `span_id` (the current OpenTelemetry span, recast_common.tracing). The ids come from context
variables set with `bind(...)` around the work (a message, a request), so a library's log line inside that work
carries them too. Messages are stripped of ANSI colour codes: log files stay greppable.

RECAST_LOG_FORMAT=text gives the former plain lines (without ids) for reading in a terminal; RECAST_LOG_LEVEL
sets the level (default INFO).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

LOG_FORMAT_ENV = "RECAST_LOG_FORMAT"
LOG_LEVEL_ENV = "RECAST_LOG_LEVEL"
FIELDS = ("job_id", "event_id", "request_id")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_context: dict[str, ContextVar[str | None]] = {name: ContextVar(f"recast_{name}", default=None) for name in FIELDS}


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@contextmanager
def bind(**ids: str | None) -> Iterator[None]:
    """Log lines written inside this block (in this task and the tasks it starts) carry these ids."""
    unknown = set(ids) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log fields {sorted(unknown)}")
    tokens = [(_context[name], _context[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current(name: str) -> str | None:
    return _context[name].get()


def _trace_ids() -> tuple[str | None, str | None]:
    try:
        from opentelemetry import trace
    except ImportError:  # tracing is optional
        return None, None
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None, None
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record; None-valued ids are left out."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": strip_ansi(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None) or _context[name].get()
            if value:
                line[name] = value
        trace_id, span_id = _trace_ids()
        if trace_id:
            line["trace_id"], line["span_id"] = trace_id, span_id
        if record.exc_info:
            line["exception"] = strip_ansi(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return strip_ansi(super().format(record))


def _log_uncaught(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("recast.crash").critical("uncaught %s: %s", kind.__name__, value, exc_info=(kind, value, tb))


def setup_logging(service: str, level: str | None = None, stream: Any = None) -> None:
    """Route every logger (uvicorn's, FastStream's, aiokafka's included) through one handler on stderr."""
    level = (level or os.environ.get(LOG_LEVEL_ENV) or "INFO").upper()
    handler = logging.StreamHandler(stream or sys.stderr)
    if os.environ.get(LOG_FORMAT_ENV, "json").strip().lower() == "text":
        handler.setFormatter(PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # A crash (an exception nobody caught) is one JSON line too, with its traceback, not raw text on stderr.
    sys.excepthook = _log_uncaught
    # Libraries that install their own (coloured) handlers: their records go to the root handler instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "faststream.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
