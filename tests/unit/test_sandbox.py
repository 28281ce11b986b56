"""The sandbox's run_script against well-behaved and hostile scripts (tests/hostile/), each with small limits."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import uuid
from pathlib import Path
from typing import ClassVar

import pytest
from recast_engine.verify.sandbox import Limits, RunResult, network_isolation, run_script
from recast_engine.verify.warnings import read_summary

HOSTILE = Path(__file__).resolve().parents[1] / "hostile"
REPOSITORY = Path(__file__).resolve().parents[2]
QUICK = {"timeout_seconds": 20.0}


@pytest.fixture
def csv_input(tmp_path: Path) -> Path:
    path = tmp_path / "input.csv"
    path.write_text("name,amount\nada,3\nbob,4\n", encoding="utf-8")
    return path


def write_script(tmp_path: Path, text: str, name: str = "script.py") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_hostile(name: str, input_path: Path, tmp_path: Path, **limits) -> RunResult:
    output = tmp_path / "out" / "output.csv"
    result = run_script(HOSTILE / f"{name}.py", input_path, output, Limits(**{**QUICK, **limits}))
    assert result.ok is False, result
    assert not output.exists()
    return result


def isolated(result: RunResult, *layers: str) -> bool:
    return all(layer in result.isolation for layer in layers)


def test_a_csv_script_runs_and_its_output_is_moved_out(tmp_path: Path, csv_input: Path) -> None:
    script = write_script(tmp_path, (
        "import csv, os, sys\n"
        "rows = list(csv.reader(open(sys.argv[1], newline='')))\n"
        "with open(sys.argv[2], 'w', newline='') as f:\n"
        "    csv.writer(f).writerows([[r[0].upper(), r[1]] for r in rows])\n"
        "print(os.getcwd(), file=sys.stderr)\n"
    ))
    output = tmp_path / "result" / "converted.csv"
    result = run_script(script, csv_input, output, Limits(**QUICK))
    assert result.ok, result
    assert result.reason == "ok" and result.returncode == 0
    assert output.read_bytes() == b"NAME,amount\r\nADA,3\r\nBOB,4\r\n"
    assert result.output_bytes == output.stat().st_size
    assert result.peak_rss_mb > 0
    work_folder = Path(result.stderr_tail.strip())
    assert work_folder != tmp_path and not work_folder.exists()  # ran elsewhere, cleaned up after
    assert csv_input.read_text() == "name,amount\nada,3\nbob,4\n"


def test_a_summary_line_longer_than_the_stderr_tail_still_reaches_the_caller_whole(tmp_path: Path,
                                                                                    csv_input: Path) -> None:
    script = write_script(tmp_path, (
        "import json, shutil, sys\n"
        "shutil.copy(sys.argv[1], sys.argv[2])\n"
        "print('x' * 50000, file=sys.stderr)\n"
        "warnings = [{'kind': 'unknown_key', 'column': c, 'count': 1, 'examples': []} for c in range(1, 401)]\n"
        "print(json.dumps({'recast_warnings': {'version': 1, 'warnings': warnings}}), file=sys.stderr)\n"
        "print('a last word', file=sys.stderr)\n"
    ))
    result = run_script(script, csv_input, tmp_path / "out.csv", Limits(**QUICK))
    assert result.ok, result
    assert len(result.summary_line) > 8192 and read_summary(result.stderr_tail) is None  # the tail cut it
    summary = read_summary(result.summary_line)
    assert summary is not None and [w.column for w in summary.warnings] == list(range(1, 401))


def test_a_pandas_script_runs_within_the_default_memory_limit(tmp_path: Path, csv_input: Path) -> None:
    script = write_script(tmp_path, (
        "import sys, pandas as pd\n"
        "frame = pd.read_csv(sys.argv[1])\n"
        "frame['double'] = frame['amount'] * 2\n"
        "frame.to_csv(sys.argv[2], index=False)\n"
    ))
    output = tmp_path / "out.csv"
    result = run_script(script, csv_input, output, Limits(timeout_seconds=120))
    assert result.ok, result
    assert output.read_text().splitlines() == ["name,amount,double", "ada,3,6", "bob,4,8"]


def test_a_failing_script_reports_its_exception(tmp_path: Path, csv_input: Path) -> None:
    script = write_script(tmp_path, "raise ValueError('no such column: price')\n")
    result = run_script(script, csv_input, tmp_path / "out.csv", Limits(**QUICK))
    assert not result.ok
    assert result.returncode == 1
    assert result.reason == "exit code 1: ValueError: no such column: price"
    assert "Traceback" in result.stderr_tail


def test_a_missing_input_is_reported_without_running(tmp_path: Path) -> None:
    script = write_script(tmp_path, "print('hi')\n")
    result = run_script(script, tmp_path / "absent.csv", tmp_path / "out.csv", Limits(**QUICK))
    assert not result.ok and "does not exist" in result.reason


def test_network_is_blocked(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("socket_open", csv_input, tmp_path)
    assert result.reason.startswith("network access blocked"), result


def test_network_isolation_names_the_layers_a_run_really_gets(tmp_path: Path, csv_input: Path) -> None:
    mode = network_isolation()
    result = run_script(write_script(tmp_path, "open(__import__('sys').argv[2], 'w').write('a')\n"), csv_input,
                        tmp_path / "o.csv", Limits(**QUICK))
    assert result.ok, result
    assert mode == "+".join(result.isolation)
    assert ("netns" in mode) != ("socket-guard" in mode)


def test_fork_bomb_hits_the_process_limit(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("fork_bomb", csv_input, tmp_path, max_processes=16, timeout_seconds=10)
    if isolated(result, "uid"):
        assert result.reason == "process limit exceeded (16 processes)", result
    else:  # as root without a uid of its own RLIMIT_NPROC does not bind: the wall clock ends it
        assert result.reason == "timed out after 10 s", result


def test_memory_bomb_hits_the_memory_limit(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("memory_bomb", csv_input, tmp_path, memory_mb=256)
    assert result.reason == "memory limit exceeded (256 MB)", result
    assert result.peak_rss_mb < 300


def test_peak_rss_is_the_scripts_own_not_the_callers(tmp_path: Path, csv_input: Path) -> None:
    # the kernel records a forked child's high-water mark at exec: it used to include the caller's memory
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"\x01" * len(range(0, len(ballast), 4096))
    result = run_hostile("memory_bomb", csv_input, tmp_path, memory_mb=256)
    del ballast
    if not isolated(result, "pidns"):
        pytest.skip("without a PID namespace the figure is the bootstrap's, which may include the caller's")
    assert result.reason == "memory limit exceeded (256 MB)", result
    assert result.peak_rss_mb < 300


def test_infinite_loop_is_killed_at_the_deadline(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("infinite_loop", csv_input, tmp_path, timeout_seconds=1)
    assert result.reason == "timed out after 1 s"
    assert result.returncode == -9


def test_cpu_burn_hits_the_cpu_limit(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("cpu_burn", csv_input, tmp_path, cpu_seconds=1, timeout_seconds=30)
    assert result.reason == "CPU time limit exceeded (1 s)", result


def test_writes_outside_the_folder_are_refused(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("write_outside", csv_input, tmp_path)
    if not isolated(result, "mountns"):
        pytest.skip("no mount namespace on this machine: writes outside are not prevented")
    assert "ESCAPED" not in result.stderr_tail
    assert result.reason == "exit code 1: PermissionError: every write outside the folder was refused"
    for leftover in ("/tmp/recast-hostile-parent", "/var/tmp/recast-hostile", "/dev/shm/recast-hostile"):
        assert not Path(leftover).exists()


def assert_outside_files_are_hidden(tmp_path: Path) -> None:
    visible = Path(f"/tmp/recast-visible-{uuid.uuid4().hex}.csv")  # world-readable, in a world-readable folder
    visible.write_text("secret,1\n")
    visible.chmod(0o644)
    repository_file = REPOSITORY / "pyproject.toml"
    source = tmp_path / "paths.csv"
    source.write_text(f"{visible}\n{repository_file}\n")
    try:
        result = run_hostile("read_files", source, tmp_path)
    finally:
        visible.unlink()
    if not isolated(result, "mountns", "uid"):
        pytest.skip("without a mount namespace the script can read what its user can read")
    assert "READ" not in result.stderr_tail
    assert result.reason == "exit code 1: PermissionError: no file outside the folder was readable"


def test_files_outside_the_folder_are_hidden(tmp_path: Path) -> None:
    assert_outside_files_are_hidden(tmp_path)


@pytest.mark.parametrize("front", ["repository", "empty", "tmp"])
def test_what_the_script_sees_does_not_depend_on_the_callers_sys_path(tmp_path: Path, front: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # `python -m pytest` (make test) puts the working folder, the repository, first on sys.path; tests insert more
    monkeypatch.setattr(sys, "path", [{"repository": str(REPOSITORY), "empty": "", "tmp": "/tmp"}[front],
                                      str(REPOSITORY / "tests"), *sys.path])
    assert_outside_files_are_hidden(tmp_path)


def test_the_parent_environment_is_invisible(tmp_path: Path, csv_input: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"SECRET-{uuid.uuid4()}"
    monkeypatch.setenv("RECAST_FAKE_SECRET", secret)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    # /proc/<pid>/environ shows a process's initial environment: give one process the secret from its start
    holder = subprocess.Popen(["sleep", "60"], env={"RECAST_FAKE_SECRET": secret})
    try:
        result = run_hostile("read_environment", csv_input, tmp_path)
    finally:
        holder.kill()
        holder.wait()
    if not isolated(result, "uid"):
        pytest.skip("the script runs as the caller's user: other processes' environments stay readable")
    assert "LEAKED" not in result.stderr_tail and secret not in result.stderr_tail
    assert result.reason == "exit code 1: PermissionError: no secret visible"


def test_stdout_flood_is_cut_off_without_buffering_it(tmp_path: Path, csv_input: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run_hostile("stdout_flood", csv_input, tmp_path, log_cap_mb=2)
    assert result.reason == "printed more than 2 MB to stdout/stderr: stopped"
    assert 2 * 2**20 < result.stdout_bytes < 100 * 2**20
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024


def test_segfault_is_reported_as_a_signal(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("segfault", csv_input, tmp_path)
    assert result.reason == "killed by signal SIGSEGV"
    assert result.returncode == -11


def test_output_beyond_the_file_size_limit_is_stopped(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("huge_output", csv_input, tmp_path, file_size_mb=4)
    assert result.reason == "output exceeded 4 MB"


def test_no_output_file_is_a_failure(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("no_output", csv_input, tmp_path)
    assert result.reason == "the script wrote no output file"


def test_a_symlinked_output_is_not_followed(tmp_path: Path, csv_input: Path) -> None:
    result = run_hostile("symlink_output", csv_input, tmp_path)
    assert result.reason == "the output is not a regular file"


def test_processes_that_leave_the_group_die_with_the_run(tmp_path: Path) -> None:
    token = f"recast-escapee-{uuid.uuid4().hex}"
    source = tmp_path / "token.csv"
    source.write_text(f"{token},x\n")
    result = run_script(HOSTILE / "escape_group.py", source, tmp_path / "out.csv", Limits(**QUICK))
    assert result.ok, result
    survivors = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                survivors.append(int(pid))
        except OSError:
            continue
    for pid in survivors:  # do not leave it behind even when the assertion fails
        os.kill(pid, 9)
    if not (isolated(result, "pidns") or isolated(result, "uid")):
        pytest.skip("without a PID namespace or a uid of its own a setsid escapee cannot be found")
    assert survivors == []


class TestWithoutNamespaces:
    """The fallback for machines without namespaces: socket guard, process group kill, limits."""

    LIMITS: ClassVar[dict] = {**QUICK, "namespaces": False}

    def test_a_script_still_runs(self, tmp_path: Path, csv_input: Path) -> None:
        script = write_script(tmp_path, "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n")
        result = run_script(script, csv_input, tmp_path / "o.csv", Limits(**self.LIMITS))
        assert result.ok, result
        assert "socket-guard" in result.isolation and "netns" not in result.isolation
        assert (tmp_path / "o.csv").read_text() == csv_input.read_text()

    def test_the_socket_guard_blocks_connections(self, tmp_path: Path, csv_input: Path) -> None:
        result = run_hostile("socket_open", csv_input, tmp_path, **self.LIMITS)
        assert result.reason == ("network access blocked: PermissionError: [Errno 1] network access blocked by "
                                 "the Recast sandbox")

    def test_the_deadline_still_applies(self, tmp_path: Path, csv_input: Path) -> None:
        result = run_hostile("infinite_loop", csv_input, tmp_path, **{**self.LIMITS, "timeout_seconds": 1})
        assert result.reason == "timed out after 1 s"

    def test_the_memory_limit_still_applies(self, tmp_path: Path, csv_input: Path) -> None:
        result = run_hostile("memory_bomb", csv_input, tmp_path, **{**self.LIMITS, "memory_mb": 256})
        assert result.reason == "memory limit exceeded (256 MB)", result

    def test_the_cpu_limit_still_applies(self, tmp_path: Path, csv_input: Path) -> None:
        result = run_hostile("cpu_burn", csv_input, tmp_path, **{**self.LIMITS, "cpu_seconds": 1})
        assert result.reason == "CPU time limit exceeded (1 s)", result

    def test_the_file_size_limit_still_applies(self, tmp_path: Path, csv_input: Path) -> None:
        result = run_hostile("huge_output", csv_input, tmp_path, **{**self.LIMITS, "file_size_mb": 4})
        assert result.reason == "output exceeded 4 MB", result

    def test_the_log_cap_still_applies(self, tmp_path: Path, csv_input: Path) -> None:
        result = run_hostile("stdout_flood", csv_input, tmp_path, **{**self.LIMITS, "log_cap_mb": 2})
        assert result.reason == "printed more than 2 MB to stdout/stderr: stopped"

    def test_the_environment_is_still_scrubbed(self, tmp_path: Path, csv_input: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("RECAST_FAKE_SECRET", "SECRET-x")
        script = write_script(tmp_path, "import os, sys\nprint(sorted(os.environ), file=sys.stderr)\n"
                                        "open(sys.argv[2], 'w').write('a')\n")
        result = run_script(script, csv_input, tmp_path / "o.csv", Limits(**self.LIMITS))
        assert result.ok
        assert "RECAST_" not in result.stderr_tail and "SECRET" not in result.stderr_tail
