"""An API fuzz run: schemathesis generates requests from the gateway's own /openapi.json (valid and invalid ones)
and sends them with a client key, then with the admin key; no answer may be a server error (>= 500).

Bounded: RECAST_FUZZ_EXAMPLES test cases per operation and phase (default 8); `make fuzz` runs a longer one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("RECAST_FUZZ_EXAMPLES", "8"))
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def client_key(url: str, admin_key: str) -> tuple[str, str]:
    client = f"fuzz-{uuid.uuid4().hex[:8]}"
    response = httpx.post(f"{url}/api/v1/admin/clients", json={"client_id": client},
                          headers={"X-API-KEY": admin_key})
    assert response.status_code == 201, response.text
    return client, response.json()["api_key"]


def fuzz(url: str, key: str, report: Path, operations: tuple[str, ...]) -> tuple[int, str]:
    """One schemathesis run with the key; its exit code and its output."""
    command = [
        str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--header", f"X-API-KEY: {key}",
        "--checks", "not_a_server_error", "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(EXAMPLES), "--seed", "12", "--workers", "1", "--no-shrink",
        "--request-timeout", "30", "--generation-database", "none", "--no-color",
        "--report", "junit", "--report-junit-path", str(report),
        *operations,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1500, cwd=report.parent)  # its cache
    return done.returncode, done.stdout + done.stderr


def server_errors(output: str) -> list[str]:
    return sorted(set(re.findall(r"\[5\d\d\] [^\n]*|Server error[^\n]*", output)))


@pytest.mark.timeout(3600)
@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is a dev extra: make venv")
def test_no_generated_request_gets_a_server_error(stack, spawn_gateway, tmp_path: Path):
    # a short inference wait: no tester runs here, and a run stays pending (202) rather than holding a request
    gateway = spawn_gateway(extra_env={"RECAST_INFERENCE_WAIT_SECONDS": "0.2"}, timeout=180)
    _, key = client_key(gateway.url, stack.settings.admin_api_key)
    # DELETE /keys/{id} is fuzzed last, with a client key of its own: the client may revoke the calling key, and
    # the admin key would revoke the small key ids of the other tests' clients on this shared stack.
    revoking = "DELETE /api/v1/keys/{key_id}"
    _, last_key = client_key(gateway.url, stack.settings.admin_api_key)
    passes = (("client", key, ("--exclude-name", revoking)),
              ("admin", stack.settings.admin_api_key, ("--exclude-name", revoking)),
              ("revoking client", last_key, ("--include-name", revoking)))
    for who, api_key, operations in passes:
        code, output = fuzz(gateway.url, api_key, tmp_path / f"{who}.xml", operations)
        (tmp_path / f"{who}.log").write_text(output)
        summary = [line for line in output.splitlines() if re.search(r"Test cases|API Operations|passed|failed", line)]
        print(f"fuzz with the {who} key ({EXAMPLES} examples): " + " | ".join(summary[-4:]))
        assert not server_errors(output), (who, server_errors(output), output[-6000:])
        assert code == 0, (who, output[-6000:])
