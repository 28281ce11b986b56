"""A seccomp filter for the sandboxed script, built as a classic BPF program with `struct` and installed with
prctl through ctypes: no native dependency (no libseccomp).

Standard library only: sandbox_bootstrap loads this file by path, before the project is importable.

A deny list on top of the other layers (namespaces, uid, limits), for the calls that reach the kernel's larger
attack surface or undo the isolation. Each fails with EPERM (the script sees an ordinary PermissionError):
- namespaces: unshare, setns, and clone with any CLONE_NEW* flag (no nested user namespace, mount, PID...);
  clone3, whose flags sit in memory a filter cannot read, fails with ENOSYS so that libc falls back to clone;
- mounts and the root: mount, umount2, pivot_root, chroot and the new mount API (open_tree, fsopen, ...);
- other processes: ptrace, process_vm_readv/writev;
- kernel interfaces: bpf, perf_event_open, userfaultfd, io_uring (its operations bypass seccomp), keyrings,
  modules, kexec, reboot, swap, clock and host name changes, quotactl, acct, open_by_handle_at;
- network: socket() of any family but AF_UNIX (a real barrier where there is no network namespace);
- another ABI: a call made with another architecture's convention (e.g. i386 or x32 on x86_64) kills the process.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
NR_OFFSET, ARCH_OFFSET, ARG0_LOW_OFFSET = 0, 4, 16  # struct seccomp_data (little-endian: arg 0's low half)
X32_SYSCALL_BIT = 0x40000000
AF_UNIX = 1
CLONE_NAMESPACE_FLAGS = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC
                         | 0x10000000 | 0x20000000 | 0x40000000)  # NEWUSER, NEWPID, NEWNET

DENIED = ("unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen",
          "fsconfig", "fsmount", "fspick", "mount_setattr", "ptrace", "process_vm_readv", "process_vm_writev", "bpf",
          "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl",
          "add_key", "request_key", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
          "reboot", "swapon", "swapoff", "sethostname", "setdomainname", "settimeofday", "clock_settime", "adjtimex",
          "quotactl", "acct", "name_to_handle_at", "open_by_handle_at")

# Syscall numbers per machine (uname -m): x86_64 from asm/unistd_64.h, aarch64 from asm-generic/unistd.h.
_COMMON_NEW = {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
               "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435,
               "mount_setattr": 442}
SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "swapon": 167, "swapoff": 168,
        "reboot": 169, "sethostname": 170, "setdomainname": 171, "init_module": 175, "delete_module": 176,
        "kexec_load": 246, "kexec_file_load": 320, "finit_module": 313, "unshare": 272, "setns": 308, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "keyctl": 250, "add_key": 248, "request_key": 249, "clone": 56, "socket": 41, "acct": 163,
        "settimeofday": 164, "adjtimex": 159, "clock_settime": 227, "quotactl": 179, "name_to_handle_at": 303,
        "open_by_handle_at": 304, **_COMMON_NEW,
    },
    "aarch64": {
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "swapon": 224, "swapoff": 225, "reboot": 142,
        "sethostname": 161, "setdomainname": 162, "init_module": 105, "delete_module": 106, "kexec_load": 104,
        "kexec_file_load": 294, "finit_module": 273, "unshare": 97, "setns": 268, "ptrace": 117,
        "process_vm_readv": 270, "process_vm_writev": 271, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "keyctl": 219, "add_key": 217, "request_key": 218, "clone": 220, "socket": 198, "acct": 89,
        "settimeofday": 170, "adjtimex": 171, "clock_settime": 112, "quotactl": 60, "name_to_handle_at": 264,
        "open_by_handle_at": 265, **_COMMON_NEW,
    },
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}


class SeccompUnavailable(Exception):
    """The filter cannot be installed here; the message says why (shown by GET /health)."""


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _fail(errno_value: int) -> int:
    return SECCOMP_RET_ERRNO | errno_value


def build_program(machine: str) -> bytes:
    """The filter's instructions (struct sock_filter[]) for a machine named as by uname -m."""
    numbers = SYSCALLS.get(machine)
    if numbers is None:
        raise SeccompUnavailable(f"no syscall table for machine {machine}")
    program = [
        _insn(BPF_LD_W_ABS, ARCH_OFFSET),
        _insn(BPF_JEQ_K, AUDIT_ARCH[machine], jt=1),
        _insn(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        _insn(BPF_LD_W_ABS, NR_OFFSET),
    ]
    if machine == "x86_64":  # the x32 ABI shares the architecture value: its numbers carry this bit
        program += [_insn(BPF_JGE_K, X32_SYSCALL_BIT, jf=1), _insn(BPF_RET_K, _fail(errno.EPERM))]
    for name in DENIED:
        program += [_insn(BPF_JEQ_K, numbers[name], jf=1), _insn(BPF_RET_K, _fail(errno.EPERM))]
    program += [_insn(BPF_JEQ_K, _COMMON_NEW["clone3"], jf=1), _insn(BPF_RET_K, _fail(errno.ENOSYS))]
    # each block below ends in a return, so the accumulator holds the syscall number again after a skipped one
    program += [
        _insn(BPF_JEQ_K, numbers["clone"], jf=4),
        _insn(BPF_LD_W_ABS, ARG0_LOW_OFFSET),
        _insn(BPF_JSET_K, CLONE_NAMESPACE_FLAGS, jf=1),
        _insn(BPF_RET_K, _fail(errno.EPERM)),
        _insn(BPF_RET_K, SECCOMP_RET_ALLOW),
        _insn(BPF_JEQ_K, numbers["socket"], jf=4),
        _insn(BPF_LD_W_ABS, ARG0_LOW_OFFSET),
        _insn(BPF_JEQ_K, AF_UNIX, jf=1),
        _insn(BPF_RET_K, SECCOMP_RET_ALLOW),
        _insn(BPF_RET_K, _fail(errno.EPERM)),
        _insn(BPF_RET_K, SECCOMP_RET_ALLOW),
    ]
    return b"".join(program)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> None:
    """Install the filter on this process (inherited by its children and kept across execve). Needs
    no_new_privs (or CAP_SYS_ADMIN) first. Raises SeccompUnavailable with the reason when the kernel refuses."""
    program = build_program(platform.machine())
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        code = ctypes.get_errno()
        why = {errno.EINVAL: "the kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER)",
               errno.EACCES: "no_new_privs is not set and the process lacks CAP_SYS_ADMIN"}
        raise SeccompUnavailable(why.get(code, f"prctl(PR_SET_SECCOMP): {errno.errorcode.get(code, code)}"))
