"""API conventions applied to the whole app, so that route modules only declare their routes.

- Operation ids are the route functions' names (`train`, `get_job`, ...): stable across releases and readable in
  generated clients (FastAPI's default mixes in the path and method).
- Every error response is documented with one schema, `Error` (`{"detail": ...}`: a message, or for 422 the list
  of validation problems): 500 and 503 everywhere, 401/403 where an API key is required, 404 where the path names
  something, 413 where there is a body, 409/429 where a job is accepted (202); routes may document more.
- Every request body and response carries an example (the route's own, else one built from its schema).
- Swagger UI is served from the installed `swagger-ui-py` package at /docs (no CDN: it works offline).
- Responses follow HTTP's conventions (`ConventionHeaders`): a 202 carries `Location` (its body's `status_url`),
  a 429 carries `Retry-After`.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_ASSETS = "/docs/assets"
RETRY_AFTER_SECONDS = "10"  # a 429's default wait: the queue drains in seconds to minutes
ERROR_REF = {"$ref": "#/components/schemas/Error"}


class Error(BaseModel):
    """Every error response: a message, or (422) the list of validation problems."""

    detail: str | list[dict[str, Any]] = Field(examples=["job 3f2a... not found"])


ERRORS: dict[int, str] = {
    401: "no API key, or an unknown or revoked one",
    403: "the API key may not do this (another client's resource, or an admin route)",
    404: "no such resource for this client",
    409: "the resource is in another state (a job replaced meanwhile, a run still pending): retry",
    413: "the request body is over the size limit",
    422: "the request is not valid (fields, CSV, instructions)",
    429: "too many active jobs (for this client, or in all): retry after `Retry-After` seconds",
    500: "internal error",
    503: "a backing service (database, broker, object storage) is unavailable: retry after `Retry-After` seconds",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}


def operation_id(route: APIRoute) -> str:
    return route.name


def error_statuses(operation: dict[str, Any], path: str) -> set[int]:
    statuses = {500, 503}
    if operation.get("security"):
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if "requestBody" in operation:
        statuses.add(413)
    if "202" in operation.get("responses", {}):
        statuses |= {409, 429}
    return statuses


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses and examples to a generated OpenAPI document (in place; returned)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status in error_statuses(operation, path) | {int(s) for s in responses if s[0] in "45"}:
                response = responses.setdefault(str(status), {"description": ERRORS.get(status, "error")})
                body = response.setdefault("content", {}).setdefault("application/json", {})
                body["schema"] = ERROR_REF
                body.setdefault("example", {"detail": response["description"]})
                if status in (429, 503):
                    response.setdefault("headers", {}).update(_RETRY_AFTER)
            for status, response in responses.items():
                if status[0] == "2":
                    for media_type, media in response.get("content", {}).items():
                        _add_example(media_type, media, components)
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                _add_example(media_type, media, components)
    return schema


def _add_example(media_type: str, media: dict[str, Any], components: dict[str, Any]) -> None:
    if "example" in media or "examples" in media:
        return
    if "schema" in media:
        media["example"] = example_of(media["schema"], components)
    elif media_type.startswith("text/csv"):
        media["example"] = _TEXT_HINTS["expected_output_file"]
    elif media_type.startswith("text/html"):
        media["example"] = "<!doctype html><html>...</html>"


_ID_HINTS = {
    "job_id": "5f0c8e1a9b2d4c7e8f60a1b2c3d4e5f6",
    "run_id": "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b",
    "client_id": "c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6",
    "user_id": "acme-team",
}
_TEXT_HINTS = {
    "input_file": "name,city\nAda Lovelace,London\n",
    "expected_output_file": "city,name\nLondon,Ada Lovelace\n",
    "status": "queued",
    "status_url": "/api/v1/c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6/5f0c8e1a9b2d4c7e8f60a1b2c3d4e5f6",
}


def example_of(schema: dict[str, Any], components: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """A plausible value of a JSON schema (its own example or default first; ids and CSVs by field name)."""
    if depth > 6:
        return None
    if "$ref" in schema:
        return example_of(components.get(schema["$ref"].rsplit("/", 1)[1], {}), components, name, depth + 1)
    for key in ("example", "default", "const"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return example_of(options[0], components, name, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {prop: example_of(sub, components, prop, depth + 1) for prop, sub in properties.items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), components, name, depth + 1)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "string":
        if name in _ID_HINTS:
            return _ID_HINTS[name]
        if name in _TEXT_HINTS:
            return _TEXT_HINTS[name]
        if name.endswith("_url"):
            return f"/api/v1/example/{name.removesuffix('_url')}"
        return {"date-time": "2026-01-31T12:00:00Z", "binary": "(file contents)", "uri": "https://example.com/x"}.get(
            schema.get("format", ""), name.replace("_", " ") or "text")
    return None


def install_openapi(app: FastAPI) -> None:
    """The documented OpenAPI document (built once) and Swagger UI from the package at /docs."""

    generate = app.openapi  # FastAPI's own (it caches in app.openapi_schema)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    static = swagger_ui_static()
    app.mount(DOCS_ASSETS, StaticFiles(directory=static), name="swagger-ui-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def swagger_ui_static() -> Path:
    """The folder of Swagger UI's files in the installed swagger-ui-py package (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "static"


class ConventionHeaders:
    """Pure ASGI middleware: `Retry-After` on every 429 that lacks one, `Location` on every 202 whose JSON body
    names its `status_url` (train and inference answer 202 with the URL to poll)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        parts: list[bytes] = []

        async def send_with_conventions(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                status = message["status"]
                names = {k.lower() for k, _ in message.get("headers", [])}
                if status == 429 and b"retry-after" not in names:
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"retry-after", RETRY_AFTER_SECONDS.encode())]}
                if status == 202 and b"location" not in names:
                    held = message  # the Location comes from the body: hold the start until it is complete
                    return
                await send(message)
                return
            if held is not None and message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = b"".join(parts)
                headers = list(held.get("headers", []))
                location = _status_url(body)
                if location:
                    headers.append((b"location", location.encode("latin-1")))
                await send({**held, "headers": headers})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, send_with_conventions)


def _status_url(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    url = parsed.get("status_url") if isinstance(parsed, dict) else None
    return url if isinstance(url, str) and url.isascii() and url.startswith("/") else None
