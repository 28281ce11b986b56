"""GET /health shows the isolation each tester replica's sandbox really gets, as the tester reported it."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from recast_engine.verify.sandbox import network_isolation

pytestmark = pytest.mark.integration


def test_health_shows_what_each_tester_reported(stack, spawn, spawn_gateway):
    gateway = spawn_gateway()
    replica = f"tester-health-{uuid.uuid4().hex[:8]}"
    spawn("tester", extra_env={"RECAST_REPLICA_ID": replica}, args=["--role", "inference"])
    deadline = time.monotonic() + 60
    while True:
        health = httpx.get(f"{gateway.url}/health", timeout=10).json()
        mine = [t for t in health["testers"] if t["replica"] == replica]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert mine, health
    # the tester runs on this host here, so its report is what this host's probe finds
    assert mine[0]["isolation"] == network_isolation() and mine[0]["roles"] == "tester-inference"
    assert health["sandbox"] == health["testers"][0]["isolation"]  # the newest report
