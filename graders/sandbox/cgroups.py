"""Memory and pids cgroups for sandboxes: one parent per pool, one child per sandbox, v2 or v1.

RLIMIT_AS bounds a process's address space, not the memory it makes the kernel hold for it
(files in its tmpfs work dir, kernel buffers, pages of a child process): a memory cgroup
counts all of it, and pids.max bounds every task in the sandbox whatever its uid. The pool
makes the parent under its own cgroup (so every limit above it still applies), a child per
sandbox on the refill path with the pool's ceiling, and removes the child once the sandbox
(and its keeper, if it has one) is gone. The zygote (or the keeper) moves the sandbox into its child
before student code runs.

On cgroup v2 the parent goes below the pool's own cgroup, or, where that cgroup holds processes
(cgroup v2 enables controllers only for a cgroup without them, the root aside), beside it in a
parent that has memory and pids on for its children: what the worker's entrypoint in
docker-compose.yml sets up (scripts/worker-cgroups.sh).

When the machine offers neither, nor writable v1 memory and pids hierarchies, `start` raises
NoCgroups saying why, and the pool runs on rlimits with fewer processes (see pool.py).
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CONTROLLERS = ("memory", "pids")
# What a sandbox may hold beyond its memory limit (which RLIMIT_AS already bounds for the heap):
# pages of the zygote it copies on write, and kernel memory. Its work dir counts in it too.
HEADROOM_BYTES = 32 * 1024 * 1024
REMOVE_TRIES = 50
PARENT_PREFIX = "attentive-sandbox-"
# On v1, how close to its limit a cgroup's peak usage must be to say the limit was reached
# (charges come in batches of up to 64 pages).
LIMIT_REACHED_SLACK_BYTES = 1024 * 1024

_parents_made = itertools.count()
_registry: dict[int, list[Path]] = {}
_registry_lock = threading.Lock()


@dataclass(frozen=True)
class Hierarchy:
    """Where a pool's sandbox cgroups live in one mounted hierarchy."""

    controller: str  # "memory", "pids", or "" for the v2 hierarchy that holds both
    parent: Path


class NoCgroups(Exception):
    """This machine gives the pool no memory and pids cgroups; the message says why."""


class SandboxCgroups:
    """The cgroups of one pool's sandboxes. Use `start()` to get one, or None without cgroups."""

    def __init__(self, version: int, hierarchies: list[Hierarchy], memory_bytes: int, processes: int) -> None:
        self.version = version
        self.hierarchies = hierarchies
        self.memory_bytes = memory_bytes
        self.processes = processes

    @classmethod
    def start(cls, memory_bytes: int, processes: int) -> SandboxCgroups:
        """Make this pool's parent cgroups; NoCgroups, saying why, where the machine has none."""
        name = f"{PARENT_PREFIX}{os.getpid()}-{next(_parents_made)}"
        reason = "no cgroup v2 with the memory and pids controllers, and no writable v1 memory and pids"
        try:
            found = _start_v2(name) or _start_v1(name)
        except OSError as error:
            found, reason = None, f"{error.filename or 'a cgroup file'}: {error.strerror}"
        if found is None:
            raise NoCgroups(reason)
        version, hierarchies = found
        return cls(version, hierarchies, memory_bytes + HEADROOM_BYTES, processes)

    def prepare(self, uid: int) -> list[str]:
        """Make the sandbox's child cgroups with their limits; returns the files to write its pid to."""
        made = []
        try:
            for hierarchy in self.hierarchies:
                child = hierarchy.parent / f"sandbox-{uid}"
                child.mkdir(mode=0o755)
                made.append(child)
                for file, value in self._limits(hierarchy.controller, child):
                    (child / file).write_text(value)
        except OSError:
            _remove_all(made)
            raise
        with _registry_lock:
            _registry[uid] = made
        return [str(child / "cgroup.procs") for child in made]

    def _limits(self, controller: str, child: Path) -> list[tuple[str, str]]:
        memory, processes = str(self.memory_bytes), str(self.processes)
        if self.version == 2:
            return [("memory.max", memory), ("memory.swap.max", "0"), ("pids.max", processes)]
        if controller == "pids":
            return [("pids.max", processes)]
        limits = [("memory.limit_in_bytes", memory)]
        if (child / "memory.memsw.limit_in_bytes").exists():  # with swap accounting: no swap either
            limits.append(("memory.memsw.limit_in_bytes", memory))
        return limits

    def remove(self, uid: int) -> None:
        """Remove the sandbox's child cgroups (its processes must be gone: the sandbox has ended)."""
        with _registry_lock:
            made = _registry.pop(uid, [])
        _remove_all(made)

    def close(self) -> None:
        """Remove what is left of this pool's cgroups, the parents included."""
        with _registry_lock:
            uids = [uid for uid, paths in _registry.items() if any(p.parent in self.parents() for p in paths)]
        for uid in uids:
            self.remove(uid)
        _remove_all([hierarchy.parent for hierarchy in self.hierarchies])

    def parents(self) -> list[Path]:
        return [hierarchy.parent for hierarchy in self.hierarchies]


def limit_cgroup_memory(sandbox_uid: int, memory_mb: int) -> None:
    """Lower a sandbox's cgroup memory limit to `memory_mb` (plus the headroom), e.g. at load time.

    A no-op for a sandbox without cgroups; OSError if the kernel refuses the value.
    """
    value = str(memory_mb * 1024 * 1024 + HEADROOM_BYTES)
    with _registry_lock:
        paths = list(_registry.get(sandbox_uid, []))
    for path in paths:
        # v1 wants memory.limit_in_bytes <= memsw.limit_in_bytes at every step: lower it first.
        for file in ("memory.max", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
            if (path / file).exists():
                (path / file).write_text(value)


def cgroup_oom_killed(sandbox_uid: int) -> bool:
    """True if the kernel killed a process of this sandbox because it reached its own cgroup's memory limit.

    For `Sandbox._death_failure`, before the sandbox is reaped: a SIGKILL with this True is the
    memory limit, not a crash. An OOM kill alone is not enough: the kernel counts in `oom_kill`
    every OOM kill of the cgroup's processes, the host's (a machine out of memory) included, and
    that one is a kill from outside, ours to absorb. The cgroup's own limit leaves its mark
    beside it: `oom` in memory.events on v2; on v1 (whose failcnt some kernels leave at 0), a
    peak usage at the limit. False for a sandbox without cgroups.
    """
    with _registry_lock:
        paths = list(_registry.get(sandbox_uid, []))
    for path in paths:
        counters = _counters(path / "memory.events")  # v2
        if counters:
            if counters.get("oom_kill", 0) > 0 and counters.get("oom", 0) > 0:
                return True
            continue
        counters = _counters(path / "memory.oom_control")  # v1
        if counters.get("oom_kill", 0) > 0 and _number(path / "memory.max_usage_in_bytes") >= _number(
            path / "memory.limit_in_bytes"
        ) - LIMIT_REACHED_SLACK_BYTES:
            return True
    return False


def _counters(file: Path) -> dict[str, int]:
    """A cgroup file of `key value` lines, as numbers; {} if it cannot be read."""
    try:
        text = file.read_text()
    except OSError:
        return {}
    counters = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            counters[key] = int(value)
    return counters


def _number(file: Path) -> int:
    try:
        text = file.read_text().strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() else 0


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path in each hierarchy: "" for v2, else each controller's name."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount point, root inside the hierarchy, fstype, super options) of each cgroup mount."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, options = fields[separator + 1], set(fields[separator + 3].split(","))
        if fstype in ("cgroup", "cgroup2"):
            found.append((fields[4], fields[3], fstype, options))
    return found


def _directory(mount_point: str, root: str, own: str | None) -> Path | None:
    if own is None or not (own == root or own.startswith(root.rstrip("/") + "/")):
        return None
    return Path(mount_point + "/" + own[len(root) :].strip("/"))


def _start_v2(name: str) -> tuple[int, list[Hierarchy]] | None:
    own = _own_cgroups()
    enable = " ".join(f"+{controller}" for controller in CONTROLLERS)
    for mount_point, root, fstype, _ in _mounts():
        if fstype != "cgroup2":
            continue
        directory = _directory(mount_point, root, own.get(""))
        base = _v2_base(directory, Path(mount_point), enable) if directory is not None else None
        if base is None:
            continue
        _remove_stale(base)
        parent = base / name
        parent.mkdir(mode=0o755)
        try:
            (parent / "cgroup.subtree_control").write_text(enable)
        except OSError:
            _remove_all([parent])
            raise
        return 2, [Hierarchy("", parent)]
    return None


def _v2_base(own: Path, mount_point: Path, enable: str) -> Path | None:
    """Where the pool's parent goes: below its own cgroup, or beside it in a delegated parent."""
    if set(CONTROLLERS) <= set((own / "cgroup.controllers").read_text().split()):
        try:
            _enable_controllers(own, enable)
            return own
        except OSError as error:
            # EBUSY: the pool's own cgroup holds processes and is not a root. A parent that has
            # memory and pids on for its children (a container whose entrypoint moved every
            # process into a leaf, docker-compose.yml) takes the pool's cgroup beside that leaf.
            if error.errno != errno.EBUSY:
                raise
    if own == mount_point:
        return None
    parent = own.parent
    if set(CONTROLLERS) <= set((parent / "cgroup.subtree_control").read_text().split()):
        return parent
    return None


def _enable_controllers(cgroup: Path, enable: str) -> None:
    (cgroup / "cgroup.subtree_control").write_text(enable)


def _start_v1(name: str) -> tuple[int, list[Hierarchy]] | None:
    own = _own_cgroups()
    places = {}
    for mount_point, root, fstype, options in _mounts():
        for controller in CONTROLLERS:
            if fstype == "cgroup" and controller in options:
                base = _directory(mount_point, root, own.get(controller))
                if base is not None and os.access(base, os.W_OK):
                    places[controller] = base
    if set(places) != set(CONTROLLERS):
        return None
    hierarchies = []
    try:
        for controller in CONTROLLERS:
            _remove_stale(places[controller])
            parent = places[controller] / name
            parent.mkdir(mode=0o755)
            hierarchies.append(Hierarchy(controller, parent))
    except OSError:
        _remove_all([hierarchy.parent for hierarchy in hierarchies])
        raise
    return 1, hierarchies


def _remove_stale(base: Path) -> None:
    """Remove the empty cgroups that pools of processes no longer running left behind."""
    for parent in base.glob(PARENT_PREFIX + "*"):
        pid = parent.name.removeprefix(PARENT_PREFIX).split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            for child in parent.glob("sandbox-*"):
                try:
                    child.rmdir()
                except OSError:
                    pass
            try:
                parent.rmdir()
            except OSError:
                pass


def _remove_all(paths: list[Path]) -> None:
    for path in paths:
        # The last processes of a killed sandbox may take a moment to leave their cgroup.
        for _ in range(REMOVE_TRIES):
            try:
                path.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.01)
