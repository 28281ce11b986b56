"""Runs inside the sandbox child before the untrusted script: isolates it, then execs `python -I SCRIPT IN OUT`.

Started by verify.sandbox as `python -I -S sandbox_bootstrap.py STATUS_FD CONFIG_JSON`. Standard library only and
not imported by anything: it must work without the project on sys.path.

Layers, each applied when the machine allows it (the applied ones are reported as JSON on STATUS_FD):
- "userns":   (only when not started as root) a user namespace mapping our own ids, which lets an ordinary
              user create the namespaces below; the script, exec'd with a non-zero uid, keeps no capability.
- "netns":    a new network namespace (only a loopback that is down): no network at all.
- "pidns":    a new PID namespace; the script is its init, so when it ends (or is killed) every process it
              started dies with it. /proc is remounted so it shows only the sandbox's own processes.
- "mountns":  a private mount namespace where every mount is read-only except the work folder. Every top-level
              folder but the system ones (SYSTEM_FOLDERS: /usr, /etc, /lib, ...), plus /dev/shm and those the
              sandbox user could not enter anyway (e.g. /root holding pyenv), is replaced by an empty tmpfs
              showing only the paths the run needs (interpreter, its libraries, the work folder). An allowlist,
              not a list of where data usually lives: a checkout under /check or /data is hidden all the same.
- "uid":      (when started as root) a fresh unprivileged uid/gid per run, no capabilities, no_new_privs.
              Besides the obvious, this is what makes RLIMIT_NPROC bind: the kernel ignores it for root, and it
              counts every process of the uid, so a uid of its own gives each run an exact process budget.
- "socket-guard": without netns, socket creation is replaced by a function raising PermissionError before the
              script runs (a cooperative guard: a determined script could get around it; netns cannot be).
- "seccomp":  a seccomp filter denying the syscalls listed in sandbox_seccomp (nested namespaces, mounts, ptrace,
              bpf, io_uring, sockets other than AF_UNIX, ...), installed last, after no_new_privs. Where the kernel
              refuses it, the status says why under "unavailable" (GET /health shows it).
"""
from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import resource
import signal
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 1, 38, 24
SYS_MOUNT_SETATTR = {"x86_64": 442, "aarch64": 442}
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 0x1
# the only top-level folders the sandbox sees whole; every other one shows only the paths the run needs
SYSTEM_FOLDERS = frozenset({"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc",
                            "/sys"})
HIDDEN_INSIDE_SYSTEM = ("/dev/shm",)

_libc = ctypes.CDLL(None, use_errno=True)

SOCKET_GUARD = """
import socket as _s, _socket as _cs
def _blocked(*a, **k):
    raise PermissionError(1, "network access blocked by the Recast sandbox")
for _m in (_s, _cs):
    for _n in ("socket", "socketpair", "create_connection", "create_server", "fromfd", "getaddrinfo",
               "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        if hasattr(_m, _n):
            setattr(_m, _n, _blocked)
del _s, _cs, _m, _n, _blocked
import runpy as _runpy, sys as _sys
_sys.argv = _sys.argv[1:]
_runpy.run_path(_sys.argv[0], run_name="__main__")
"""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _mount_points() -> list[str]:
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4].encode().decode("unicode_escape") for line in handle]
    return sorted(set(points), key=len)


def _make_all_read_only() -> None:
    number = SYS_MOUNT_SETATTR.get(os.uname().machine)
    if number is not None:
        attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
        if _libc.syscall(number, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)) == 0:
            return
    for point in _mount_points():  # older kernels: one remount per mount point
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        except OSError:
            pass


def _blocking_ancestors(paths: set[str]) -> set[str]:
    """Folders others cannot enter on the way to `paths` (e.g. /root, 0700, holding a pyenv interpreter)."""
    blocking = set()
    for path in paths:
        parts = path.strip("/").split("/")
        for depth in range(len(parts)):
            folder = "/" + "/".join(parts[:depth])
            if not os.stat(folder).st_mode & 0o001:
                blocking.add(folder)
                break
    return blocking


def _outermost(paths: set[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(paths, key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _expose_only(folder: str, paths: list[str]) -> None:
    """Cover `folder` with an empty tmpfs (mode 755) holding bind mounts of `paths` (inside it) only."""
    handles = {path: os.open(path, os.O_PATH) for path in paths}
    is_dir = {path: os.path.isdir(f"/proc/self/fd/{fd}") for path, fd in handles.items()}
    _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    for path, fd in handles.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if is_dir[path]:
            os.makedirs(path, exist_ok=True)
        elif not os.path.exists(path):
            open(path, "w").close()
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)


def _data_folders() -> list[str]:
    top_level = [os.path.join("/", name) for name in os.listdir("/")]
    return [folder for folder in top_level if folder not in SYSTEM_FOLDERS] + list(HIDDEN_INSIDE_SYSTEM)


def _hide_all_but(needed: set[str]) -> None:
    """Replace the folders where data lives (and the ones the sandbox user could not enter anyway) by empty
    ones that show only the paths the run needs: the interpreter, its libraries, the work folder."""
    folders = {f for f in _data_folders() if os.path.isdir(f) and not os.path.islink(f)} | _blocking_ancestors(needed)
    for folder in sorted(folders, key=len):  # outer first: an inner one is then hidden inside what stays visible
        if not os.path.isdir(folder) or any(p == folder or folder.startswith(p.rstrip("/") + "/") for p in needed):
            continue  # gone, or needed as a whole
        _expose_only(folder, _outermost({p for p in needed if p.startswith(folder.rstrip("/") + "/")}))


def _enter_user_namespace() -> bool:
    """Without root: a user namespace (mapping our own ids) lets an ordinary user create the other namespaces.
    Its capabilities are lost when the script is exec'd (a non-zero uid keeps none across execve)."""
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER) != 0:
        return False
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    except OSError:
        pass  # ids show as nobody inside; permissions still follow the real ids
    return True


def _setup_mounts(work: str, needed_paths: list[str], hide: bool) -> None:
    os.umask(0o022)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(work, work, None, MS_BIND)
    if hide:
        needed = {os.path.realpath(p) for p in needed_paths if os.path.exists(p)}
        needed |= {os.path.abspath(p) for p in needed_paths if os.path.isdir(p) and not os.path.islink(p)}
        _hide_all_but(needed)
    _make_all_read_only()
    _mount(None, work, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)  # writable again


def _mount_proc() -> None:
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        pass


def _drop_privileges(uid: int) -> None:
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _set_limits(limits: dict[str, int]) -> None:
    def cap(kind: int, value: int | None) -> None:
        if value is not None:
            resource.setrlimit(kind, (value, value))

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = limits.get("cpu_seconds")
    if cpu is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    cap(resource.RLIMIT_AS, limits.get("memory_bytes"))
    cap(resource.RLIMIT_FSIZE, limits.get("file_size_bytes"))
    cap(resource.RLIMIT_NPROC, limits.get("max_processes"))


def _fork_and_relay(status_fd: int, report: bool) -> None:
    """Fork; the child returns. The parent waits for it and ends the same way, never returning; with `report`
    it also writes how the child ended on the status pipe (an init cannot die of most signals it sends itself).
    """
    child = os.fork()
    if child == 0:
        return
    for fd in (0, 1, 2):
        os.close(fd)
    while True:
        try:
            _, status, usage = os.wait4(child, 0)
            break
        except InterruptedError:
            continue
    if report:
        # The script's own peak RSS: the tester's wait4 on the bootstrap would also count the tester's memory,
        # which the kernel records as the bootstrap's high-water mark when it execs after the tester forked it.
        ended = {"script_exit": os.waitstatus_to_exitcode(status), "script_peak_rss_kb": usage.ru_maxrss}
        os.write(status_fd, (json.dumps(ended) + "\n").encode())
    os.close(status_fd)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # still alive: we are an init, which ignores this signal
    os._exit(os.waitstatus_to_exitcode(status))


def _load_seccomp() -> Any:
    """sandbox_seccomp, loaded by path now: the mount namespace may hide this folder later."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_seccomp.py")
    spec = importlib.util.spec_from_file_location("recast_sandbox_seccomp", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _install_seccomp(seccomp: Any, applied: list[str], unavailable: dict[str, str], errors: list[str]) -> None:
    if seccomp is None:
        errors.append("seccomp: sandbox_seccomp.py not found")
        return
    try:
        seccomp.install()
        applied.append("seccomp")
    except seccomp.SeccompUnavailable as reason:
        unavailable["seccomp"] = str(reason)
    except OSError as error:
        errors.append(f"seccomp: {error}")


def main() -> None:
    status_fd, config = int(sys.argv[1]), json.loads(sys.argv[2])
    os.set_inheritable(status_fd, False)
    seccomp = _load_seccomp() if config.get("seccomp", True) else None
    applied: list[str] = []
    unavailable: dict[str, str] = {}
    flags = 0
    in_user_namespace = config.get("namespaces", True) and os.geteuid() != 0 and _enter_user_namespace()
    if in_user_namespace:
        applied.append("userns")
    for flag, name in ((CLONE_NEWNET, "netns"), (CLONE_NEWNS, "mountns"), (CLONE_NEWPID, "pidns")):
        if config.get("namespaces", True) and _libc.unshare(flag) == 0:
            flags |= flag
            applied.append(name)
    if flags & CLONE_NEWPID:
        _fork_and_relay(status_fd, report=False)
        # from here on: init of the new PID namespace, which dies when the bootstrap parent dies (e.g. killed)
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    errors: list[str] = []
    drop_uid = bool(os.geteuid() == 0 and config.get("uid") and flags & CLONE_NEWNS)
    if flags & CLONE_NEWNS:
        try:
            _setup_mounts(config["work"], config["needed_paths"], hide=drop_uid or in_user_namespace)
            if flags & CLONE_NEWPID:
                _mount_proc()
        except OSError as error:
            errors.append(f"mount setup: {error}")
            applied.remove("mountns")
            drop_uid = False
    if config.get("uid") and not drop_uid and os.geteuid() == 0:
        # staying root: take the folder back, root may lack CAP_DAC_OVERRIDE to write in another uid's folder
        try:
            os.chown(config["work"], 0, 0)
        except OSError as error:
            errors.append(f"work folder: {error}")
    os.chdir(config["work"])
    if drop_uid:
        try:
            _drop_privileges(config["uid"])
            applied.append("uid")
        except OSError as error:
            errors.append(f"drop privileges: {error}")
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        applied.append("no_new_privs")
    if flags & CLONE_NEWPID:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # a uid change clears it: set it again
        # the script must not be the namespace's init: init ignores signals it has no handler for, SIGXCPU
        # (the CPU limit) included. This process stays init and ends the way the script ended.
        _fork_and_relay(status_fd, report=True)
    try:
        _set_limits(config["limits"])
    except (OSError, ValueError) as error:
        errors.append(f"limits: {error}")
    python, script, source, output = config["python"], config["script"], config["input"], config["output"]
    if flags & CLONE_NEWNET:
        argv = [python, "-I", script, source, output]
    else:
        applied.append("socket-guard")
        argv = [python, "-I", "-c", SOCKET_GUARD, script, source, output]
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    if config.get("seccomp", True):
        _install_seccomp(seccomp, applied, unavailable, errors)  # last: it denies calls made above
    status = {"applied": applied, "errors": errors, "unavailable": unavailable}
    os.write(status_fd, (json.dumps(status) + "\n").encode())
    os.close(status_fd)
    os.execve(python, argv, config["env"])


if __name__ == "__main__":
    main()
