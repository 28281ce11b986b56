"""The sandbox started by a non-root caller, as in the Kubernetes pod (runAsUser 10001): the script then shares the
caller's uid, so what keeps the caller's secrets from it, and what GET /health reports, must hold there too.

The caller is a system Python run under setpriv as uid 10001 (the venv's interpreter lives under /root, which that
uid cannot enter); recast_engine.verify.sandbox is standard library only, so it runs from the source folder."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

TESTER_SOURCE = Path(__file__).resolve().parents[2] / "libs" / "engine"
CALLER_UID = 10001
SYSTEM_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)

CALLER = """
import json, os, sys, tempfile
from pathlib import Path
from recast_engine.verify.sandbox import Limits, network_isolation, run_script
folder = Path(tempfile.mkdtemp())
(folder / "in.csv").write_text("a\\n1\\n")
(folder / "script.py").write_text(sys.argv[1])
result = run_script(folder / "script.py", folder / "in.csv", folder / "out.csv",
                    Limits(timeout_seconds=20, memory_mb=512, namespaces=sys.argv[2] == "namespaces"))
print(json.dumps({"uid": os.geteuid(), "reason": result.reason, "isolation": result.isolation,
                  "stderr": result.stderr_tail, "health": network_isolation()}))
"""

# looks for the secret in every process's initial environment it can read: the caller's is the one that has it
READ_CALLER_ENVIRONMENT = """
import os, sys
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.environ["NEEDLE"].encode() in open(f"/proc/{pid}/environ", "rb").read():
            print("LEAKED", pid, file=sys.stderr)
    except OSError:
        pass
open(sys.argv[2], "w").write("done")
"""


def run_as_non_root_caller(script: str, mode: str, secret: str) -> dict:
    if os.geteuid() != 0 or SYSTEM_PYTHON is None or shutil.which("setpriv") is None:
        pytest.skip("needs root, setpriv and a system Python to start a non-root caller")
    argv = ["setpriv", f"--reuid={CALLER_UID}", f"--regid={CALLER_UID}", "--clear-groups",
            SYSTEM_PYTHON, "-S", "-c", CALLER, script, mode]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(TESTER_SOURCE), "RECAST_DATABASE_PASSWORD": secret,
           "NEEDLE": secret}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False, cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["namespaces", "fallback"])
def test_the_script_cannot_read_a_non_root_callers_environment(mode: str) -> None:
    secret = f"SECRET-{uuid.uuid4().hex}"
    # the script gets the secret's value to look for, but through its input script text, not its environment
    report = run_as_non_root_caller(READ_CALLER_ENVIRONMENT.replace('os.environ["NEEDLE"]', repr(secret)), mode,
                                    secret)
    assert report["uid"] == CALLER_UID
    assert report["reason"] == "ok", report
    assert "LEAKED" not in report["stderr"], report
    if mode == "fallback":
        assert "socket-guard" in report["isolation"] and "netns" not in report["isolation"]


def test_health_names_the_layers_a_non_root_run_gets() -> None:
    report = run_as_non_root_caller("import sys\nopen(sys.argv[2], 'w').write('a')\n", "namespaces", "x")
    assert report["reason"] == "ok", report
    assert report["health"] == "+".join(report["isolation"])
    assert "uid" not in report["isolation"]  # only a root caller can give the script a uid of its own
