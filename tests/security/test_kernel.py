"""The kernel layers, seen from inside a sandbox: each denied call fails, and the pool still grades after it."""

import socket
import textwrap

import pyseccomp
import pytest

from graders.code import grade_code
from graders.sandbox.isolation import SandboxUnavailable
from graders.sandbox.syscalls import install_filter
from tests.security.conftest import EXERCISE

CORRECT = (EXERCISE / "solution.py").read_text()
FULL_MARKS = 4.0
AT_FDCWD = -100
MISSING = "/home/student/missing"

PRELUDE = """
import ctypes, errno, os, socket

libc = ctypes.CDLL(None, use_errno=True)

def raw(number, *args):
    converted = [a.encode() if type(a) is str else (ctypes.c_long(a) if type(a) is int else a) for a in args]
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *converted)
    error = ctypes.get_errno()
    if result == 0 and number == CLONE:
        os._exit(0)  # a child made by a clone the filter failed to deny
    return [result, errno.errorcode.get(error, error)]

"""


def number(name):
    return pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)


def run_inside(pool, body, *args):
    """Run `body` as the function `main(*args)` in a fresh sandbox; return its value."""
    source = PRELUDE.replace("CLONE", str(number("clone"))) + "def main(*args):\n" + textwrap.indent(
        textwrap.dedent(body), "    "
    )
    with pool.acquire() as sandbox:
        loaded = sandbox.load(source)
        assert loaded.failure is None, loaded.failure
        outcome = sandbox.call("main", list(args))
    assert outcome.failure is None, outcome.failure
    return outcome.value


def assert_the_pool_still_grades(pool):
    after = grade_code(EXERCISE, CORRECT, pool)
    assert (after.status, after.score) == ("graded", FULL_MARKS), after.to_dict()


CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIGCHLD = 17
KEY_SPEC_SESSION_KEYRING = -3
KEY_SPEC_USER_KEYRING = -4

# (syscall, arguments): arguments that would give another answer than EPERM (success, ENOENT,
# EBADF, EFAULT...) if the filter let the call through, wherever the kernel allows.
DENIED_CALLS = [
    ("unshare", [CLONE_NEWUSER]),
    ("unshare", [CLONE_NEWNET]),
    ("clone", [CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0]),
    ("setns", [-1, 0]),
    ("mount", ["none", MISSING, "tmpfs", 0, None]),
    ("umount2", [MISSING, 0]),
    ("pivot_root", [MISSING, MISSING]),
    ("chroot", [MISSING]),
    ("move_mount", [AT_FDCWD, MISSING, AT_FDCWD, MISSING, 0]),
    ("open_tree", [AT_FDCWD, MISSING, 0]),
    ("fsopen", ["tmpfs", 0]),
    ("fsconfig", [-1, 0, None, None, 0]),
    ("fsmount", [-1, 0, 0]),
    ("fspick", [AT_FDCWD, MISSING, 0]),
    ("mount_setattr", [AT_FDCWD, MISSING, 0, None, 0]),
    ("keyctl", [0, KEY_SPEC_SESSION_KEYRING, 1]),
    ("add_key", ["user", "planted", "secret", 6, KEY_SPEC_USER_KEYRING]),
    ("request_key", ["user", "planted", None, 0]),
    ("bpf", [0, None, 0]),
    ("perf_event_open", [None, 0, -1, -1, 0]),
    ("io_uring_setup", [1, None]),
    ("io_uring_enter", [-1, 0, 0, 0, None, 0]),
    ("io_uring_register", [-1, 0, None, 0]),
    ("userfaultfd", [1]),  # UFFD_USER_MODE_ONLY: allowed to anyone without the filter
    ("ptrace", [16, 424242, 0, 0]),  # PTRACE_ATTACH
    ("process_vm_readv", [1, None, 0, None, 0, 0]),
    ("process_vm_writev", [1, None, 0, None, 0, 0]),
    ("pidfd_getfd", [-1, 0, 0]),
    ("init_module", [None, 0, ""]),
    ("finit_module", [-1, "", 0]),
    ("delete_module", ["loop", 0]),
    ("kexec_load", [0, 0, None, 0]),
    ("kexec_file_load", [-1, -1, 0, None, 0]),
    ("memfd_create", ["hidden", 0]),
    ("rt_sigqueueinfo", [0, 0, None]),  # to pid 0: ESRCH without the filter
    ("rt_tgsigqueueinfo", [0, 0, 0, None]),
]


@pytest.mark.parametrize(
    ("name", "arguments"), DENIED_CALLS, ids=[f"{name}-{index}" for index, (name, _) in enumerate(DENIED_CALLS)]
)
def test_a_denied_system_call_fails_with_eperm_and_the_pool_still_grades(pool, name, arguments):
    assert run_inside(pool, "return raw(*args)", number(name), *arguments) == [-1, "EPERM"]
    assert_the_pool_still_grades(pool)


def test_clone3_says_enosys_so_that_threads_and_processes_fall_back_to_clone(pool):
    assert run_inside(pool, "return raw(args[0], None, 0)", number("clone3")) == [-1, "ENOSYS"]
    assert_the_pool_still_grades(pool)


def test_threads_subprocess_pipes_and_unix_sockets_still_work_under_the_filter(pool):
    body = """
    import subprocess, sys, threading
    results = []
    worker = threading.Thread(target=lambda: results.append("thread"))
    worker.start()
    worker.join()
    left, right = socket.socketpair(socket.AF_UNIX)
    left.send(b"unix")
    results.append(right.recv(4).decode())
    child = os.fork()
    if child == 0:
        os._exit(7)
    results.append(os.WEXITSTATUS(os.waitpid(child, 0)[1]))
    # The virtual environment's own python is not mounted: the base interpreter is.
    python = getattr(sys, "_base_executable", sys.executable)
    results.append(subprocess.run([python, "-S", "-c", "print(6 * 7)"], capture_output=True, text=True).stdout.strip())
    return results
    """
    assert run_inside(pool, body) == ["thread", "unix", 7, "42"]


@pytest.mark.parametrize(
    "family", [socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET, socket.AF_VSOCK]
)
def test_a_socket_of_any_family_but_unix_is_refused(pool, family):
    body = """
    outcome = []
    for call in (lambda: socket.socket(args[0], socket.SOCK_DGRAM), lambda: socket.socketpair(args[0])):
        try:
            call()
            outcome.append("created")
        except OSError as error:
            outcome.append(errno.errorcode.get(error.errno))
    return outcome
    """
    assert run_inside(pool, body, int(family)) == ["EPERM", "EPERM"]
    assert_the_pool_still_grades(pool)


def test_torch_and_numpy_work_under_the_filter(pool):
    body = """
    import numpy, torch
    x = torch.randn(8, 5, requires_grad=True)
    torch.nn.functional.cross_entropy(torch.softmax(x, dim=-1), torch.arange(5).repeat(2)[:8]).backward()
    return [bool(torch.isfinite(x.grad).all()), float(numpy.linalg.norm(numpy.eye(3)))]
    """
    assert run_inside(pool, body) == [True, pytest.approx(3**0.5)]


def test_posix_shared_memory_has_nowhere_to_live(pool):
    body = """
    from multiprocessing import shared_memory
    try:
        shared_memory.SharedMemory(create=True, size=100 * 1024 * 1024)
    except OSError as error:
        return [os.path.exists("/dev/shm"), type(error).__name__]
    return [os.path.exists("/dev/shm"), "created"]
    """
    # shm_open finds no /dev/shm to create the segment in.
    assert run_inside(pool, body) == [False, "FileNotFoundError"]


def test_a_filter_the_kernel_refuses_stops_the_sandbox_from_starting():
    with pytest.raises(SandboxUnavailable, match="installing the seccomp filter failed"):
        install_filter(b"")  # an empty program: the kernel answers EINVAL, nothing is installed


SYSV_SEGMENTS = """
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
made, refused = [], []
for _ in range(args[0]):
    segment = libc.shmget(IPC_PRIVATE, args[1], IPC_CREAT | 0o600)
    if segment < 0:
        refused.append(errno.errorcode.get(ctypes.get_errno()))
    else:
        made.append(segment)
for segment in made:
    libc.shmctl(segment, IPC_RMID, None)
return [len(made), sorted(set(refused))]
"""


def test_five_100_mb_sysv_segments_cannot_be_created(pool):
    assert run_inside(pool, SYSV_SEGMENTS, 5, 100 * 1024 * 1024) == [0, ["EINVAL"]]
    assert_the_pool_still_grades(pool)


def test_small_sysv_segments_stop_at_8_mb_in_all(pool):
    # Many segments under the per-segment size: the namespace's total refuses the third.
    assert run_inside(pool, SYSV_SEGMENTS, 10, 4 * 1024 * 1024) == [2, ["ENOSPC"]]
    assert_the_pool_still_grades(pool)


def test_sysv_message_queues_and_semaphores_are_capped_too(pool):
    body = """
    IPC_PRIVATE, IPC_CREAT = 0, 0o1000
    queues = [libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600) for _ in range(20)]
    too_many_semaphores = libc.semget(IPC_PRIVATE, 64, IPC_CREAT | 0o600)
    return [sum(queue >= 0 for queue in queues), too_many_semaphores]
    """
    assert run_inside(pool, body) == [16, -1]


def test_nothing_planted_by_one_sandbox_is_found_by_the_next(pool):
    plant = """
    keyring = raw(args[0], "user", "hidden-tests", "planted", 7, KEY_SPEC_USER_KEYRING)
    with open("/home/student/planted", "w") as handle:
        handle.write("planted")
    return [os.getuid(), keyring]
    """
    read = """
    found = raw(args[0], "user", "hidden-tests", None, 0)
    return [os.getuid(), found, os.listdir("/home/student")]
    """
    planter_uid, keyring = run_inside(pool, plant.replace("KEY_SPEC_USER_KEYRING", "-4"), number("add_key"))
    reader_uid, found, files = run_inside(pool, read, number("request_key"))
    assert keyring == [-1, "EPERM"]
    assert (found, files) == ([-1, "EPERM"], [])
    assert planter_uid != reader_uid or pool.mode == "userns"
    assert_the_pool_still_grades(pool)
