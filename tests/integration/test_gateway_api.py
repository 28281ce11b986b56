"""The REST gateway against the real stack: auth matrix, bad input, replace/list/delete, inference waits."""

from __future__ import annotations

import asyncio
import base64
import uuid

import asyncpg
import httpx
import pytest
from recast_common.db.session import asyncpg_dsn
from recast_common.storage import Storage

pytestmark = pytest.mark.integration

TRAIN = {"input_file": "name,age\nAda,36\nAlan,41\n", "expected_output_file": "NAME\nADA\nALAN\n"}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_client(url: str, admin_key: str, client_id: str) -> dict[str, str]:
    response = httpx.post(
        f"{url}/api/v1/admin/clients", json={"client_id": client_id}, headers={"X-API-KEY": admin_key}
    )
    assert response.status_code == 201, response.text
    return {"X-API-KEY": response.json()["api_key"]}


def train(url: str, headers: dict[str, str], **overrides) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/train", json={**TRAIN, **overrides}, headers=headers)


async def db(stack) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))


async def s3_keys(stack, prefix: str) -> list[str]:
    async with Storage(stack.settings) as storage:
        return await storage.list_keys(prefix)


async def test_each_route_checks_the_key_and_its_client(stack, spawn_gateway):
    gateway = spawn_gateway()
    url, admin = gateway.url, {"X-API-KEY": stack.settings.admin_api_key}
    alice, bob = uid("alice"), uid("bob")
    alice_key, bob_key = new_client(url, admin["X-API-KEY"], alice), new_client(url, admin["X-API-KEY"], bob)
    created = train(url, alice_key)
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    run_id = uid("run")
    conn = await db(stack)
    try:
        await conn.execute(
            "INSERT INTO inference_runs (id, job_id, client_id, input_key, output_key) "
            "VALUES ($1, $2, $3, 'i', 'o')",
            run_id,
            job_id,
            alice,
        )
    finally:
        await conn.close()

    # Routes naming Alice alone are 403; a route naming one of her jobs or runs is 404, as if it did not exist,
    # so that Bob cannot tell which ids are Alice's. Job ids are per client: Bob may use the same id for his own.
    job_routes = [
        ("GET", f"/api/v1/{alice}/{job_id}", None, 404),
        ("GET", f"/api/v1/users/{alice}/jobs", None, 403),
        ("GET", f"/api/v1/inference/{run_id}", None, 404),
        ("POST", "/api/v1/inference/run", {"job_id": job_id, "input_file": "name,age\nX,1\n"}, 404),
        ("POST", "/api/v1/train", {**TRAIN, "user_id": alice}, 403),
        ("DELETE", f"/api/v1/delete/job/{alice}/{job_id}", None, 404),
        ("DELETE", f"/api/v1/delete/user/{alice}", None, 403),
    ]
    for method, path, body, expected in job_routes:
        other = httpx.request(method, url + path, json=body, headers=bob_key)
        assert other.status_code == expected, (method, path, other.text)
        assert other.json()["detail"]
        assert httpx.request(method, url + path, json=body).status_code == 401, (method, path)
        unknown = httpx.request(method, url + path, json=body, headers={"X-API-KEY": "rk_not-a-real-key"})
        assert unknown.status_code == 401, (method, path)

    assert httpx.get(f"{url}/api/v1/{alice}/{job_id}", headers=alice_key).status_code == 200
    assert httpx.get(f"{url}/api/v1/{alice}/{job_id}", headers=admin).json()["job_id"] == job_id
    not_admin = httpx.post(f"{url}/api/v1/admin/clients", json={}, headers=alice_key)
    assert not_admin.status_code == 403
    # Bob's attempts changed nothing: Alice's job is still there, with its files.
    assert (
        httpx.get(f"{url}/api/v1/users/{alice}/jobs", headers=alice_key).json()[0]["job_id"] == job_id
    )
    assert len(await s3_keys(stack, f"{alice}/{job_id}/")) == 2


async def test_bad_input_is_a_clear_4xx_and_stores_nothing(stack, spawn_gateway):
    limit = 4096
    gateway = spawn_gateway(extra_env={"RECAST_MAX_UPLOAD_BYTES": str(limit)})
    url = gateway.url
    client = uid("carol")
    key = new_client(url, stack.settings.admin_api_key, client)
    big = "a,b\n" + "1,2\n" * limit
    cases = [
        ({**TRAIN, "input_file": ""}, 422, "empty"),
        ({**TRAIN, "expected_output_file": '"unterminated,quote\n1,2\n'}, 422, "well-formed"),
        ({**TRAIN, "input_file": big}, 413, "limit"),
        ({**TRAIN, "job_id": "../../etc"}, 422, "invalid job_id"),
        ({**TRAIN, "job_id": "a/b"}, 422, "invalid job_id"),
        ({**TRAIN, "user_id": "x" * 65}, 422, "invalid user_id"),
        ({"input_file": "a\n1\n"}, 422, ""),
    ]
    for body, code, detail in cases:
        response = httpx.post(f"{url}/api/v1/train", json=body, headers=key)
        assert response.status_code == code, (body.keys(), response.text)
        assert detail in str(response.json()["detail"])

    utf16_without_bom = "name\nJosé\n".encode("utf-16-le")  # other encodings are transcoded; this is no CSV
    response = httpx.post(
        f"{url}/api/v1/train/upload",
        headers=key,
        files={"input_file": ("in.csv", utf16_without_bom), "expected_output_file": ("out.csv", b"a\n1\n")},
    )
    assert response.status_code == 422 and "NUL" in response.json()["detail"]

    # Oversize multipart: refused from Content-Length, and while streaming when there is none.
    huge = b"a,b\n" + b"1,2\n" * (3 * limit)
    files = {"input_file": ("in.csv", huge), "expected_output_file": ("out.csv", b"a\n1\n")}
    assert httpx.post(f"{url}/api/v1/train/upload", headers=key, files=files).status_code == 413

    def chunks():
        for _ in range(600):  # past 2 files + form overhead
            yield b"x" * 4096

    streamed = httpx.post(
        f"{url}/api/v1/train", headers={**key, "content-type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 413

    unknown = httpx.get(f"{url}/api/v1/{client}/{uid('nojob')}", headers=key)
    assert unknown.status_code == 200 and unknown.json() == {}
    assert httpx.get(f"{url}/api/v1/{client}/bad.id", headers=key).status_code == 422
    assert (
        httpx.post(
            f"{url}/api/v1/inference/run", headers=key, json={"job_id": uid("nojob"), "input_file": "a\n1\n"}
        ).status_code
        == 404
    )

    conn = await db(stack)
    try:
        assert await conn.fetchval("SELECT count(*) FROM jobs WHERE client_id = $1", client) == 0
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox WHERE payload->>'client_id' = $1", client) == 0
        )
    finally:
        await conn.close()
    assert await s3_keys(stack, f"{client}/") == []


async def test_replace_list_and_delete(stack, spawn_gateway):
    gateway = spawn_gateway()
    url = gateway.url
    client = uid("dave")
    key = new_client(url, stack.settings.admin_api_key, client)
    files = {
        "input_file": ("in.csv", TRAIN["input_file"].encode()),
        "expected_output_file": ("out.csv", TRAIN["expected_output_file"].encode()),
    }
    first = httpx.post(f"{url}/api/v1/train/upload", headers=key, files=files, data={"header": "yes"})
    assert first.status_code == 202, first.text
    job_id = first.json()["job_id"]
    old_keys = await s3_keys(stack, f"{client}/{job_id}/")
    running = train(url, key, job_id=job_id)
    assert running.status_code == 409 and "still queued" in running.json()["detail"]
    assert await s3_keys(stack, f"{client}/{job_id}/") == old_keys  # nothing of the refused request stored
    conn = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    try:  # no pipeline runs in this test: finish the job as the projector would
        await conn.execute("UPDATE jobs SET status = 'failed' WHERE id = $1", job_id)
    finally:
        await conn.close()
    replaced = train(url, key, job_id=job_id)
    assert replaced.status_code == 202 and replaced.json()["job_id"] == job_id
    new_keys = await s3_keys(stack, f"{client}/{job_id}/")
    assert len(new_keys) == 2 and not set(new_keys) & set(old_keys)
    detail = httpx.get(f"{url}/api/v1/{client}/{job_id}", headers=key).json()
    assert detail["header"] == "auto" and detail["status"] == "queued"

    chosen = uid("mine")
    assert train(url, key, job_id=chosen).json()["job_id"] == chosen
    third = train(url, key).json()["job_id"]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{url}/api/v1/users/{client}/jobs", params=params, headers=key)
        seen += [j["job_id"] for j in page.json()]
        cursor = page.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "Link" not in page.headers
            break
        assert page.links["next"]["url"].endswith(f"cursor={cursor}")
    assert seen == [third, chosen, job_id]
    filtered = httpx.get(f"{url}/api/v1/users/{client}/jobs", params={"status": "succeeded"}, headers=key)
    assert filtered.json() == []
    assert (
        httpx.get(f"{url}/api/v1/users/{client}/jobs", params={"status": "bogus"}, headers=key).status_code
        == 422
    )
    assert (
        httpx.get(f"{url}/api/v1/users/{client}/jobs", params={"cursor": "zz"}, headers=key).status_code
        == 422
    )

    assert httpx.delete(f"{url}/api/v1/delete/job/{client}/{job_id}", headers=key).status_code == 204
    gone = httpx.get(f"{url}/api/v1/{client}/{job_id}", headers=key)
    assert gone.status_code == 200 and gone.json() == {}  # the original contract: an unknown job's metadata is {}
    assert await s3_keys(stack, f"{client}/{job_id}/") == []
    assert httpx.delete(f"{url}/api/v1/delete/job/{client}/{job_id}", headers=key).status_code == 404
    assert httpx.delete(f"{url}/api/v1/delete/user/{client}", headers=key).status_code == 204
    assert httpx.get(f"{url}/api/v1/users/{client}/jobs", headers=key).json() == []
    assert await s3_keys(stack, f"{client}/") == []


async def _succeeded_job(stack, url: str, key: dict[str, str], client: str) -> str:
    job_id = train(url, key).json()["job_id"]
    script_key = f"{client}/{job_id}/script.py"
    async with Storage(stack.settings) as storage:
        await storage.put_bytes(script_key, b"print('converted')\n")
    conn = await db(stack)
    try:
        await conn.execute(
            "UPDATE jobs SET status = 'succeeded', script_key = $2 WHERE id = $1", job_id, script_key
        )
    finally:
        await conn.close()
    return job_id


async def _complete_run(stack, run_id: str, output: bytes) -> None:
    conn = await db(stack)
    try:
        output_key = await conn.fetchval("SELECT output_key FROM inference_runs WHERE id = $1", run_id)
        async with Storage(stack.settings) as storage:
            await storage.put_bytes(output_key, output)
        await conn.execute("UPDATE inference_runs SET status = 'succeeded' WHERE id = $1", run_id)
        await conn.execute("SELECT pg_notify('recast_inference', $1)", run_id)
    finally:
        await conn.close()


async def test_inference_waits_for_the_projected_result_or_hands_out_a_handle(stack, spawn_gateway):
    gateway = spawn_gateway(extra_env={"RECAST_INFERENCE_WAIT_SECONDS": "0.5"})
    url = gateway.url
    client = uid("erin")
    key = new_client(url, stack.settings.admin_api_key, client)
    untrained = train(url, key).json()["job_id"]
    refused = httpx.post(
        f"{url}/api/v1/inference/run", headers=key, json={"job_id": untrained, "input_file": "a\n1\n"}
    )
    assert refused.status_code == 409

    job_id = await _succeeded_job(stack, url, key, client)
    pending = httpx.post(
        f"{url}/api/v1/inference/run", headers=key, json={"job_id": job_id, "input_file": "a\n1\n"}
    )
    assert pending.status_code == 202, pending.text
    run_id, status_url = pending.json()["run_id"], pending.json()["status_url"]
    assert httpx.get(url + status_url, headers=key).json()["status"] == "pending"
    await _complete_run(stack, run_id, b"A\n1\n")
    done = httpx.get(url + status_url, headers=key).json()
    assert done["status"] == "succeeded" and base64.b64decode(done["output_file_base64"]) == b"A\n1\n"
    assert base64.b64decode(done["script"]) == b"print('converted')\n"
    assert done["script_text"] == "print('converted')\n" and done["python_script_base64"] == done["script"]
    conn = await db(stack)
    try:
        event = await conn.fetchval(
            "SELECT payload FROM outbox WHERE topic = 'inference.requested' AND payload->>'run_id' = $1",
            run_id,
        )
    finally:
        await conn.close()
    assert event is not None


async def test_inference_call_returns_the_result_when_it_arrives_in_time(stack, spawn_gateway):
    gateway = spawn_gateway(extra_env={"RECAST_INFERENCE_WAIT_SECONDS": "60"})
    url = gateway.url
    client = uid("fay")
    key = new_client(url, stack.settings.admin_api_key, client)
    job_id = await _succeeded_job(stack, url, key, client)
    async with httpx.AsyncClient(base_url=url, headers=key, timeout=90) as http:
        call = asyncio.create_task(
            http.post("/api/v1/inference/run", json={"job_id": job_id, "input_file": "a\n1\n"})
        )
        conn = await db(stack)
        try:
            run_id = None
            while run_id is None:
                await asyncio.sleep(0.1)
                run_id = await conn.fetchval("SELECT id FROM inference_runs WHERE job_id = $1", job_id)
        finally:
            await conn.close()
        await _complete_run(stack, run_id, b"B\n2\n")
        response = await call
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_id"] == run_id and base64.b64decode(body["output_file_base64"]) == b"B\n2\n"


def test_health_and_docs_redirect(stack, spawn_gateway):
    gateway = spawn_gateway()
    health = httpx.get(f"{gateway.url}/health").json()
    assert health["status"] == "healthy" and health["database"] and health["broker"] and health["storage"]
    root = httpx.get(gateway.url + "/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/docs"
    queue = httpx.get(
        f"{gateway.url}/api/v1/queue/status", headers={"X-API-KEY": stack.settings.admin_api_key}
    )
    assert queue.status_code == 200 and queue.json()["can_accept_new_jobs"] is True
    assert "profiler" in queue.json()["consumer_groups"]
