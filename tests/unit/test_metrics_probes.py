"""The consumers' metrics server also answers the Kubernetes probes: /healthz always, /readyz once ready."""

from __future__ import annotations

import httpx
from recast_common import metrics


def test_the_metrics_server_answers_liveness_readiness_and_metrics():
    server = metrics.start_server(0, addr="127.0.0.1")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        metrics.mark_ready(False)
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").status_code == 503
        metrics.mark_ready()
        assert httpx.get(f"{base}/readyz").status_code == 200
        assert "recast_events_handled_total" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/elsewhere").status_code == 404
        metrics.mark_ready(False)  # shutting down: the Service stops sending work, the pod still lives
        assert httpx.get(f"{base}/readyz").status_code == 503
        assert httpx.get(f"{base}/healthz").status_code == 200
    finally:
        server.shutdown()
        server.server_close()
