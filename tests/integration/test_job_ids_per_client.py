"""Job ids are scoped per client (gateway against the real stack): two clients may choose the same id, and every
route naming another client's job answers 404 exactly as for an id that exists nowhere."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from recast_common.db.session import asyncpg_dsn
from recast_common.storage import Storage

pytestmark = pytest.mark.integration

API = "/api/v1"
TRAIN = {"input_file": "name,age\nAda,36\nAlan,41\n", "expected_output_file": "NAME\nADA\nALAN\n"}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_client(url: str, admin_key: str, client_id: str) -> dict[str, str]:
    response = httpx.post(f"{url}{API}/admin/clients", json={"client_id": client_id},
                          headers={"X-API-KEY": admin_key})
    assert response.status_code == 201, response.text
    return {"X-API-KEY": response.json()["api_key"]}


async def s3_keys(stack, prefix: str) -> list[str]:
    async with Storage(stack.settings) as storage:
        return await storage.list_keys(prefix)


async def finish(stack, client: str, job_id: str, status: str) -> None:
    """End the job as the projector would, with a stored script (no pipeline runs in this test)."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    try:
        internal, input_key = await conn.fetchrow(
            "SELECT id, input_key FROM jobs WHERE client_id = $1 AND public_id = $2", client, job_id)
        script_key = input_key.rsplit("/", 1)[0] + "/script.py"
        async with Storage(stack.settings) as storage:
            await storage.put_bytes(script_key, b"print('converted')\n")
        await conn.execute("UPDATE jobs SET status = $2, script_key = $3 WHERE id = $1", internal, status,
                           script_key)
    finally:
        await conn.close()


def routes_on(client: str, job_id: str) -> list[tuple[str, str, dict]]:
    csv = "name,age\nX,1\n"
    return [
        ("GET", f"{API}/{client}/{job_id}", {}),
        ("GET", f"{API}/{client}/{job_id}/profile", {}),
        ("GET", f"{API}/{client}/{job_id}/profile.html", {}),
        ("POST", f"{API}/jobs/{client}/{job_id}/accept", {}),
        ("POST", f"{API}/inference/run", {"json": {"job_id": job_id, "user_id": client, "input_file": csv}}),
        ("POST", f"{API}/inference/run/upload",
         {"data": {"job_id": job_id, "user_id": client}, "files": {"input_file": ("in.csv", csv.encode())}}),
        ("PUT", f"{API}/inference/run/stream",
         {"params": {"job_id": job_id, "user_id": client}, "content": csv.encode(),
          "headers": {"Content-Type": "text/csv"}}),
        ("DELETE", f"{API}/delete/job/{client}/{job_id}", {}),
    ]


async def test_two_clients_may_choose_the_same_job_id_and_each_reaches_only_its_own(stack, spawn_gateway):
    url = spawn_gateway(extra_env={"RECAST_INFERENCE_WAIT_SECONDS": "0.5"}).url  # no tester runs here
    admin = {"X-API-KEY": stack.settings.admin_api_key}
    alice, bob = uid("alice"), uid("bob")
    alice_key, bob_key = new_client(url, admin["X-API-KEY"], alice), new_client(url, admin["X-API-KEY"], bob)
    chosen = uid("report")

    first = httpx.post(f"{url}{API}/train", json={**TRAIN, "job_id": chosen}, headers=alice_key)
    second = httpx.post(f"{url}{API}/train", json={**TRAIN, "job_id": chosen}, headers=bob_key)
    assert first.status_code == 202 and second.status_code == 202, (first.text, second.text)
    assert first.json()["job_id"] == second.json()["job_id"] == chosen
    assert second.json()["status_url"] == f"{API}/{bob}/{chosen}"
    assert first.json()["input_file"] != second.json()["input_file"]  # each job its own folder
    await finish(stack, alice, chosen, "succeeded")

    mine = httpx.get(f"{url}{API}/{bob}/{chosen}", headers=bob_key).json()
    assert mine["job_id"] == chosen and mine["user_id"] == bob and mine["status"] == "queued"
    assert [j["job_id"] for j in httpx.get(f"{url}{API}/users/{bob}/jobs", headers=bob_key).json()] == [chosen]
    # Bob's inference on "his" id reaches his own queued job (409: no script yet), never Alice's succeeded one.
    own = httpx.post(f"{url}{API}/inference/run", json={"job_id": chosen, "input_file": "a\n1\n"}, headers=bob_key)
    assert own.status_code == 409 and "no learned script" in own.json()["detail"]

    # Every route naming Alice's job answers Bob as for an id that exists nowhere: 404, never 403.
    nowhere = uid("nowhere")
    for (method, path, kw), (_, missing_path, missing_kw) in zip(routes_on(alice, chosen),
                                                                  routes_on(alice, nowhere), strict=True):
        kw.setdefault("headers", {}).update(bob_key)
        missing_kw.setdefault("headers", {}).update(bob_key)
        existing = httpx.request(method, url + path, **kw)
        absent = httpx.request(method, url + missing_path, **missing_kw)
        assert existing.status_code == absent.status_code == 404, (method, path, existing.text, absent.text)
        assert existing.json()["detail"].replace(chosen, "ID") == absent.json()["detail"].replace(nowhere, "ID")

    # The environment's admin key, with no client of its own, must name the client when two have the id.
    ambiguous = httpx.post(f"{url}{API}/inference/run", json={"job_id": chosen, "input_file": "a\n1\n"},
                           headers=admin)
    assert ambiguous.status_code == 422 and "user_id" in ambiguous.json()["detail"]
    named = httpx.post(f"{url}{API}/inference/run", headers=admin,
                       json={"job_id": chosen, "user_id": alice, "input_file": "a\n1\n"})
    assert named.status_code in (200, 202), named.text
    assert named.json()["job_id"] == chosen and named.json()["client_id"] == alice

    # Bob deleting his job leaves Alice's, with its files.
    assert httpx.delete(f"{url}{API}/delete/job/{bob}/{chosen}", headers=bob_key).status_code == 204
    assert httpx.get(f"{url}{API}/{bob}/{chosen}", headers=bob_key).json() == {}
    kept = httpx.get(f"{url}{API}/{alice}/{chosen}", headers=alice_key).json()
    assert kept["status"] == "succeeded" and kept["job_id"] == chosen
    folder = first.json()["input_file"].split("/")[1]
    assert await s3_keys(stack, f"{alice}/{folder}/")


async def test_a_client_replacing_its_job_keeps_its_id_while_another_client_holds_the_same(stack, spawn_gateway):
    url = spawn_gateway().url
    admin_key = stack.settings.admin_api_key
    alice, bob = uid("alice"), uid("bob")
    alice_key, bob_key = new_client(url, admin_key, alice), new_client(url, admin_key, bob)
    chosen = uid("daily")
    assert httpx.post(f"{url}{API}/train", json={**TRAIN, "job_id": chosen}, headers=alice_key).status_code == 202
    assert httpx.post(f"{url}{API}/train", json={**TRAIN, "job_id": chosen}, headers=bob_key).status_code == 202
    running = httpx.post(f"{url}{API}/train", json={**TRAIN, "job_id": chosen}, headers=alice_key)
    assert running.status_code == 409 and "still queued" in running.json()["detail"]
    await finish(stack, alice, chosen, "failed")
    replaced = httpx.post(f"{url}{API}/train", json={**TRAIN, "job_id": chosen}, headers=alice_key)
    assert replaced.status_code == 202 and replaced.json()["job_id"] == chosen
    assert httpx.get(f"{url}{API}/{alice}/{chosen}", headers=alice_key).json()["status"] == "queued"
    assert httpx.get(f"{url}{API}/{bob}/{chosen}", headers=bob_key).json()["status"] == "queued"
    listed = httpx.get(f"{url}{API}/users/{alice}/jobs", headers=alice_key).json()
    assert [j["job_id"] for j in listed] == [chosen]
