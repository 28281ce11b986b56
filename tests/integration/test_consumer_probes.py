"""A real consumer answers the Kubernetes probes on its metrics port: live at once, ready once subscribed."""

from __future__ import annotations

import time

import httpx
import pytest
from recast_devstack.ports import free_port

pytestmark = pytest.mark.integration


def status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def test_a_consumer_is_live_then_ready_on_its_metrics_port(spawn):
    port = free_port()
    process = spawn("coder", {"RECAST_METRICS_PORT": str(port), "RECAST_REPLICA_ID": "coder-probes"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while status(f"{base}/readyz") != 200:
        assert process.running, process.tail()
        assert time.monotonic() < deadline, process.tail()
        time.sleep(0.3)
    assert status(f"{base}/healthz") == 200
    assert "recast_events_handled_total" in httpx.get(f"{base}/metrics", timeout=5).text
