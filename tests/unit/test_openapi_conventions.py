"""The gateway's API conventions: operation ids, one error schema, examples, Swagger UI offline, 202/429 headers."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from gateway.app import create_app
from gateway.openapi import ConventionHeaders
from recast_common.settings import Settings


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(dev_mode=True))  # no database needed: the lifespan is not run


@pytest.fixture(scope="module")
def operations(app) -> list[tuple[str, str, dict]]:
    schema = app.openapi()
    return [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]


def test_operation_ids_are_the_route_functions_names_and_unique(operations):
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))
    assert {"train", "get_job", "queue_status", "health"} <= set(ids)
    for path, method, op in operations:  # FastAPI's default would be e.g. train_api_v1_train_post
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op["operationId"]) and "api_v1" not in op["operationId"], path
        assert not op["operationId"].endswith(f"_{method}"), path


def test_every_error_response_uses_the_one_error_schema_with_an_example(operations):
    for path, method, op in operations:
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert {"500", "503"} <= set(errors), (method, path)
        if op.get("security"):
            assert {"401", "403"} <= set(errors), (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)
        if "requestBody" in op:
            assert "413" in errors, (method, path)
        if "202" in op["responses"]:
            assert {"409", "429"} <= set(errors), (method, path)
            assert "Retry-After" in errors["429"]["headers"]
        for status, response in errors.items():
            body = response["content"]["application/json"]
            assert body["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            assert body["example"]["detail"], (method, path, status)


def test_every_request_body_and_success_response_has_an_example(operations):
    for path, method, op in operations:
        bodies = list(op.get("requestBody", {}).get("content", {}).values())
        bodies += [m for s, r in op["responses"].items() if s[0] == "2" for m in r.get("content", {}).values()]
        for media in bodies:
            assert "example" in media or "examples" in media, (method, path)


async def test_swagger_ui_is_served_from_the_package_without_any_outside_url(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        page = await client.get("/docs")
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text)
        assets = [u for pair in urls for u in pair if u]
        assert page.status_code == 200 and assets
        assert all(u.startswith("/") for u in assets), assets
        for asset in assets:
            if asset.startswith("/docs/assets/"):
                served = await client.get(asset)
                assert served.status_code == 200 and len(served.content) > 1000, asset
        assert (await client.get("/openapi.json")).json()["paths"]


async def test_a_202_carries_location_and_a_429_retry_after():
    tiny = FastAPI()
    tiny.add_middleware(ConventionHeaders)

    @tiny.post("/accept")
    async def accept() -> JSONResponse:
        return JSONResponse({"job_id": "j", "status_url": "/api/v1/c/j"}, status_code=202)

    @tiny.post("/full")
    async def full() -> None:
        raise HTTPException(429, "too many active jobs; retry later")

    @tiny.post("/own")
    async def own() -> None:
        raise HTTPException(429, "slow down", headers={"Retry-After": "60"})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=tiny), base_url="http://t") as client:
        accepted = await client.post("/accept")
        full_answer = await client.post("/full")
        own_answer = await client.post("/own")
    assert accepted.status_code == 202 and accepted.headers["location"] == "/api/v1/c/j"
    assert accepted.json()["job_id"] == "j"
    assert full_answer.headers["retry-after"] == "10"
    assert own_answer.headers["retry-after"] == "60"
