"""Admission through the real gateway: a client's share of the queue is an exact limit, even under concurrent
requests (the count and the insert share one advisory lock), and a refused request leaves no file behind."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from recast_common.storage import Storage

pytestmark = pytest.mark.integration

PER_CLIENT = 3
TRAIN = {"input_file": "a,b\n1,2\n", "expected_output_file": "b\n2\n"}


async def new_client(client: httpx.AsyncClient, admin_key: str) -> tuple[str, dict[str, str]]:
    client_id = f"busy-{uuid.uuid4().hex[:8]}"
    answer = await client.post("/api/v1/admin/clients", json={"client_id": client_id},
                               headers={"X-API-KEY": admin_key})
    assert answer.status_code == 201, answer.text
    return client_id, {"X-API-KEY": answer.json()["api_key"]}


async def test_concurrent_submissions_never_exceed_a_clients_limit(stack, spawn_gateway):
    # no pipeline runs here: every admitted job stays queued, i.e. active
    gateway = spawn_gateway({"RECAST_MAX_ACTIVE_JOBS_PER_CLIENT": str(PER_CLIENT), "RECAST_MAX_ACTIVE_JOBS": "100000"})
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        busy, busy_key = await new_client(client, stack.settings.admin_api_key)
        answers = await asyncio.gather(*[client.post("/api/v1/train", json=TRAIN, headers=busy_key)
                                         for _ in range(3 * PER_CLIENT)])
        codes = sorted(a.status_code for a in answers)
        assert codes == [202] * PER_CLIENT + [429] * (2 * PER_CLIENT), [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 429)
        assert "limit" in refused.json()["detail"]

        listed = (await client.get(f"/api/v1/users/{busy}/jobs", headers=busy_key)).json()
        assert len(listed) == PER_CLIENT
        async with Storage(stack.settings) as storage:
            keys = await storage.list_keys(f"{busy}/")
        assert len(keys) == 2 * PER_CLIENT  # the admitted jobs' input and expected files, nothing of the others

        other, other_key = await new_client(client, stack.settings.admin_api_key)
        assert (await client.post("/api/v1/train", json=TRAIN, headers=other_key)).status_code == 202
