"""`make run` (python -m recast_devstack.run) end to end: starts, serves, stops cleanly on Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from recast_devstack.ports import free_port
from recast_devstack.services import http_ok

pytestmark = pytest.mark.integration


def _processes_mentioning(text: str) -> list[int]:
    """Processes whose command line or environment names `text` (every child of the run inherits
    RECAST_DATA_DIR)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as f:
                    if text.encode() in f.read():
                        found.append(int(pid))
                        break
            except OSError:
                pass
    return found


def test_make_run_serves_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAST_") and k != "DATABASE_URL"}
    env.update(RECAST_DATA_DIR=str(tmp_path), RECAST_GATEWAY_PORT=str(port))  # embedded Postgres in tmp_path
    with open(tmp_path / "run.out", "wb") as log:
        run = subprocess.Popen([sys.executable, "-m", "recast_devstack.run"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not http_ok(f"http://127.0.0.1:{port}/health") and time.monotonic() < deadline:
            assert run.poll() is None, (tmp_path / "run.out").read_text()
            time.sleep(0.2)
        admin_key = (tmp_path / "admin_api_key").read_text().strip()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/queue/status",
                                         headers={"X-API-KEY": admin_key})
        with urllib.request.urlopen(request, timeout=10) as response:
            status = json.load(response)
        assert "consumer_groups" in status or "active_jobs" in status
        assert "RECAST_KAFKA_BOOTSTRAP" in (tmp_path / "stack.env").read_text()
        assert len(_processes_mentioning(str(tmp_path))) >= 4  # run, SeaweedFS, Tansu, Postgres, services
    finally:
        run.send_signal(signal.SIGINT)
        try:
            code = run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
            code = None
    output = (tmp_path / "run.out").read_text()
    assert code == 0, output
    assert admin_key in output  # the banner shows the key
    time.sleep(0.5)
    assert _processes_mentioning(str(tmp_path)) == []
