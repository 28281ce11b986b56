"""`make run` keeps its infrastructure up: S3 (SeaweedFS) and the broker (Tansu) killed with SIGKILL, and the
embedded Postgres crashed, are started again, the gateway is ready again, and a job submitted afterwards runs
through every service to success."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from recast_devstack.ports import free_port
from test_pipeline_kit import create_client, train, wait_job
from test_stack_run import _processes_mentioning

pytestmark = pytest.mark.integration


def wait_ready(url: str, run: subprocess.Popen, log, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert run.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready after {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def pids_running(tmp_path, needle: str) -> list[int]:
    found = []
    for pid in _processes_mentioning(str(tmp_path)):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if needle.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.fixture
def data_dir():
    # not pytest's tmp_path: its 0700 parent, shared with other sessions, is no place for Postgres' own user
    folder = Path(tempfile.mkdtemp(prefix="recast-run-supervision-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_make_run_restarts_s3_the_broker_and_postgres(data_dir):
    tmp_path = data_dir
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAST_") and k != "DATABASE_URL"}
    env.update(RECAST_DATA_DIR=str(tmp_path), RECAST_GATEWAY_PORT=str(port))
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "run.out"
    with open(log, "wb") as out:
        run = subprocess.Popen([sys.executable, "-m", "recast_devstack.run"], env=env, stdout=out,
                               stderr=subprocess.STDOUT)
    try:
        wait_ready(url, run, log, 120)
        weed, tansu = pids_running(tmp_path, "weed"), pids_running(tmp_path, "--storage-engine")
        assert weed and tansu
        postmaster = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0])
        for pid in weed + tansu:
            os.kill(pid, signal.SIGKILL)
        os.kill(postmaster, signal.SIGQUIT)  # an immediate shutdown: what a crash leaves behind
        assert httpx.get(f"{url}/livez", timeout=10).status_code == 200

        def restarted() -> bool:
            postmaster_now = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0]) \
                if (tmp_path / "postgres" / "postmaster.pid").exists() else postmaster
            new_weed, new_tansu = pids_running(tmp_path, "weed"), pids_running(tmp_path, "--storage-engine")
            return (bool(new_weed) and set(new_weed).isdisjoint(weed) and bool(new_tansu)
                    and set(new_tansu).isdisjoint(tansu) and postmaster_now != postmaster)

        deadline = time.monotonic() + 90
        while not restarted():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        time.sleep(2.5)  # past the gateway's readiness cache
        wait_ready(url, run, log, 60)
        admin_key = (tmp_path / "admin_api_key").read_text().strip()
        client_id, key = create_client(url, admin_key)
        accepted = train(url, key, "name,city\nAda,London\nAlan,Wilmslow\n", "city,name\nLondon,Ada\nWilmslow,Alan\n")
        body = wait_job(url, key, client_id, accepted["job_id"], 180)
        assert body["status"] == "succeeded", body
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
