"""Request ids and the request's span: outermost ASGI middleware of the gateway.

Every request gets an id: the client's `X-Request-ID` when it sends a sane one (1-128 characters of
[A-Za-z0-9._:@/+=-]), else a new one; it is echoed in the response's `X-Request-ID`, carried by every log line
written while the request runs (recast_common.logs) and set on the request's span. That span is FastAPI's own
server span (its built-in telemetry) or, without one, a SERVER span named by method and route template; either
continues a trace the client sent in `traceparent`, and with tracing off it is a no-op. Every outbox row written
by the request stores the span's context, so the pipeline's spans join the request's trace.
"""

from __future__ import annotations

import re
import uuid
from contextlib import nullcontext
from typing import ContextManager

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from recast_common.logs import bind
from recast_common.tracing import context_from_headers, mark_error, span
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import ROUTE_TEMPLATE, RouteTemplate, match_template, route_templates

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def request_id_from(value: str | None) -> str:
    """The client's request id when it is sane, else a new one."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


class RequestContext:
    def __init__(self, app: ASGIApp, routes_of: FastAPI):
        self.app = app
        self.routes_of = routes_of
        self._templates: list[RouteTemplate] | None = None

    def template(self, method: str, path: str) -> str:
        if self._templates is None:  # built on the first request: the routes are final then
            self._templates = route_templates(self.routes_of.routes)
        return match_template(self._templates, method, path)

    @staticmethod
    def _server_span(method: str, route: str, path: str, headers: dict[str, str]) -> ContextManager[Span]:
        """FastAPI's own server span when it made one (its built-in telemetry), else one of ours."""
        current = trace.get_current_span()
        if current.is_recording():
            return nullcontext(current)
        return span(f"{method} {route}", SpanKind.SERVER, parent=context_from_headers(headers),
                    attributes={"http.request.method": method, "http.route": route, "url.path": path})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        request_id = request_id_from(headers.get("x-request-id"))
        method, path = scope["method"], scope["path"]
        route = self.template(method, path)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state[ROUTE_TEMPLATE] = route  # RequestMetrics counts under it without matching the path again
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*kept, (b"x-request-id", request_id.encode("latin-1"))]}
            await send(message)

        with bind(request_id=request_id), self._server_span(method, route, path, headers) as current:
            current.set_attribute("recast.request_id", request_id)
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                current.set_attribute("http.response.status_code", status)
                if status >= 500:
                    mark_error(current, f"HTTP {status}")
