"""The sandbox's seccomp filter: the kernel calls student code may not make, compiled once per zygote.

The rules are written with pyseccomp (libseccomp through ctypes) and exported as a BPF program
in the zygote, before it forks anything; each sandbox then installs the ready program with one
`seccomp(2)` call, so the pool's refill path pays no compilation. Everything is allowed except
what only an escape or a resource dodge needs: new namespaces, mounts, keyrings, BPF, perf,
io_uring, userfaultfd, tracing other processes, kernel modules and kexec, memory outside
RLIMIT_AS (memfd), signals queued with a siginfo of the caller's making, a new parent-death
signal, and every socket family but AF_UNIX. Calls from another architecture (the
32-bit entry points of x86_64) kill the process: libseccomp's default for a foreign arch.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket

from graders.sandbox.isolation import SandboxUnavailable

# Each denied call fails with EPERM, as if the kernel refused it: code that probes for a
# feature (torch, numpy, glibc) takes its fallback instead of dying.
DENIED = (
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "userfaultfd",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "memfd_create",
    "memfd_secret",
    # A process may queue itself a signal with a siginfo of its own making; with si_code
    # SI_KERNEL the kernel takes it for its own and delivers even SIGKILL to a PID namespace's
    # init, which it shields from every other signal from inside: the sandbox would die as if
    # killed from outside (not scored, back to the queue). kill, tkill and tgkill are allowed.
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
)
# Newer than this machine's libseccomp knows by name; numbered alike on every architecture
# since 5.1's unified table (424 and up).
DENIED_BY_NUMBER = {"open_tree_attr": 467}

CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)

SECCOMP_SET_MODE_FILTER = 1
PR_SET_PDEATHSIG = 1
SYSCALL_NUMBERS = {"x86_64": {"seccomp": 317}, "aarch64": {"seccomp": 277}}


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


_libc = ctypes.CDLL(None, use_errno=True)


def build_filter() -> bytes:
    """The compiled filter as BPF instructions (8 bytes each), ready for `install_filter`."""
    pyseccomp = _binding()
    deny = pyseccomp.ERRNO(errno.EPERM)
    try:
        rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        for name in DENIED:
            rules.add_rule(deny, name)
        for number in DENIED_BY_NUMBER.values():
            rules.add_rule(deny, number)
        for flag in CLONE_NAMESPACE_FLAGS:
            rules.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
        # clone3 passes its flags in memory, out of a filter's sight: ENOSYS makes glibc and
        # Python fall back to clone, whose flags the rules above do see.
        rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
        for call in ("socket", "socketpair"):
            rules.add_rule(deny, call, pyseccomp.Arg(0, pyseccomp.NE, socket.AF_UNIX))
        # The same forged siginfo through pidfd_send_signal; without one (NULL) it is a plain kill.
        rules.add_rule(deny, "pidfd_send_signal", pyseccomp.Arg(2, pyseccomp.NE, 0))
        # The parent-death signal is what ends a sandbox with its zygote (which is its keeper):
        # student code may not clear it. The kernel reads prctl's option as an int, so only its
        # low 32 bits are compared: 1 | 1 << 32 through syscall(2) is PR_SET_PDEATHSIG too.
        rules.add_rule(deny, "prctl", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, 0xFFFFFFFF, PR_SET_PDEATHSIG))
        return _export(rules)
    except OSError as error:
        raise SandboxUnavailable(f"building the seccomp filter failed: {error}") from None


def build_limits_filter() -> bytes:
    """A second filter, stacked by the runner once it has set the exercise's rlimits: no more changes.

    `setrlimit` is denied, and `prlimit64` with a new limit (glibc's getrlimit is prlimit64 with
    a NULL new limit, which keeps working). Without it, `setrlimit(RLIMIT_CPU, (0, 0))` had the
    kernel SIGKILL the sandbox, which the grader reads as a kill from outside (not the
    student's doing) and sends the submission back to the queue.
    """
    pyseccomp = _binding()
    try:
        rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        rules.add_rule(pyseccomp.ERRNO(errno.EPERM), "setrlimit")
        rules.add_rule(pyseccomp.ERRNO(errno.EPERM), "prlimit64", pyseccomp.Arg(2, pyseccomp.NE, 0))
        return _export(rules)
    except OSError as error:
        raise SandboxUnavailable(f"building the rlimit filter failed: {error}") from None


def build_exec_filter() -> bytes:
    """A filter for a "build it yourself" rule's sandbox: no execve or execveat.

    A rule takes torch's pieces away in the sandbox's own memory, which threads and forked
    children share; a program exec'd afresh (a new Python importing torch) would have them all.
    """
    pyseccomp = _binding()
    try:
        rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        for call in ("execve", "execveat"):
            rules.add_rule(pyseccomp.ERRNO(errno.EPERM), call)
        return _export(rules)
    except OSError as error:
        raise SandboxUnavailable(f"building the exec filter failed: {error}") from None


def _binding():
    try:
        import pyseccomp
    except (ImportError, RuntimeError) as error:  # RuntimeError: libseccomp.so.2 is missing
        raise SandboxUnavailable(f"the seccomp binding cannot be loaded: {error}") from None
    return pyseccomp


def _export(rules) -> bytes:
    read_end, write_end = os.pipe()
    try:
        with open(write_end, "wb", closefd=True) as sink:
            rules.export_bpf(sink)
        program = _read_all(read_end)
    finally:
        os.close(read_end)
    if not program or len(program) % 8:
        raise SandboxUnavailable(f"libseccomp exported a filter of {len(program)} bytes")
    return program


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def install_filter(program: bytes) -> None:
    """Install the filter on the calling thread (no_new_privs must be set): it lasts for good."""
    numbers = SYSCALL_NUMBERS.get(platform.machine())
    if numbers is None:
        raise SandboxUnavailable(f"no known seccomp syscall number for {platform.machine()}")
    instructions = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(instructions, ctypes.c_void_p))
    if _libc.syscall(numbers["seccomp"], SECCOMP_SET_MODE_FILTER, 0, ctypes.byref(fprog)) != 0:
        code = ctypes.get_errno()
        raise SandboxUnavailable(
            f"installing the seccomp filter failed: {os.strerror(code)} (errno {errno.errorcode.get(code, code)})"
        )
