"""Requests a hostile or careless client can send get a 4xx, never a 500: job-list cursors with an out-of-range
date or a NUL, a key id past bigint, a NUL in an admin `name`; the number of API keys per client is capped; and
another client's ids answer 404, as if they did not exist."""
from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration
KEY_CAP = 4


def cursor(created: str, job_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created, job_id]).encode()).decode().rstrip("=")


@pytest.fixture
def gateway(spawn_gateway):
    return spawn_gateway(extra_env={"RECAST_MAX_API_KEYS_PER_CLIENT": str(KEY_CAP)})


def new_client(url: str, admin_key: str) -> tuple[str, dict[str, str], int]:
    client_id = f"c-{uuid.uuid4().hex[:10]}"
    response = httpx.post(f"{url}/api/v1/admin/clients", json={"client_id": client_id},
                          headers={"X-API-KEY": admin_key})
    assert response.status_code == 201, response.text
    return client_id, {"X-API-KEY": response.json()["api_key"]}, response.json()["key_id"]


FORGED_CURSORS = [
    ("9999-12-31T23:59:59-14:00", "a", {422}),     # past datetime's range once in UTC
    ("0001-01-01T00:00:00+14:00", "a", {422}),     # before it
    ("2024-01-01T00:00:00+00:00", "a\x00b", {422}),  # a NUL in the id
    ("2024-01-01T00:00:00\x00", "a", {200, 422}),  # a NUL in the date (Python 3.11 parses it away)
    ("2024-01-01T00:00:00", "a", {200}),           # no zone: read as UTC, a valid (empty) page
]


def test_a_forged_job_list_cursor_is_a_4xx(stack, gateway):
    client_id, key, _ = new_client(gateway.url, stack.settings.admin_api_key)
    for created, job_id, expected in FORGED_CURSORS:
        response = httpx.get(f"{gateway.url}/api/v1/users/{client_id}/jobs",
                             params={"cursor": cursor(created, job_id)}, headers=key)
        assert response.status_code in expected, (created, job_id, response.text)


def test_a_key_id_past_bigint_is_a_4xx(stack, gateway):
    _, key, _ = new_client(gateway.url, stack.settings.admin_api_key)
    for key_id in (2**63, 2**63 - 1, 10**30, -1, 0):
        response = httpx.delete(f"{gateway.url}/api/v1/keys/{key_id}", headers=key)
        assert response.status_code in (404, 422), (key_id, response.text)


def test_a_nul_or_control_character_in_an_admin_name_is_a_422(stack, gateway):
    for name in ("a\x00b", "bell\x07", "x" * 1000):
        response = httpx.post(f"{gateway.url}/api/v1/admin/clients", json={"name": name},
                              headers={"X-API-KEY": stack.settings.admin_api_key})
        assert response.status_code == 422, (name, response.text)


def test_a_client_cannot_create_api_keys_without_limit(stack, gateway):
    _, key, first = new_client(gateway.url, stack.settings.admin_api_key)
    created = [httpx.post(f"{gateway.url}/api/v1/keys", headers=key) for _ in range(KEY_CAP + 2)]
    assert [r.status_code for r in created] == [201] * (KEY_CAP - 1) + [429] * 3
    assert "revoke" in created[-1].json()["detail"]
    # revoking one frees a place (the calling key itself here: the next request uses another)
    assert httpx.delete(f"{gateway.url}/api/v1/keys/{first}", headers=key).status_code == 204
    other = {"X-API-KEY": created[0].json()["api_key"]}
    assert httpx.post(f"{gateway.url}/api/v1/keys", headers=other).status_code == 201


def test_another_clients_job_run_and_key_ids_are_not_found(stack, gateway):
    _, alice, alice_key_id = new_client(gateway.url, stack.settings.admin_api_key)
    _, bob, _ = new_client(gateway.url, stack.settings.admin_api_key)
    taken = httpx.delete(f"{gateway.url}/api/v1/keys/{alice_key_id}", headers=bob)
    missing = httpx.delete(f"{gateway.url}/api/v1/keys/{2**62}", headers=bob)
    assert taken.status_code == missing.status_code == 404
    assert httpx.get(f"{gateway.url}/api/v1/keys", headers=alice).status_code == 200  # Alice's key still works
