"""Run an untrusted learned script: `python -I script.py INPUT OUTPUT` in a fresh folder, with limits, no network.

    result = run_script(script, input_path, output_path, Limits(timeout_seconds=60, memory_mb=1024))
    if not result.ok: print(result.reason, result.stderr_tail)

What is enforced (recast_engine.verify.sandbox_bootstrap applies the namespace and uid layers inside the child):
- wall time: the whole process group is SIGKILLed at the deadline (and, with a PID namespace, every process the
  script started dies with it, even one that left the group with setsid);
- CPU time (RLIMIT_CPU), address space (RLIMIT_AS), size of any written file (RLIMIT_FSIZE);
- processes (RLIMIT_NPROC): only binds for a non-root uid, and counts all processes of that uid. As root (the
  case on these machines) each run gets a fresh unprivileged uid of its own, which makes the limit exact. When
  the run cannot leave root (no mount namespace to reach the interpreter), the limit is not enforced:
  `RunResult.isolation` then lacks "uid";
- no network: a network namespace when the kernel allows it, else a socket guard (see network_isolation());
  without root, a user namespace is tried first (it gives an ordinary user the network, mount and PID ones);
  network_isolation() (GET /health) names the layers a real run gets here, e.g.
  "netns+mountns+pidns+uid+no_new_privs+seccomp";
- syscalls: a seccomp filter (sandbox_seccomp) denies nested namespaces, mounts, ptrace, bpf, io_uring, sockets
  other than AF_UNIX and other kernel interfaces a CSV conversion never needs, where the kernel allows it;
- the caller's secrets: without root the script shares the caller's uid, so the caller makes itself non-dumpable
  (its /proc/<pid>/environ and memory are then out of the script's reach);
- privileges: as root only CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID and CAP_CHOWN are used (see
  deploy/k8s/deployment-tester.yaml, which grants exactly those);
- files: the script sees a copy of the input and writes only in its folder (everything else is mounted
  read-only, data folders such as /tmp, /work, /home, /root, /var are shown empty, and the uid owns nothing);
  the output is moved out after the run, only if it is a regular file;
- environment: a fixed minimal one, nothing of the caller's (no credentials, no RECAST_*/AWS_*);
- stdout/stderr: read as they come, only a tail of stderr is kept; more than `log_cap_mb` in all stops the run;
- disk: what the script writes in its folder is measured while it runs (every DISK_SCAN_SECONDS, and once at the
  end) in allocated blocks and entries; past `disk_mb` or `max_files` the run is stopped. The input copy and the
  script do not count. A scan needs to enter the script's folders: a root caller without CAP_DAC_OVERRIDE or
  CAP_DAC_READ_SEARCH counts only what it can enter;
- output: delivered only as a regular file without holes: a sparse file (a 4 GB size over a few written bytes)
  is refused rather than uploaded at its apparent size.
The caller survives anything the script does: the script is another process, and we never buffer its output.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import secrets
import selectors
import shutil
import signal
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any

from recast_engine.verify.summary_line import SummaryCatcher

log = logging.getLogger(__name__)

BOOTSTRAP = Path(__file__).with_name("sandbox_bootstrap.py")
STDERR_TAIL_BYTES = 8192
DISK_SCAN_SECONDS = 0.25
SANDBOX_UIDS = (1_000_000, 2_000_000_000)
PR_SET_DUMPABLE = 4

MEMORY_PATTERNS = re.compile(r"MemoryError|std::bad_alloc|Cannot allocate memory|out of memory|Unable to allocate",
                             re.IGNORECASE)
FILE_SIZE_PATTERNS = re.compile(r"File too large|\[Errno 27\]")
NETWORK_PATTERNS = re.compile(
    r"network access blocked|Network is unreachable|\[Errno 101\]|Temporary failure in name resolution|"
    r"Name or service not known|Connection refused|\[Errno 111\]|Cannot assign requested address|\[Errno 99\]"
)
# what the seccomp filter answers a denied call (EPERM), e.g. socket(AF_INET) where there is no network namespace
SECCOMP_DENIED = re.compile(r"PermissionError: \[Errno 1\] Operation not permitted")
PROCESS_PATTERNS = re.compile(r"BlockingIOError: \[Errno 11\]|Resource temporarily unavailable|can't start new thread")


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = 300.0
    cpu_seconds: float | None = None  # None: the same as timeout_seconds
    memory_mb: int | None = 2048  # address space (RLIMIT_AS); pandas + pyarrow need ~1 GB of it just to start
    file_size_mb: int | None = 4096  # any single file the script writes, the output included
    max_processes: int | None = 256  # processes and threads of the run (numpy/pyarrow start a few threads)
    log_cap_mb: float = 8.0  # stdout + stderr
    disk_mb: int | None = 8192  # everything the script writes in its folder, in allocated blocks (holes are free)
    max_files: int | None = 10_000  # files, folders and links the script creates
    namespaces: bool = True  # False: skip the namespace and uid layers (the fallback of machines without them)
    seccomp: bool = True  # False: no seccomp filter (sandbox_seccomp)

    def cpu_limit(self) -> int:
        return max(1, round(self.cpu_seconds if self.cpu_seconds is not None else self.timeout_seconds))


@dataclass
class RunResult:
    ok: bool
    returncode: int | None  # negative: killed by that signal
    reason: str  # "ok" or what went wrong, in words
    stderr_tail: str = ""
    summary_line: str = ""  # the script's warnings summary line, whole (SummaryCatcher); "" when it printed none
    wall_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    output_bytes: int = 0
    stdout_bytes: int = 0
    isolation: list[str] = field(default_factory=list)  # layers applied, e.g. ["netns", "mountns", "pidns", "uid"]
    unavailable: dict[str, str] = field(default_factory=dict)  # layers the machine refused, with the reason

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def network_isolation() -> str:
    """What GET /health shows: the layers a script run really gets in this process's environment, joined by "+",
    e.g. "netns+mountns+pidns+uid+no_new_privs+seccomp" (root with namespaces),
    "userns+netns+mountns+pidns+no_new_privs+seccomp" (non-root where unprivileged user namespaces are allowed),
    "no_new_privs+socket-guard+seccomp" (no namespaces: seccomp then denies sockets other than AF_UNIX). A layer
    the machine refused follows with its reason, e.g. "...+no_new_privs; without seccomp: the kernel has no
    seccomp filter support (CONFIG_SECCOMP_FILTER)". "unavailable: ..." when the sandbox cannot run.
    Always present in the fallback: limits, deadline, scrubbed environment; see deploy/k8s/deployment-tester.yaml.
    """
    layers = isolation_layers()
    if not isinstance(layers, tuple):
        return layers
    missing = "".join(f"; without {layer}: {why}" for layer, why in _probed_unavailable.items())
    coverage = disk_quota_coverage() if "uid" in layers else "full"
    quota = "" if coverage == "full" else f"; disk quota {coverage}"
    return "+".join(layers) + missing + quota


_probed_layers: list[tuple[str, ...]] = []
_probed_unavailable: dict[str, str] = {}


def isolation_layers() -> tuple[str, ...] | str:
    """The layers of a real run of a no-op script (probed once it succeeds: it starts the sandbox), or why it failed.
    A real run rather than a syscall probe: which layers apply depends on the uid, the user namespace fallback,
    seccomp/AppArmor and the mounts, which only the bootstrap itself finds out."""
    if _probed_layers:
        return _probed_layers[0]
    with tempfile.TemporaryDirectory(prefix="recast-sandbox-probe-") as folder:
        script, source = Path(folder) / "probe.py", Path(folder) / "probe.csv"
        script.write_text("import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n", encoding="utf-8")
        source.write_text("probe\n1\n", encoding="utf-8")
        result = run_script(script, source, Path(folder) / "out.csv", Limits(timeout_seconds=30, max_processes=64))
    if not result.ok:  # not kept: a busy machine may time the probe out once
        return f"unavailable: {result.reason}"
    _probed_layers.append(tuple(result.isolation))
    _probed_unavailable.update(result.unavailable)
    return _probed_layers[0]


def run_script(script: Path, input_path: Path, output_path: Path, limits: Limits | None = None) -> RunResult:
    """Blocking (call it in a thread from async code). Never raises for anything the script does."""
    limits = limits or Limits()
    script, input_path, output_path = Path(script), Path(input_path), Path(output_path)
    for path, what in ((script, "script"), (input_path, "input")):
        if not path.is_file():
            return RunResult(ok=False, returncode=None, reason=f"the {what} {path} does not exist")
    if os.geteuid() != 0:
        _hide_caller_from_scripts()
    work = Path(tempfile.mkdtemp(prefix="recast-sandbox-"))
    try:
        return _run_in(work, script, input_path, output_path, limits)
    finally:
        _remove_tree(work)


def _run_in(work: Path, script: Path, input_path: Path, output_path: Path, limits: Limits) -> RunResult:
    # a uid of its own needs root and the mount namespace (to reach the interpreter): the bootstrap decides for good
    uid = secrets.SystemRandom().randrange(*SANDBOX_UIDS) if os.geteuid() == 0 and limits.namespaces else None
    inner_script = work / "script.py"
    inner_input = work / ("input" + (input_path.suffix or ".csv"))
    inner_output = work / ("output" + (output_path.suffix or ".csv"))
    shutil.copyfile(script, inner_script)
    shutil.copyfile(input_path, inner_input)  # a copy, not a link: the script must not reach the original
    for path in (inner_script, inner_input):
        path.chmod(0o444)
    if uid is not None:  # root must still enter the folder, without CAP_DAC_OVERRIDE (see the k8s manifest)
        work.chmod(0o711)
        for path in (inner_script, inner_input, work):
            os.chown(path, uid, uid)
    env = _scrubbed_env(work)
    config = {
        "work": str(work),
        "uid": uid,
        "namespaces": limits.namespaces,
        "seccomp": limits.seccomp,
        "python": sys.executable,
        "script": str(inner_script),
        "input": str(inner_input),
        "output": str(inner_output),
        "env": env,
        "needed_paths": _interpreter_paths() + [str(work)],
        "limits": {
            "cpu_seconds": limits.cpu_limit(),
            "memory_bytes": limits.memory_mb * 2**20 if limits.memory_mb else None,
            "file_size_bytes": limits.file_size_mb * 2**20 if limits.file_size_mb else None,
            "max_processes": limits.max_processes,
        },
    }
    run = _Monitor(limits, placed=(inner_script.name, inner_input.name)).run(
        [sys.executable, "-I", "-S", str(BOOTSTRAP), "{fd}", json.dumps(config)], work, env, uid
    )
    if uid is not None:
        _take_back(work)
    result = _classify(run, limits)
    if result.ok:
        _deliver_output(inner_output, output_path, result)
    return result


@cache
def _hide_caller_from_scripts() -> None:
    """Make this process non-dumpable, once. Without root the script runs under the caller's uid (with or without a
    user namespace), and a process may read /proc/<pid>/environ, maps and memory of any dumpable process of its
    uid: the tester's environment holds the database and S3 credentials. A non-dumpable process can only be read
    by one with CAP_SYS_PTRACE in its user namespace, which the script never has. Costs: no core dumps, and
    debuggers must run as root."""
    try:
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            log.warning("sandbox: could not make the caller non-dumpable: errno %d", ctypes.get_errno())
    except (OSError, AttributeError) as error:
        log.warning("sandbox: could not make the caller non-dumpable: %s", error)


def _interpreter_paths() -> list[str]:
    """What the script's interpreter needs to see: itself, its prefixes, the standard library and installed
    packages, all taken from the installation (sys prefixes, sysconfig, site), never from sys.path.

    sys.path is the caller's state, not the interpreter's: `python -m pytest` (what `make test` runs) puts the
    working folder, the repository root, at its front, and tests or plugins insert folders. Exposing it made what
    the script could read depend on how the tester was started (it read pyproject.toml under `make test`, not
    under `.venv/bin/pytest`), so the sandbox's file view must be a function of the installation alone."""
    prefixes = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    site_packages = site.getsitepackages() if hasattr(site, "getsitepackages") else []
    paths = {sys.executable, os.path.realpath(sys.executable), *prefixes, *sysconfig.get_paths().values(),
             *site_packages}
    return sorted(p for p in paths if p and os.path.isabs(p) and os.path.exists(p))


def _scrubbed_env(work: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(work),
        "TMPDIR": str(work),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        # numeric libraries start a thread per core otherwise, which counts against max_processes
        "OMP_NUM_THREADS": "2",
        "OPENBLAS_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2",
    }


@dataclass
class _Run:
    returncode: int | None = None
    wall_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    stderr_tail: bytes = b""
    summary: SummaryCatcher = field(default_factory=SummaryCatcher)
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    timed_out: bool = False
    too_chatty: bool = False
    over_quota: str = ""  # what the script wrote past Limits.disk_mb / max_files, in words
    started: bool = True
    status: dict[str, Any] = field(default_factory=dict)


class _Monitor:
    """Starts the bootstrap and watches it: reads its pipes as they fill, enforces the deadline, reaps it."""

    def __init__(self, limits: Limits, placed: tuple[str, ...] = ()) -> None:
        self.limits = limits
        self.placed = placed  # files the sandbox put in the work folder (not the script's writes)
        self.run_state = _Run()
        self.status_bytes = b""
        self.next_scan = 0.0

    def _check_disk(self, work: Path, final: bool = False) -> bool:
        """True when the script's writes passed the disk quota (scanned at most every DISK_SCAN_SECONDS)."""
        limits = self.limits
        if limits.disk_mb is None and limits.max_files is None:
            return False
        now = time.monotonic()
        if not final and now < self.next_scan:
            return False
        self.next_scan = now + DISK_SCAN_SECONDS
        max_bytes = limits.disk_mb * 2**20 if limits.disk_mb is not None else None
        used, files = disk_usage(work, self.placed, max_bytes, limits.max_files)
        if max_bytes is not None and used > max_bytes:
            self.run_state.over_quota = f"disk quota exceeded: wrote more than {limits.disk_mb} MB"
        elif limits.max_files is not None and files > limits.max_files:
            self.run_state.over_quota = f"disk quota exceeded: created more than {limits.max_files} files"
        return bool(self.run_state.over_quota)

    def run(self, argv: list[str], work: Path, env: dict[str, str], uid: int | None) -> _Run:
        state = self.run_state
        status_read, status_write = os.pipe()
        argv = [str(status_write) if a == "{fd}" else a for a in argv]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, pass_fds=(status_write,), start_new_session=True)
        except OSError as error:
            os.close(status_read)
            os.close(status_write)
            state.started, state.stderr_tail = False, str(error).encode()
            return state
        os.close(status_write)
        status_file = os.fdopen(status_read, "rb", buffering=0)
        streams: list[IO[bytes]] = [s for s in (proc.stdout, proc.stderr, status_file) if s is not None]  # pipes
        deadline = start + self.limits.timeout_seconds
        cap = int(self.limits.log_cap_mb * 2**20)
        with selectors.DefaultSelector() as selector:
            for stream in streams:
                os.set_blocking(stream.fileno(), False)
                selector.register(stream, selectors.EVENT_READ)
            exit_fd = _pidfd(proc.pid)  # readable once the bootstrap exits: no polling delay at the end
            if exit_fd is not None:
                selector.register(exit_fd, selectors.EVENT_READ)
            usage = None
            while usage is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    state.timed_out = True
                    usage = self._kill_and_reap(proc, uid)
                    break
                for key, _ in selector.select(timeout=min(remaining, 0.2)):
                    if key.fileobj == exit_fd:
                        selector.unregister(exit_fd)
                    else:
                        self._read(key.fileobj, proc, selector)
                if state.stdout_bytes + state.stderr_bytes > cap:
                    state.too_chatty = True
                    usage = self._kill_and_reap(proc, uid)
                    break
                if self._check_disk(work):
                    usage = self._kill_and_reap(proc, uid)
                    break
                pid, wait_status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    proc.returncode = os.waitstatus_to_exitcode(wait_status)
                    usage = rusage
            state.wall_seconds = time.monotonic() - start
            self._kill_leftovers(proc, uid)
            if exit_fd is not None:
                if exit_fd in selector.get_map():
                    selector.unregister(exit_fd)
                os.close(exit_fd)
            self._drain(selector, proc)
        if not state.over_quota:
            self._check_disk(work, final=True)  # what a fast writer wrote since the last scan
        for stream in streams:
            stream.close()
        state.status = self._status()
        if state.status.get("errors"):
            log.warning("sandbox isolation incomplete: %s", "; ".join(map(str, state.status["errors"])))
        # the script's own end, as reported by the PID namespace's init (which cannot die of most signals)
        script_exit = state.status.get("script_exit")
        state.returncode = script_exit if isinstance(script_exit, int) and not state.timed_out else proc.returncode
        script_rss_kb = state.status.get("script_peak_rss_kb")
        if isinstance(script_rss_kb, int):
            state.peak_rss_mb = script_rss_kb / 1024
        else:  # no PID namespace: the bootstrap's figure, which may include the tester's RSS at the fork
            state.peak_rss_mb = usage.ru_maxrss / 1024 if usage else 0.0
        return state

    def _status(self) -> dict[str, Any]:
        status: dict[str, Any] = {}
        for line in self.status_bytes.splitlines():
            try:
                status.update(json.loads(line))
            except ValueError:
                continue
        return status

    def _read(self, stream: Any, proc: subprocess.Popen[bytes], selector: selectors.BaseSelector) -> None:
        try:
            data = os.read(stream.fileno(), 1 << 16)
        except BlockingIOError:
            return
        if not data:
            selector.unregister(stream)
            return
        state = self.run_state
        if stream is proc.stdout:
            state.stdout_bytes += len(data)
        elif stream is proc.stderr:
            state.stderr_bytes += len(data)
            state.stderr_tail = (state.stderr_tail + data)[-STDERR_TAIL_BYTES:]
            state.summary.feed(data)
        else:
            self.status_bytes = (self.status_bytes + data)[:65536]

    def _drain(self, selector: selectors.BaseSelector, proc: subprocess.Popen[bytes]) -> None:
        """What the pipes still hold, without waiting on leftovers that keep them open."""
        for _ in range(64):
            if not selector.get_map():
                return
            ready = selector.select(timeout=0.05)
            if not ready:
                return
            for key, _ in ready:
                self._read(key.fileobj, proc, selector)

    def _kill_and_reap(self, proc: subprocess.Popen[bytes], uid: int | None) -> Any:
        _kill_group(proc.pid)
        self._kill_escapees(uid)
        _, wait_status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        return usage

    def _kill_leftovers(self, proc: subprocess.Popen[bytes], uid: int | None) -> None:
        # the script's own children that outlived it (with a PID namespace the kernel already killed them)
        _kill_group(proc.pid)
        self._kill_escapees(uid)

    def _kill_escapees(self, uid: int | None) -> None:
        """Processes that left the group: with a PID namespace the kernel killed them already."""
        applied = self._applied()
        if "uid" in applied and "pidns" not in applied:
            _kill_uid(uid)

    def _applied(self) -> list[str]:
        return list(self._status().get("applied", []))


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_uid(uid: int | None) -> None:
    """SIGKILL every process of the run's own uid (catches ones that left the process group)."""
    if uid is None:
        return
    code = f"import os,signal; os.setgroups([]); os.setresgid({uid},{uid},{uid}); os.setresuid({uid},{uid},{uid}); " \
           "os.kill(-1, signal.SIGKILL)"
    try:
        subprocess.run([sys.executable, "-I", "-S", "-c", code], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, env={}, check=False)
    except (OSError, subprocess.SubprocessError):
        pass


def _classify(run: _Run, limits: Limits) -> RunResult:
    tail = run.stderr_tail.decode("utf-8", "replace")
    result = RunResult(ok=False, returncode=run.returncode, reason="", stderr_tail=tail,
                       summary_line=run.summary.text(), wall_seconds=round(run.wall_seconds, 3),
                       peak_rss_mb=round(run.peak_rss_mb, 1),
                       stdout_bytes=run.stdout_bytes, isolation=list(run.status.get("applied", [])),
                       unavailable=dict(run.status.get("unavailable", {})))
    result.reason = _reason(run, limits, tail)
    result.ok = result.reason == "ok"
    return result


def _reason(run: _Run, limits: Limits, tail: str) -> str:
    code = run.returncode
    if not run.started:
        return f"the sandbox could not start: {tail}"
    if run.timed_out:
        return f"timed out after {limits.timeout_seconds:g} s"
    if run.too_chatty:
        return f"printed more than {limits.log_cap_mb:g} MB to stdout/stderr: stopped"
    if run.over_quota:
        return run.over_quota
    if code is None:
        return "the script did not finish"
    if code != 0 and not run.status:
        return f"the sandbox failed to start (exit code {code}): {_last_line(tail)}"
    if code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return f"CPU time limit exceeded ({limits.cpu_limit()} s)"
        if sig == signal.SIGXFSZ:
            return f"output exceeded {limits.file_size_mb} MB"
        if MEMORY_PATTERNS.search(tail):
            return f"memory limit exceeded ({limits.memory_mb} MB)"
        return f"killed by signal {signal.Signals(sig).name}" if sig in signal.valid_signals() else \
            f"killed by signal {sig}"
    if code != 0:
        last = _last_line(tail)
        if MEMORY_PATTERNS.search(last):
            return f"memory limit exceeded ({limits.memory_mb} MB)"
        if FILE_SIZE_PATTERNS.search(last):
            return f"output exceeded {limits.file_size_mb} MB"
        if NETWORK_PATTERNS.search(last) or (SECCOMP_DENIED.search(last) and "socket" in tail):
            return f"network access blocked: {last}"
        if PROCESS_PATTERNS.search(tail):
            return f"process limit exceeded ({limits.max_processes} processes)"
        if MEMORY_PATTERNS.search(tail):
            return f"memory limit exceeded ({limits.memory_mb} MB)"
        return f"exit code {code}: {last}" if last else f"exit code {code}"
    return "ok"


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _last_line(text: str) -> str:
    """The last exception line of a traceback (e.g. "ValueError: ..."), else the last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if EXCEPTION_LINE.match(line)]
    chosen = errors[-1] if errors else (lines[-1] if lines else "")
    return chosen[:300]


def _deliver_output(inner_output: Path, output_path: Path, result: RunResult) -> None:
    try:
        info = inner_output.lstat()
    except FileNotFoundError:
        result.ok, result.reason = False, "the script wrote no output file"
        return
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        result.ok, result.reason = False, "the output is not a regular file"
        return
    if _has_holes(inner_output, info.st_size):
        result.ok, result.reason = False, (f"the output is a sparse file ({info.st_size} bytes, of which only "
                                           f"{info.st_blocks * 512} written): refused")
        return
    output_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(inner_output, output_path)
    except OSError:  # another file system: copy without following links
        shutil.copyfile(inner_output, output_path, follow_symlinks=False)
    if os.geteuid() == 0:
        os.chown(output_path, 0, 0)
    output_path.chmod(0o644)
    result.output_bytes = info.st_size


def _take_back(path: Path) -> None:
    """As root, own again what the run's uid owns: chown needs CAP_CHOWN only, where reaching into another uid's
    0700 folder would need CAP_DAC_OVERRIDE (which the tester pod does not get)."""
    if os.geteuid() != 0:
        return
    try:
        os.chown(path, 0, 0, follow_symlinks=False)
    except OSError:
        pass


def _remove_tree(path: Path) -> None:
    """Remove the work folder whatever the script left in it (read-only folders, files of another uid), never
    following a link: every step works on a file descriptor opened with O_NOFOLLOW relative to its parent's, so a
    symlink the script planted (even one swapped in for a folder meanwhile) is unlinked, not entered or changed."""
    try:
        parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        log.warning("sandbox: could not remove %s: %s", path, error)
        return
    try:
        _remove_entry(parent, path.name)
    except OSError as error:
        log.warning("sandbox: could not remove %s: %s", path, error)
    finally:
        os.close(parent)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _remove_entry(parent_fd: int, name: str, depth: int = 0) -> None:
    """Remove `name` in the folder `parent_fd`: a folder with everything in it, anything else unlinked."""
    try:
        folder = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        return
    except OSError:  # not a folder (a file, a symlink: ELOOP/ENOTDIR), or one we may not open yet
        taken = _open_folder_taken_back(parent_fd, name)
        if taken is None:
            _unlink(parent_fd, name)
            return
        folder = taken
    try:
        if depth > 512:
            raise OSError(f"sandbox work folder nested deeper than 512 levels at {name}")
        _take_back_fd(folder)
        for entry in _entries(folder):
            _remove_entry(folder, entry, depth + 1)
    finally:
        os.close(folder)
    os.rmdir(name, dir_fd=parent_fd)


def _open_folder_taken_back(parent_fd: int, name: str) -> int | None:
    """A folder the script made unreadable to us: own it again and retry (still without following a link)."""
    try:
        info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        return None
    try:
        if os.geteuid() == 0:
            os.chown(name, 0, 0, dir_fd=parent_fd, follow_symlinks=False)
        # O_PATH opens without read permission and without following a link; fchmod through it is not
        # allowed, so the mode is set through /proc/self/fd of that very descriptor (no path lookup of ours)
        handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY, dir_fd=parent_fd)
        try:
            os.chmod(f"/proc/self/fd/{handle}", 0o700)
        finally:
            os.close(handle)
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        return None


def _take_back_fd(folder: int) -> None:
    try:
        if os.geteuid() == 0:
            os.fchown(folder, 0, 0)
        os.fchmod(folder, 0o700)
    except OSError:
        pass


def _entries(folder: int) -> list[str]:
    with os.scandir(folder) as listing:
        return [entry.name for entry in listing]


def _unlink(parent_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=parent_fd)
    except FileNotFoundError:
        pass


def _has_holes(path: Path, size: int) -> bool:
    """True when the file has a hole (a range never written, read back as NUL bytes) before its end."""
    if size == 0:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return True
    try:
        return os.lseek(fd, 0, os.SEEK_HOLE) < size
    except OSError:  # no SEEK_HOLE here: allocated blocks far below the size say the same
        return os.fstat(fd).st_blocks * 512 + 2**20 < size
    finally:
        os.close(fd)


def _open_folder_to_count(parent_fd: int, name: str) -> int | None:
    """The folder, opened for the quota scan; one the script closed (e.g. chmod 0o300) is opened up for its owner
    when this process may (it is the owner, or holds CAP_FOWNER), through an O_PATH descriptor, never a link."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:
        pass
    except OSError:
        return None
    try:
        handle = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError:
        return None
    try:
        via = f"/proc/self/fd/{handle}"
        os.chmod(via, stat.S_IMODE(os.stat(via).st_mode) | stat.S_IRWXU)
        return os.open(via, _DIR_FLAGS)
    except OSError:
        return None  # another uid's folder without CAP_FOWNER / CAP_DAC_READ_SEARCH: see disk_quota_coverage()
    finally:
        os.close(handle)


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _effective_capabilities() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


def disk_quota_coverage() -> str:
    """"full", or "partial: why": what GET /health says of the disk quota. Root running scripts under uids of
    their own (the tester pod) enters a folder a script closed to others only with CAP_DAC_READ_SEARCH,
    CAP_DAC_OVERRIDE or CAP_FOWNER; deploy/k8s/deployment-tester.yaml grants none of them."""
    if os.geteuid() != 0:
        return "full"  # the script's folders are this uid's: the scan opens up a closed one
    held = _effective_capabilities()
    if any(held >> cap & 1 for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER)):
        return "full"
    return ("partial: the tester is root without CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE or CAP_FOWNER, so the "
            "quota scan cannot enter a folder a script closes to others (chmod 700): what it holds is not "
            "counted; per file RLIMIT_FSIZE and the volume's size limit still bound it (docs/runbook.md)")


def disk_usage(folder: Path, placed: tuple[str, ...] = (), max_bytes: int | None = None,
               max_files: int | None = None) -> tuple[int, int]:
    """(allocated bytes, entries) under `folder`, never following a link, without the top-level `placed` files;
    stops counting once either limit is passed. Folders it may not enter count as one entry each."""
    totals = [0, 0]

    def over() -> bool:
        return (max_bytes is not None and totals[0] > max_bytes) or (max_files is not None and totals[1] > max_files)

    def walk(fd: int, skip: tuple[str, ...], depth: int) -> None:
        with os.scandir(fd) as listing:
            for entry in listing:
                if entry.name in skip:
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                totals[0] += info.st_blocks * 512
                totals[1] += 1
                if over():
                    return
                if stat.S_ISDIR(info.st_mode) and depth < 512:
                    child = _open_folder_to_count(fd, entry.name)
                    if child is None:
                        continue
                    try:
                        walk(child, (), depth + 1)
                    finally:
                        os.close(child)
                    if over():
                        return

    try:
        top = os.open(folder, _DIR_FLAGS)
    except OSError:
        return 0, 0
    try:
        walk(top, placed, 0)
    except OSError:
        pass
    finally:
        os.close(top)
    return totals[0], totals[1]
