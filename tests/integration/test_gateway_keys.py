"""Key rotation through the real gateway: a client lists, adds and revokes its own keys, never another's."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest
from recast_common.db.session import asyncpg_dsn

pytestmark = pytest.mark.integration


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_client(url: str, admin_key: str, client_id: str) -> dict:
    response = httpx.post(f"{url}/api/v1/admin/clients", json={"client_id": client_id},
                          headers={"X-API-KEY": admin_key})
    assert response.status_code == 201, response.text
    return response.json()


def as_key(key: str) -> dict[str, str]:
    return {"X-API-KEY": key}


def test_a_client_rotates_its_key_and_the_old_one_stops_working(stack, spawn_gateway):
    url = spawn_gateway().url
    alice = uid("alice")
    first = create_client(url, stack.settings.admin_api_key, alice)
    old = as_key(first["api_key"])

    added = httpx.post(f"{url}/api/v1/keys", headers=old)
    assert added.status_code == 201, added.text
    new = as_key(added.json()["api_key"])
    assert added.json()["client_id"] == alice and added.json()["admin"] is False

    listed = httpx.get(f"{url}/api/v1/keys", headers=new).json()["keys"]
    assert [k["key_id"] for k in listed] == [first["key_id"], added.json()["key_id"]]
    assert all(not k["revoked"] for k in listed)
    assert set(listed[0]) == {"key_id", "client_id", "prefix", "admin", "revoked", "created_at"}  # never the key
    assert first["api_key"].startswith(listed[0]["prefix"]) and len(listed[0]["prefix"]) < len(first["api_key"])

    assert httpx.delete(f"{url}/api/v1/keys/{first['key_id']}", headers=new).status_code == 204
    refused = httpx.get(f"{url}/api/v1/users/{alice}/jobs", headers=old)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert httpx.get(f"{url}/api/v1/users/{alice}/jobs", headers=new).status_code == 200
    revoked = {k["key_id"]: k["revoked"] for k in httpx.get(f"{url}/api/v1/keys", headers=new).json()["keys"]}
    assert revoked == {first["key_id"]: True, added.json()["key_id"]: False}


def test_a_client_cannot_see_or_revoke_another_clients_keys(stack, spawn_gateway):
    url = spawn_gateway().url
    admin = as_key(stack.settings.admin_api_key)
    alice, bob = uid("alice"), uid("bob")
    alice_created = create_client(url, admin["X-API-KEY"], alice)
    bob_key = as_key(create_client(url, admin["X-API-KEY"], bob)["api_key"])

    assert httpx.get(f"{url}/api/v1/keys", params={"client_id": alice}, headers=bob_key).status_code == 403
    assert httpx.post(f"{url}/api/v1/keys", json={"client_id": alice}, headers=bob_key).status_code == 403
    assert httpx.delete(f"{url}/api/v1/keys/{alice_created['key_id']}", headers=bob_key).status_code == 404
    assert httpx.delete(f"{url}/api/v1/keys/999999999", headers=bob_key).status_code == 404
    # alice's key still works; the admin sees and revokes any client's keys
    assert httpx.get(f"{url}/api/v1/keys", headers=as_key(alice_created["api_key"])).status_code == 200
    assert httpx.get(f"{url}/api/v1/keys", headers=admin).status_code == 422  # the admin names a client
    listed = httpx.get(f"{url}/api/v1/keys", params={"client_id": alice}, headers=admin).json()["keys"]
    assert [k["key_id"] for k in listed] == [alice_created["key_id"]]
    assert httpx.delete(f"{url}/api/v1/keys/{alice_created['key_id']}", headers=admin).status_code == 204
    assert httpx.get(f"{url}/api/v1/keys", headers=as_key(alice_created["api_key"])).status_code == 401


def statuses_until_refused(url: str, key: dict[str, str], path: str, seconds: float) -> tuple[float, list[int]]:
    """Poll `path` with `key` until it answers 401 or `seconds` pass: how long that took, and every status seen."""
    began = time.monotonic()
    seen = []
    while time.monotonic() - began < seconds:
        seen.append(httpx.get(f"{url}{path}", headers=key).status_code)
        if seen[-1] == 401:
            break
        time.sleep(0.05)
    return time.monotonic() - began, seen


def test_a_key_revoked_through_one_gateway_is_refused_by_another_that_had_verified_it(stack, spawn_gateway):
    first, second = spawn_gateway().url, spawn_gateway().url
    alice = uid("alice")
    old = as_key(create_client(first, stack.settings.admin_api_key, alice)["api_key"])
    new = as_key(httpx.post(f"{first}/api/v1/keys", headers=old).json()["api_key"])
    path = f"/api/v1/users/{alice}/jobs"
    assert httpx.get(f"{second}{path}", headers=old).status_code == 200  # the second gateway knows the old key now
    old_id = httpx.get(f"{first}/api/v1/keys", headers=new).json()["keys"][0]["key_id"]

    assert httpx.delete(f"{first}/api/v1/keys/{old_id}", headers=new).status_code == 204
    assert httpx.get(f"{first}{path}", headers=old).status_code == 401  # the revoking gateway: the next request
    waited, seen = statuses_until_refused(second, old, path, 3.0)  # the other: when the notification arrives
    print(f"the other gateway refused the revoked key after {waited:.2f} s ({len(seen)} requests)")
    assert seen[-1] == 401 and waited < 3.0, seen
    assert httpx.get(f"{second}{path}", headers=new).status_code == 200


def test_a_revoked_key_is_refused_within_the_cache_bound_even_without_a_notification(stack, spawn_gateway):
    bound = 2.0
    url = spawn_gateway({"RECAST_API_KEY_CACHE_SECONDS": str(bound)}).url
    alice = uid("alice")
    created = create_client(url, stack.settings.admin_api_key, alice)
    key = as_key(created["api_key"])
    path = f"/api/v1/users/{alice}/jobs"
    assert httpx.get(f"{url}{path}", headers=key).status_code == 200

    async def revoke_behind_the_gateways_back() -> None:  # no NOTIFY: as if the notification were lost
        connection = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
        try:
            await connection.execute("UPDATE api_keys SET revoked = true WHERE id = $1", created["key_id"])
        finally:
            await connection.close()

    asyncio.run(revoke_behind_the_gateways_back())
    waited, seen = statuses_until_refused(url, key, path, bound + 2.0)
    print(f"refused {waited:.2f} s after a revocation without notification (bound {bound} s)")
    assert seen[-1] == 401 and waited <= bound + 0.5, seen
