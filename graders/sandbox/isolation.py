"""Kernel isolation for one sandbox: namespaces, an allow-list root, privilege drop and rlimits.

Runs in the zygote's children only. Every step raises SandboxUnavailable naming what failed, so
a sandbox that cannot be isolated never runs student code (fail closed).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import socket
from dataclasses import dataclass

from graders.sandbox import libraries

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_RELATIME = 1 << 21
MNT_DETACH = 2
# mount_setattr(2): numbered alike on every architecture (unified table, 5.12 and later).
MOUNT_SETATTR = 442
MOUNT_ATTR_RDONLY = 1
MOUNT_ATTR_NOSUID = 2
MOUNT_ATTR_NODEV = 4
AT_FDCWD = -100
AT_RECURSIVE = 0x8000

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38

SYSCALLS = {
    "x86_64": {"pivot_root": 155, "capget": 125, "capset": 126},
    "aarch64": {"pivot_root": 41, "capget": 90, "capset": 91},
}
CAPABILITY_VERSION_3 = 0x20080522

# statvfs flags a remount inside a user namespace must keep (the kernel locks them).
LOCKED_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}

WORK_DIR = "/home/student"
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
# The dynamic loader's index: without it, extension modules imported later cannot find libraries.
LOADER_FILES = ("/etc/ld.so.cache",)
# Per IPC namespace: one SysV segment of at most 4 MB, 8 MB in all (shmall counts 4 KB pages),
# and message queues and semaphores as small.
IPC_LIMITS = {
    "shmmax": str(4 * 1024 * 1024),
    "shmall": str(8 * 1024 * 1024 // 4096),
    "shmmni": "16",
    "msgmax": "8192",
    "msgmnb": "16384",
    "msgmni": "16",
    "sem": "32 256 32 16",
}
WORK_TMPFS_BYTES = 64 * 1024 * 1024
WORK_TMPFS_INODES = 2048
SANDBOX_PATH = "/usr/bin:/bin"


class SandboxUnavailable(RuntimeError):
    """Isolation could not be set up; student code must not run."""


@dataclass(frozen=True)
class RootView:
    """What the sandbox sees: read-only bind mounts of these paths, and nothing else."""

    directories: tuple[str, ...]
    files: tuple[str, ...]
    symlinks: tuple[tuple[str, str], ...]


libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise SandboxUnavailable(
            f"{what} failed: {os.strerror(code)} (errno {errno.errorcode.get(code, code)})"
        )


def _syscall_number(name: str) -> int:
    numbers = SYSCALLS.get(platform.machine())
    if numbers is None:
        raise SandboxUnavailable(f"no known syscall numbers for {platform.machine()}")
    return numbers[name]


def unshare(flags: int, what: str) -> None:
    _check(libc.unshare(flags), f"unshare({what})")


def setns(fd: int, flags: int, what: str) -> None:
    _check(libc.setns(fd, flags), f"setns({what})")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


def prctl(option: int, value: int, what: str) -> None:
    _check(libc.prctl(option, value, 0, 0, 0), f"prctl({what})")


def root_view(preimported_paths: list[str]) -> RootView:
    """The allow-list: the interpreter, its standard library, the imported packages of site-packages
    (torch, numpy and what they import), the shared libraries Python loads (see libraries.py), the
    loader's cache and a few devices; computed once, in the zygote, after everything is imported.

    Project directories on sys.path (the working directory, the checkout) are left out on purpose.
    """
    directories = libraries.python_directories()
    package_files = []
    symlinks = []
    for entry in preimported_paths:
        if not entry or not os.path.isdir(entry):
            continue
        real = os.path.realpath(entry)
        if os.path.basename(real) in ("site-packages", "dist-packages"):
            packages = libraries.imported_packages(real)
            directories += [path for path in packages if os.path.isdir(path)]
            package_files += [path for path in packages if not os.path.isdir(path)]
            # A virtual environment reached through a symlink (a worktree's .venv pointing at a
            # shared one) is mounted at its real place; later imports look under the original path.
            symlinks += libraries.links_and_file(entry)[0]
    unique = []
    for path in sorted(set(directories)):
        if not any(path.startswith(parent + "/") for parent in unique):
            unique.append(path)

    def outside_the_directories(path: str) -> bool:
        return not any(path == parent or path.startswith(parent + "/") for parent in unique)

    links, needed = libraries.python_files()
    files = [path for path in [*package_files, *needed] if outside_the_directories(path)]
    files += [path for path in (*DEVICES, *LOADER_FILES) if os.path.exists(path)]
    symlinks = [link for link in dict.fromkeys(symlinks + links) if outside_the_directories(link[0])]
    return RootView(tuple(unique), tuple(dict.fromkeys(files)), tuple(symlinks))


def enter_namespaces(use_user_namespace: bool, pid: bool = True) -> None:
    """Unshare every namespace; with a user namespace, map the caller to root inside it.

    `pid`: unshare the PID namespace too (for the caller's children); False in a process that
    was forked into a new PID namespace already (zygote.Zygote.spawn_direct).
    """
    if use_user_namespace:
        outer_uid, outer_gid = os.geteuid(), os.getegid()
        unshare(CLONE_NEWUSER, "CLONE_NEWUSER")
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"0 {outer_uid} 1"),
            ("gid_map", f"0 {outer_gid} 1"),
        ):
            try:
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
            except OSError as error:
                raise SandboxUnavailable(
                    f"writing /proc/self/{name} in the new user namespace failed: {error}"
                ) from None
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    unshare(flags | CLONE_NEWPID if pid else flags,
            "CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWIPC|CLONE_NEWUTS" + ("|CLONE_NEWPID" if pid else ""))
    try:
        socket.sethostname("sandbox")
    except OSError as error:
        raise SandboxUnavailable(f"sethostname in the new UTS namespace failed: {error}") from None


def cap_ipc_namespace() -> None:
    """Shrink SysV shared memory, message queues and semaphores in the new IPC namespace.

    SysV segments outlive the process that made them and are not counted in its RLIMIT_AS:
    without this, five 100 MB segments, filled and detached, hold 500 MB of the host's memory
    under a 256 MB limit. The values are per IPC namespace, written by the sandbox (still
    privileged there, as root; by its keeper in a user namespace) through the host's /proc before pivot_root.
    """
    for name, value in IPC_LIMITS.items():
        try:
            with open(f"/proc/sys/kernel/{name}", "w") as handle:
                handle.write(value)
        except OSError as error:
            raise SandboxUnavailable(f"capping kernel.{name} in the sandbox's IPC namespace failed: {error}") from None


def _remount_read_only(source: str, target: str, device: bool) -> None:
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
    if not device:
        flags |= MS_NODEV
    kept = os.statvfs(source).f_flag
    for statvfs_flag, mount_flag in LOCKED_FLAGS.items():
        if kept & statvfs_flag:
            flags |= mount_flag
    mount(None, target, None, flags)


@dataclass(frozen=True)
class RootTemplate:
    """Where `build_root_template` built the root, and whether its own mount is read-only yet."""

    path: str
    read_only: bool


def build_root_template(view: RootView) -> RootTemplate:
    """Build the allow-list root once, in a mount namespace of the calling process.

    For the zygote (root mode): it leaves the host's mount namespace for a copy of its own (a
    slave: later mounts on the host still show, none of its own goes out), and mounts there the
    read-only tmpfs with every allow-listed path bound under it. Each sandbox's new mount
    namespace is a copy of the zygote's, so it finds the whole tree ready and only pivots into
    it: about 60 mount calls, their directories and files, once per zygote instead of once per
    sandbox (4.5 ms of the 10 spent before a sandbox starts, measured).
    """
    unshare(CLONE_NEWNS, "CLONE_NEWNS")
    mount(None, "/", None, MS_REC | MS_SLAVE)
    base = _mount_point_for_root(view)
    return RootTemplate(base, _mount_root(view, base))


def build_root(view: RootView, work_owner: tuple[int, int], template: RootTemplate | None = None) -> None:
    """pivot_root into a fresh read-only tmpfs holding the allow-listed paths and a writable work dir.

    `template`: where `build_root_template` already built that tree in the namespace this one was
    copied from (the zygote's); None to build it here.
    """
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    if template is None:
        base = _mount_point_for_root(view)
        all_at_once = _mount_root(view, base)
    else:
        base, all_at_once = template.path, template.read_only
    # The work dir's mount point doubles as the place for the old root, so no directory is left.
    _check(
        libc.syscall(_syscall_number("pivot_root"), base.encode(), (base + WORK_DIR).encode()),
        "pivot_root",
    )
    os.chdir("/")
    _check(libc.umount2(WORK_DIR.encode(), MNT_DETACH), "umount of the old root")
    uid, gid = work_owner
    mount(
        "sandbox-work",
        WORK_DIR,
        "tmpfs",
        MS_NOSUID | MS_NODEV | MS_NOEXEC,
        f"size={WORK_TMPFS_BYTES},nr_inodes={WORK_TMPFS_INODES},mode=0700,uid={uid},gid={gid}",
    )
    if not all_at_once:
        mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _mount_root(view: RootView, base: str) -> bool:
    """The read-only tmpfs at `base` with the allow-listed paths bound under it; True if its root
    is read-only already (else the caller remounts it so once it is `/`)."""
    mount("sandbox-root", base, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
    devices = [path for path in view.files if path.startswith("/dev/")]
    bound = []
    for directory in view.directories:
        os.makedirs(base + directory, exist_ok=True)
        mount(directory, base + directory, None, MS_BIND)
        bound.append(directory)
    for path in view.files:
        os.makedirs(os.path.dirname(base + path), exist_ok=True)
        with open(base + path, "w"):
            pass
        if path not in devices:
            mount(path, base + path, None, MS_BIND)
            bound.append(path)
    for path, target in view.symlinks:
        os.makedirs(os.path.dirname(base + path), exist_ok=True)
        os.symlink(target, base + path)
    os.makedirs(base + WORK_DIR)
    # One call makes the root and every bind under it read-only (some 60 of them);
    # kernels before 5.12 get one remount per bind.
    all_at_once = _read_only_below(base)
    if not all_at_once:
        for path in bound:
            _remount_read_only(path, base + path, device=False)
    for path in devices:
        mount(path, base + path, None, MS_BIND)
        _remount_read_only(path, base + path, device=True)
    return all_at_once


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def _read_only_below(path: str) -> bool:
    """mount_setattr(AT_RECURSIVE) read-only, nosuid, nodev on `path` and every mount under it."""
    attributes = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    result = libc.syscall(
        MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE, ctypes.byref(attributes), ctypes.sizeof(attributes)
    )
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.EPERM):
        return False
    _check(result, f"mount_setattr on {path}")
    return False


def _mount_point_for_root(view: RootView) -> str:
    # Any existing directory will do, since the mount is private; it must not hide a source path.
    for candidate in ("/mnt", "/media", "/srv", "/opt", "/tmp"):  # noqa: S108 - a mount point, not a file
        if os.path.isdir(candidate) and not any(
            path == candidate or path.startswith(candidate + "/") for path in (*view.directories, *view.files)
        ):
            return candidate
    raise SandboxUnavailable("no directory to build the sandbox root on")


def drop_bounding_capabilities() -> None:
    """Empty the capability bounding set, so nothing run later can regain a capability."""
    for capability in range(64):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            if ctypes.get_errno() == errno.EINVAL:
                return
            _check(-1, f"dropping capability {capability} from the bounding set")


def clear_capabilities() -> None:
    """Clear effective, permitted and inheritable capabilities (root inside a user namespace)."""
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(libc.syscall(_syscall_number("capset"), header, data), "capset")


def effective_capabilities() -> int:
    """The calling process's effective capability mask."""
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(libc.syscall(_syscall_number("capget"), header, data), "capget")
    return data[0] | (data[3] << 32)


def drop_privileges(uid: int, gid: int, in_user_namespace: bool) -> None:
    """Become an unprivileged user with no capabilities, for good."""
    drop_bounding_capabilities()
    if in_user_namespace:
        # Only one id is mapped: stay uid 0 inside, but with no capabilities at all.
        clear_capabilities()
    else:
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        except OSError as error:
            raise SandboxUnavailable(f"switching to uid {uid} failed: {error}") from None
        if os.getuid() != uid or os.geteuid() != uid or os.getgroups():
            raise SandboxUnavailable(f"the process is not running as uid {uid} after setresuid")
    if effective_capabilities() != 0:
        raise SandboxUnavailable("the sandbox still has capabilities after dropping privileges")
    prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")


def die_with_parent(parent_alive_fd: int) -> None:
    """Get SIGKILL when the parent dies; the pipe closes if it already died before prctl."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "PR_SET_PDEATHSIG")
    os.set_blocking(parent_alive_fd, False)
    try:
        if os.read(parent_alive_fd, 1) == b"":
            os._exit(1)
    except BlockingIOError:
        pass
    os.close(parent_alive_fd)


def set_limits(
    *, cpu_seconds: float, memory_bytes: int | None, processes: int, file_size_bytes: int, open_files: int
) -> None:
    """Lower the rlimits of the calling process (soft and hard, so they cannot be raised again)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime + cpu_seconds) + 1
    values = {
        resource.RLIMIT_CPU: cpu,
        resource.RLIMIT_NPROC: processes,
        resource.RLIMIT_FSIZE: file_size_bytes,
        resource.RLIMIT_NOFILE: open_files,
        resource.RLIMIT_CORE: 0,
        # No real-time scheduling, no raised priority, no POSIX message queues: nothing a
        # sandbox needs, and a real-time task past RLIMIT_RTTIME is SIGKILLed by the kernel.
        resource.RLIMIT_RTPRIO: 0,
        resource.RLIMIT_RTTIME: 0,
        resource.RLIMIT_NICE: 0,
        resource.RLIMIT_MSGQUEUE: 0,
    }
    if memory_bytes is not None:
        values[resource.RLIMIT_AS] = memory_bytes
    for limit, value in values.items():
        try:
            resource.setrlimit(limit, (value, value))
        except (OSError, ValueError) as error:
            raise SandboxUnavailable(f"setrlimit({limit}, {value}) failed: {error}") from None


def scrubbed_environment() -> dict[str, str]:
    """The only environment student code sees."""
    return {
        "PATH": SANDBOX_PATH,
        "HOME": WORK_DIR,
        "TMPDIR": WORK_DIR,
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
