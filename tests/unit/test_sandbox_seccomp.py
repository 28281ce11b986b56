"""The sandbox's seccomp filter (verify/sandbox_seccomp): the calls it denies fail inside a real run and succeed
without it (the control), while what scripts do (threads, fork, subprocess, AF_UNIX sockets) keeps working."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from recast_engine.verify import sandbox_seccomp
from recast_engine.verify.sandbox import Limits, RunResult, network_isolation, run_script

QUICK = {"timeout_seconds": 30.0}

# Each probe writes {call: "ok" or the errno} to the output: raw libc calls, which no Python-level guard sees.
PROBE = """
import ctypes, json, socket, subprocess, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
def call(result):
    return "ok" if result >= 0 else ctypes.get_errno()
found = {
    "unshare_user": call(libc.unshare(0x10000000)),
    "raw_inet_socket": call(libc.socket(2, 1, 0)),
    "raw_unix_socket": call(libc.socket(1, 1, 0)),
    "mount": call(libc.mount(b"none", b"/", b"tmpfs", 0, None)),
    "ptrace_attach_parent": call(libc.ptrace(16, __import__("os").getppid(), 0, 0)),
    "bpf": call(libc.syscall(321 if __import__("platform").machine() == "x86_64" else 280, 0, 0, 0)),
}
thread = threading.Thread(target=lambda: None); thread.start(); thread.join()
found["thread"] = "ok"
found["subprocess"] = subprocess.run([sys.executable, "-c", "print(7)"], capture_output=True).stdout.decode().strip()
open(sys.argv[2], "w").write(json.dumps(found))
"""


def run_probe(tmp_path: Path, **limits) -> tuple[RunResult, dict]:
    script, source, output = tmp_path / "probe.py", tmp_path / "in.csv", tmp_path / "out.csv"
    script.write_text(PROBE, encoding="utf-8")
    source.write_text("a\n1\n", encoding="utf-8")
    output.unlink(missing_ok=True)
    result = run_script(script, source, output, Limits(**{**QUICK, **limits}))
    assert result.ok, result
    return result, ast.literal_eval(output.read_text())


@pytest.fixture
def filtered(tmp_path: Path) -> dict:
    result, found = run_probe(tmp_path)
    if "seccomp" not in result.isolation:
        pytest.skip(f"this machine refuses seccomp: {result.unavailable}")
    return found


EPERM = 1


def test_the_filter_denies_nested_namespaces_mounts_ptrace_bpf_and_inet_sockets(filtered: dict) -> None:
    for call in ("unshare_user", "raw_inet_socket", "mount", "ptrace_attach_parent", "bpf"):
        assert filtered[call] == EPERM, (call, filtered)


def test_scripts_keep_threads_subprocesses_and_unix_sockets_under_the_filter(filtered: dict) -> None:
    assert filtered["thread"] == "ok" and filtered["subprocess"] == "7"  # clone3 -> ENOSYS, libc falls back
    assert filtered["raw_unix_socket"] == "ok"


def test_without_the_filter_the_same_calls_reach_the_kernel(tmp_path: Path, filtered: dict) -> None:
    """The control: it is the filter, not another layer, that denies what the first test saw denied."""
    result, found = run_probe(tmp_path, seccomp=False)
    assert "seccomp" not in result.isolation
    assert found["raw_inet_socket"] == "ok", found  # a socket in the empty network namespace is allowed
    assert found["unshare_user"] != EPERM or found["mount"] != EPERM, found


def test_without_namespaces_the_filter_is_a_real_network_barrier(tmp_path: Path, filtered: dict) -> None:
    """The socket guard replaces Python's socket functions only; a raw libc call gets past it, not past seccomp."""
    result, found = run_probe(tmp_path, namespaces=False)
    assert "socket-guard" in result.isolation and "seccomp" in result.isolation
    assert found["raw_inet_socket"] == EPERM, found
    _, unfiltered = run_probe(tmp_path, namespaces=False, seccomp=False)
    assert unfiltered["raw_inet_socket"] == "ok", unfiltered


def test_health_names_the_filter_or_why_the_machine_refused_it(tmp_path: Path) -> None:
    result, _ = run_probe(tmp_path)
    shown = network_isolation()
    if "seccomp" in result.isolation:
        assert shown.split("+")[-1] == "seccomp"
    else:
        assert f"without seccomp: {result.unavailable['seccomp']}" in shown


def test_a_machine_without_a_syscall_table_is_told_apart() -> None:
    with pytest.raises(sandbox_seccomp.SeccompUnavailable, match="no syscall table for machine riscv64"):
        sandbox_seccomp.build_program("riscv64")
    for machine in sandbox_seccomp.SYSCALLS:
        program = sandbox_seccomp.build_program(machine)
        assert len(program) % 8 == 0 and len(program) // 8 < 4096  # BPF_MAXINSNS
        assert set(sandbox_seccomp.DENIED) <= set(sandbox_seccomp.SYSCALLS[machine])
