"""Memory and pids cgroups per sandbox: limits set, the sandbox inside, OOM kills recognised, nothing left."""

import dataclasses
import errno
import logging
import textwrap
import time
from pathlib import Path

import pytest

from graders.sandbox import Limits, SandboxPool, SandboxUnavailable, cgroups
from graders.sandbox import pool as pool_module
from graders.sandbox.cgroups import (
    HEADROOM_BYTES,
    NoCgroups,
    SandboxCgroups,
    cgroup_oom_killed,
    limit_cgroup_memory,
)
from graders.sandbox.limits import CEILING
from graders.sandbox.pool import PROCESSES_WITHOUT_CGROUPS

SMALL_CEILING = dataclasses.replace(CEILING, memory_mb=64)
SMALL = Limits(memory_mb=64)

# Memory RLIMIT_AS does not see (60 MB of files in the tmpfs work dir, each under the file
# size limit) plus 50 MB it allows.
FILES_AND_HEAP = """
def main():
    for n in range(12):
        with open(f"/home/student/fill{n}", "wb") as handle:
            handle.write(b"x" * (5 << 20))
    heap = bytearray(50 << 20)
    heap[::4096] = b"y" * len(heap[::4096])
    return len(heap)
"""


@pytest.fixture(scope="module")
def small_pool():
    with SandboxPool(size=0, preload=(), ceiling=SMALL_CEILING) as started:
        assert started.cgroups is not None, "this machine offers memory and pids cgroups"
        yield started


def sandbox_cgroup_files(pool, uid):
    return {path / f"sandbox-{uid}" for path in pool.cgroups.parents()}


def test_each_sandbox_gets_child_cgroups_with_the_pools_ceiling(small_pool):
    with small_pool.acquire() as sandbox:
        children = sandbox_cgroup_files(small_pool, sandbox.uid)
        limits = {}
        for child in children:
            for name in ("memory.max", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "pids.max"):
                if (child / name).exists():
                    limits[name] = int((child / name).read_text())
        members = [int(pid) for child in children for pid in (child / "cgroup.procs").read_text().split()]
    expected_memory = 64 * 1024 * 1024 + HEADROOM_BYTES
    assert limits.get("memory.max", limits.get("memory.limit_in_bytes")) == expected_memory
    assert limits["pids.max"] == SMALL_CEILING.processes
    assert members
    assert len(set(members)) == 1


@pytest.fixture
def oom_readings(monkeypatch):
    """What the pool reads from a sandbox's cgroups when the sandbox dies. A test cannot read them
    itself afterwards: once the pool has seen the death, the reaper may have removed them."""
    seen = []

    def recorded(uid):
        seen.append(cgroup_oom_killed(uid))
        return seen[-1]

    monkeypatch.setattr(pool_module, "cgroup_oom_killed", recorded)
    return seen


def test_a_sandbox_killed_at_its_cgroup_memory_limit_is_recognised(small_pool, oom_readings):
    with small_pool.acquire() as sandbox:
        assert sandbox.load(FILES_AND_HEAP, SMALL).failure is None
        outcome = sandbox.call("main")
    assert oom_readings == [True]
    assert outcome.failure is not None
    assert outcome.failure.kind == "memory"
    assert outcome.failure.message == f"memory limit of {SMALL.memory_mb} MB exceeded"


def test_a_sandbox_within_its_limits_is_not_taken_for_an_oom_kill(small_pool):
    with small_pool.acquire() as sandbox:
        assert sandbox.load("def main():\n    return len(bytearray(10 << 20))\n", SMALL).failure is None
        assert sandbox.call("main").value == 10 << 20
        assert cgroup_oom_killed(sandbox.uid) is False


def test_the_memory_limit_can_be_lowered_for_one_sandbox(small_pool, oom_readings):
    with small_pool.acquire() as sandbox:
        # After the load, which sets the cgroup's limit from SMALL (64 MB): lowered before it, the
        # limit was raised again, and 60 MB then met RLIMIT_AS first or the cgroup first by chance.
        assert sandbox.load("def main():\n    return len(bytearray(60 << 20))\n", SMALL).failure is None
        limit_cgroup_memory(sandbox.uid, 16)
        outcome = sandbox.call("main")
    assert outcome.failure is not None
    assert oom_readings == [True]


def test_a_sandboxs_cgroups_are_removed_once_it_has_ended(small_pool):
    with small_pool.acquire() as sandbox:
        children = sandbox_cgroup_files(small_pool, sandbox.uid)
        assert all(child.is_dir() for child in children)
    deadline = time.monotonic() + 10  # the reaper removes them in the background
    while any(child.exists() for child in children) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(child.exists() for child in children)


def test_the_pool_removes_its_parent_cgroups_when_it_closes():
    with SandboxPool(size=1, preload=()) as pool:
        parents = pool.cgroups.parents()
        assert all(parent.is_dir() for parent in parents)
    assert not any(parent.exists() for parent in parents)


def test_without_cgroups_start_says_why():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cgroups, "_mounts", lambda: [])
        with pytest.raises(NoCgroups, match="no cgroup v2 with the memory and pids controllers"):
            SandboxCgroups.start(1 << 30, 16)


def test_without_cgroups_the_pool_warns_at_start_and_a_sandbox_is_one_process(caplog):
    # RLIMIT_AS bounds each process: 6 children of 300 MB ran under a 512 MB limit. Without a
    # memory cgroup to count them together, a sandbox may have no child and no thread.
    source = textwrap.dedent("""
        import os, threading

        def main(what):
            try:
                if what == "fork":
                    if os.fork() == 0:
                        os._exit(0)
                else:
                    threading.Thread(target=print).start()
            except (OSError, RuntimeError) as error:
                return type(error).__name__
            return "allowed"
    """)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cgroups, "_mounts", lambda: [])
        with caplog.at_level(logging.WARNING, logger="graders.sandbox.pool"), SandboxPool(size=1) as pool:
            assert pool.cgroups is None
            for what in ("fork", "thread"):
                with pool.acquire() as sandbox:
                    assert sandbox.load(source, Limits(processes=16)).failure is None
                    assert sandbox.limits.processes == PROCESSES_WITHOUT_CGROUPS
                    outcome = sandbox.call("main", [what])
                assert outcome.value in ("BlockingIOError", "RuntimeError") or outcome.failure.kind == "processes"
                if outcome.failure is not None:
                    assert outcome.failure.message == "on this grader your code may start no thread or process"
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(message.startswith("SANDBOXES RUN WITHOUT MEMORY AND PIDS CGROUPS") for message in warnings)


def test_on_cgroup_v2_a_pool_whose_cgroup_holds_processes_goes_beside_it_in_a_delegated_parent(tmp_path, monkeypatch):
    # docker-compose.yml's worker: its entrypoint moved every process into `worker` and turned
    # memory and pids on at the container's root; enabling them below `worker` is EBUSY.
    (tmp_path / "cgroup.subtree_control").write_text("memory pids\n")
    own = tmp_path / "worker"
    own.mkdir()
    (own / "cgroup.controllers").write_text("memory pids\n")
    (own / "cgroup.subtree_control").write_text("")

    def busy(cgroup, enable):
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(cgroups, "_mounts", lambda: [(str(tmp_path), "/", "cgroup2", {"rw"})])
    monkeypatch.setattr(cgroups, "_own_cgroups", lambda: {"": "/worker"})
    monkeypatch.setattr(cgroups, "_enable_controllers", busy)
    started = SandboxCgroups.start(256 << 20, 16)
    (parent,) = started.parents()
    assert parent.parent == tmp_path
    assert parent.name.startswith("attentive-sandbox-")
    assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids"
    (parent / "cgroup.subtree_control").unlink()
    started.close()
    assert not parent.exists()


def test_on_cgroup_v2_a_pool_whose_cgroup_holds_processes_and_no_delegated_parent_has_none(tmp_path, monkeypatch):
    (tmp_path / "cgroup.subtree_control").write_text("\n")
    own = tmp_path / "worker"
    own.mkdir()
    (own / "cgroup.controllers").write_text("memory pids\n")

    def busy(cgroup, enable):
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(cgroups, "_mounts", lambda: [(str(tmp_path), "/", "cgroup2", {"rw"})])
    monkeypatch.setattr(cgroups, "_own_cgroups", lambda: {"": "/worker"})
    monkeypatch.setattr(cgroups, "_enable_controllers", busy)
    with pytest.raises(NoCgroups):
        SandboxCgroups.start(256 << 20, 16)


def test_on_cgroup_v2_the_limits_and_oom_kills_use_the_v2_files(tmp_path, monkeypatch):
    # A stand-in for a v2 hierarchy the pool's process sits at the root of (a container's view).
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(cgroups, "_mounts", lambda: [(str(tmp_path), "/", "cgroup2", {"rw"})])
    monkeypatch.setattr(cgroups, "_own_cgroups", lambda: {"": "/"})
    started = SandboxCgroups.start(256 << 20, 16)
    assert started.version == 2
    (parent,) = started.parents()
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids"
    procs = started.prepare(4242)
    child = parent / "sandbox-4242"
    assert procs == [str(child / "cgroup.procs")]
    assert {name: (child / name).read_text() for name in ("memory.max", "memory.swap.max", "pids.max")} == {
        "memory.max": str((256 << 20) + HEADROOM_BYTES),
        "memory.swap.max": "0",
        "pids.max": "16",
    }
    (child / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert cgroup_oom_killed(4242) is False
    (child / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n")
    assert cgroup_oom_killed(4242) is True
    for name in ("memory.max", "memory.swap.max", "pids.max", "memory.events"):
        (child / name).unlink()  # the kernel's files vanish with the cgroup; these are plain files
    started.remove(4242)
    assert not child.exists()
    (parent / "cgroup.subtree_control").unlink()
    started.close()
    assert not parent.exists()


@pytest.mark.parametrize(
    ("files", "at_its_limit"),
    [
        ({"memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n"}, True),
        # The host's OOM killer took a process of the cgroup: counted in oom_kill, not in oom.
        ({"memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\n"}, False),
        ({"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
          "memory.max_usage_in_bytes": str(96 << 20), "memory.limit_in_bytes": str(96 << 20)}, True),
        ({"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
          "memory.max_usage_in_bytes": str(20 << 20), "memory.limit_in_bytes": str(96 << 20)}, False),
        ({"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
          "memory.max_usage_in_bytes": str(96 << 20), "memory.limit_in_bytes": str(96 << 20)}, False),
    ],
    ids=["v2-own-limit", "v2-host-oom-killer", "v1-own-limit", "v1-host-oom-killer", "v1-no-kill"],
)
def test_only_a_kill_at_the_sandboxs_own_memory_limit_is_the_students_memory_use(tmp_path, files, at_its_limit):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    uid = 987_654_321
    with cgroups._registry_lock:
        cgroups._registry[uid] = [tmp_path]
    try:
        assert cgroup_oom_killed(uid) is at_its_limit
    finally:
        with cgroups._registry_lock:
            cgroups._registry.pop(uid)


def test_a_sandbox_that_cannot_be_moved_into_its_cgroup_never_starts_and_leaves_nothing_open(small_pool, monkeypatch):
    # As root the zygote moves each sandbox into its cgroups, and lives on: a failed move must
    # refuse the sandbox and close every descriptor the move used. /dev/full refuses the write.
    prepare = small_pool.cgroups.prepare
    monkeypatch.setattr(small_pool.cgroups, "prepare", lambda uid: [*prepare(uid), "/dev/full"])
    zygote_fds = Path(f"/proc/{small_pool.zygote.pid}/fd")
    open_before = len(list(zygote_fds.iterdir()))
    for _ in range(3):
        with pytest.raises(SandboxUnavailable, match="moving the sandbox into its cgroup failed"):
            small_pool.spawn()
    deadline = time.monotonic() + 5  # the zygote reaps the refused sandboxes in its own time
    while len(list(zygote_fds.iterdir())) > open_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(zygote_fds.iterdir())) == open_before
