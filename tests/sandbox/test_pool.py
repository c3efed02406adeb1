"""The warm pool: single-use sandboxes, refilled in the background, failing closed without isolation."""

import errno
import os
import platform
import signal
import threading
import time

import pytest
import torch

from graders.sandbox import SandboxPool, SandboxUnavailable, check_isolation
from graders.sandbox.ready_made import LOSSES
from graders.sandbox.wire import ModelRef
from tests.sandbox.conftest import parent_of, pids_by_namespace, run
from tests.sandbox.registered_models import linear_for_tests
from tests.sandbox.test_limits import processes_of

DROP_CAPABILITIES = ("setpriv", "--bounding-set=-all", "--inh-caps=-all", "--")


def wait_for_warm(pool, count, seconds=10):
    deadline = time.monotonic() + seconds
    while len(pool.warm) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(pool.warm)


def test_the_pool_refills_after_each_acquire(pool):
    assert wait_for_warm(pool, pool.size) == pool.size
    taken = [pool.acquire(), pool.acquire()]
    assert wait_for_warm(pool, pool.size) == pool.size
    assert not {id(sandbox) for sandbox in pool.warm} & {id(sandbox) for sandbox in taken}
    for sandbox in taken:
        sandbox.close()


def test_a_sandbox_loads_one_submission_only(sandbox):
    assert sandbox.load("x = 1").failure is None
    assert sandbox.load("x = 2").failure.kind == "protocol"


def test_a_closed_sandbox_cannot_be_used_again(pool):
    sandbox = pool.acquire()
    sandbox.close()
    with pytest.raises(RuntimeError, match="ended"):
        sandbox.load("x = 1")


def test_a_closed_sandbox_reads_no_more_output(pool, monkeypatch):
    # After an output limit the sandbox is closed, then its output drained once more; its
    # descriptor's number may by then be another sandbox's pipe (opened by the refill thread),
    # and a read there blocked the grader for good (seen in CI).
    sandbox = pool.acquire()
    closed = sandbox.output
    sandbox.close()
    reads = []
    real_read = os.read

    def read(descriptor, size):
        if descriptor == closed and threading.current_thread() is threading.main_thread():
            reads.append(descriptor)
        return real_read(descriptor, size)

    monkeypatch.setattr(os, "read", read)
    assert sandbox._drain_output(sandbox.limits) is False
    assert reads == []


def test_sandboxes_end_quietly_under_a_burst(pool):
    # The pool closes each sandbox (SIGKILL to it as root; SIGTERM to its keeper in a user
    # namespace), often as the sandbox is already ending. Keepers used to fail there, then run a
    # whole interpreter shutdown (torch's finalizers) with a traceback on the zygote's stderr: a
    # third of them under a burst. The zygote, which reaps the sandboxes as root, must stay quiet too.
    graded = []

    def grade_some():
        for _ in range(15):
            with pool.acquire() as sandbox:
                sandbox.load("def f(x):\n    return x\n")
                graded.append(sandbox.call("f", [1]).value)

    workers = [threading.Thread(target=grade_some) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert graded == [1] * 60
    time.sleep(1)
    pool.zygote_errors.seek(0)
    assert pool.zygote_errors.read().decode("utf-8", "replace") == ""


def test_nothing_survives_from_one_submission_to_the_next(pool):
    polluter = (
        "import torch, builtins\n"
        "torch.softmax = lambda *a, **k: 'patched'\n"
        "builtins.leftover = 'from the last submission'\n"
        "open('/home/student/leftover', 'w').write('x')\n"
        "def main():\n    return torch.softmax(torch.ones(2), 0)\n"
    )
    assert run(pool, polluter)[1].value == "patched"
    checker = (
        "import os, torch, builtins\n"
        "def main():\n"
        "    softmax = torch.softmax(torch.zeros(2), 0)\n"
        "    return [hasattr(builtins, 'leftover'), os.listdir('/home/student'), softmax]\n"
    )
    leftover, files, softmax = run(pool, checker)[1].value
    assert (leftover, files) == (False, [])
    assert torch.equal(softmax, torch.tensor([0.5, 0.5]))


def test_each_sandbox_draws_its_own_random_numbers_and_knows_its_own_pid(pool):
    # The keeper and the sandbox are forked without os.fork's hooks (zygote.fork_bare): the sandbox
    # reseeds `random` itself, so two submissions do not share the zygote's sequence.
    drawing = "import os, random\ndef main():\n    return [random.getrandbits(64), os.getpid()]\n"
    first, second = run(pool, drawing)[1].value, run(pool, drawing)[1].value
    assert first[0] != second[0]
    assert first[1] == second[1] == 1  # PID 1 of its own PID namespace


def test_a_model_is_built_inside_the_sandbox_from_the_registry(pool):
    source = "import torch\ndef main(model, x):\n    return model(x)\n"
    x = torch.randn(4, 3)
    _loaded, outcome = run(pool, source, args=[ModelRef("linear_for_tests", seed=5), x])
    assert outcome.failure is None
    assert torch.allclose(outcome.value, linear_for_tests(seed=5)(x).detach())


def test_gradients_come_back_for_the_chosen_inputs(pool):
    source = "import torch\ndef main(x, w):\n    return (x @ w).tanh()\n"
    x, w = torch.randn(2, 3), torch.randn(3, 4)
    _loaded, outcome = run(pool, source, args=[x, w], grad_of=[1], grad_seed=7)
    x_ref, w_ref = x.clone(), w.clone().requires_grad_(True)
    output = (x_ref @ w_ref).tanh()
    grad_output = torch.randn(output.shape, generator=torch.Generator().manual_seed(7))
    (expected,) = torch.autograd.grad(output, [w_ref], grad_output)
    assert torch.allclose(outcome.grads[0], expected)


def test_a_backward_pass_from_a_non_scalar_output_imports_nothing_in_the_sandbox(pool):
    # torch imports sympy for it the first time; the zygote pays that once, not every submission.
    source = (
        "import sys, torch\n"
        "def main(x):\n"
        "    before = set(sys.modules)\n"
        "    output = (x.requires_grad_(True) * 2).exp()\n"
        "    torch.autograd.grad(output, [x], grad_outputs=torch.ones_like(output))\n"
        "    return sorted(set(sys.modules) - before)\n"
    )
    _loaded, outcome = run(pool, source, args=[torch.randn(3, 4)])
    assert outcome.failure is None
    assert outcome.value == []


def test_as_root_each_sandbox_is_its_zygotes_own_child_and_pid_1_of_a_namespace(pool):
    # No keeper between them (zygote.Zygote.spawn_direct): one fork and one exit per sandbox.
    assert pool.mode == "root", "this test needs the worker's privileges: run the suite as root"
    with pool.acquire() as plain, pool.acquire(unavailable=LOSSES) as ruled:
        assert plain.direct
        assert ruled.direct
        assert parent_of(plain.keeper_pid) == pool.zygote.pid
        depth = len(pids_by_namespace(pool.zygote.pid))
        for sandbox in (plain, ruled):
            assert len(pids_by_namespace(sandbox.keeper_pid)) == depth + 1
            assert pids_by_namespace(sandbox.keeper_pid)[-1] == 1
        # The rule's zygote, forked after sandboxes were, is in the zygote's PID namespace: the
        # zygote set its children's namespace back after each sandbox.
        rule_zygote = parent_of(ruled.keeper_pid)
        assert parent_of(rule_zygote) == pool.zygote.pid
        assert len(pids_by_namespace(rule_zygote)) == depth


def test_a_sandbox_may_not_change_its_parent_death_signal(pool):
    # Without a keeper, that signal is what ends a sandbox whose zygote died. The second attempt
    # goes through syscall(2) with bits above the int that the kernel reads (a 64-bit comparison
    # in the filter would let it through).
    prctl_number = {"x86_64": 157, "aarch64": 167}[platform.machine()]
    source = (
        "import ctypes\n"
        "def main():\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    cleared = libc.prctl(1, 0, 0, 0, 0)\n"
        "    error = ctypes.get_errno()\n"
        f"    wide = libc.syscall({prctl_number}, ctypes.c_long(1 | 1 << 32), ctypes.c_long(0))\n"
        "    wide_error = ctypes.get_errno()\n"
        "    signal = ctypes.c_int(0)\n"
        "    libc.prctl(2, ctypes.byref(signal), 0, 0, 0)\n"
        "    return [cleared, error, wide, wide_error, signal.value]\n"
    )
    assert run(pool, source)[1].value == [-1, errno.EPERM, -1, errno.EPERM, signal.SIGKILL]


def test_the_pool_runs_without_root_through_a_user_namespace():
    # The zygote runs as uid 1000 with no capabilities, as on a machine where the worker is not root.
    as_user_1000 = ("unshare", "--user", "--map-user=1000", "--map-group=1000", "--")
    with SandboxPool(size=0, preload=(), launcher=as_user_1000) as unprivileged:
        assert unprivileged.mode == "userns"
        seen = check_isolation(unprivileged)
        with unprivileged.acquire() as sandbox:
            # A keeper of its own, which forked it as PID 1 of its namespace.
            assert not sandbox.direct
            assert parent_of(sandbox.keeper_pid) == unprivileged.zygote.pid
            inside = processes_of_parent(sandbox.keeper_pid)
            assert len(inside) == 1
            assert pids_by_namespace(inside[0])[-1] == 1
    assert seen["capabilities"] == 0
    assert seen["sockets_created"] == []


def processes_of_parent(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if parent_of(int(entry)) == parent:
                    found.append(int(entry))
            except (OSError, ValueError):
                continue
    return found


def test_it_refuses_to_start_when_isolation_is_impossible():
    # A user namespace where creating user namespaces is forbidden, with every capability dropped:
    # neither the root path nor the user-namespace path can isolate anything.
    deny = (
        "unshare", "--user", "--map-root-user", "--", "sh", "-c",
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh", *DROP_CAPABILITIES,
    )  # fmt: skip
    pool = SandboxPool(size=1, preload=(), launcher=deny)
    with pytest.raises(SandboxUnavailable, match="CLONE_NEWUSER"):
        pool.start()
    with pytest.raises(SandboxUnavailable, match="closed"):
        pool.acquire()


def test_it_refuses_when_the_sandbox_uid_cannot_be_used():
    # Root inside a user namespace that maps only uid 0: the sandbox uid does not exist there.
    only_root = ("unshare", "--user", "--map-root-user", "--")
    with pytest.raises(SandboxUnavailable, match=r"home/student failed: Invalid argument"):
        SandboxPool(size=1, preload=(), launcher=only_root).start()


def test_a_broken_zygote_fails_closed():
    with pytest.raises(SandboxUnavailable, match="zygote did not start"):
        SandboxPool(
            size=1, preload=("graders.sandbox.no_such_module_inside_graders_sandbox",), python="/bin/false"
        ).start()


def test_closing_the_pool_ends_even_a_sandbox_that_cleared_its_parent_death_signal():
    source = "import ctypes, time\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\ndef main():\n    return 1\n"
    with SandboxPool(size=0, preload=()) as small:
        sandbox = small.acquire()
        sandbox.load(source)
        uid = sandbox.uid
        assert processes_of(uid)
        # The zygote dies first: the sandbox's parent-death signal, which it tried to clear and may
        # not, ends it (in a user namespace, its keeper's does, and the keeper kills it).
        small.zygote.kill()
        small.zygote.wait()
        deadline = time.monotonic() + 5
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_of(uid) == []
        sandbox.close()
