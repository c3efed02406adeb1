"""A start-up check the grading worker runs: a real sandbox must prove it is isolated."""

from __future__ import annotations

import os
import site
import sys

from graders.sandbox.isolation import SandboxUnavailable
from graders.sandbox.limits import Limits
from graders.sandbox.pool import PROJECT_ROOT, SandboxPool

# Runs as a student submission would; it reports what it can reach.
PROBE = """
import ctypes, errno, os, platform, socket

FAMILIES = {"AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6, "AF_NETLINK": socket.AF_NETLINK,
            "AF_PACKET": socket.AF_PACKET}

def probe(paths, ports, outside, pids):
    numbers = {"x86_64": 125, "aarch64": 90}
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    ctypes.CDLL(None).syscall(numbers[platform.machine()], header, data)
    created = []
    for name, family in FAMILIES.items():
        try:
            socket.socket(family, socket.SOCK_DGRAM).close()
            created.append(name)
        except OSError:
            pass
    # Listing interfaces needs a netlink socket: only possible if the filter failed to deny it.
    interfaces = [name for _, name in socket.if_nameindex()] if "AF_NETLINK" in created else []
    connected = []
    for port in ports:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            connected.append(f"127.0.0.1:{port}")
        except OSError:
            pass
    outside_error = "not tried: the sandbox has network interfaces"
    if interfaces in ([], ["lo"]):
        try:
            socket.create_connection((outside, 80), timeout=0.5).close()
            connected.append(outside)
        except OSError as error:
            outside_error = errno.errorcode.get(error.errno, str(error))
    signalled = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            signalled.append(pid)
        except OSError:
            pass
    return {
        "uid": os.getuid(),
        "capabilities": data[0] | (data[3] << 32),
        "pid": os.getpid(),
        "visible": [path for path in paths if os.path.exists(path)],
        "sockets_created": created,
        "interfaces": interfaces,
        "connected": connected,
        "outside_error": outside_error,
        "signalled": signalled,
        "environment": sorted(os.environ),
        "hostname": socket.gethostname(),
    }
"""
# A documentation address (RFC 5737): never routed, so a broken sandbox sends nothing real.
OUTSIDE_ADDRESS = "192.0.2.1"
PRIVATE_PORTS = (5432, 6379)
SECRET_NAMES = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")


def _entries_off_the_allow_list(directory: str) -> list[str]:
    """The entries of `directory` that hold nothing the sandbox may see.

    The Python installation may live under a home directory, and the virtual environment
    inside the project (`.venv`): those entries lead to allowed mounts and are skipped;
    every other entry (the project's code, settings, database) must be invisible.
    """
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    entries = [os.path.join(directory, name) for name in names]
    roots = (sys.base_prefix, *site.getsitepackages())
    allowed = [path + "/" for path in {*map(os.path.realpath, roots), *map(os.path.abspath, roots)}]
    return [path for path in entries if not any(prefix.startswith(path + "/") for prefix in allowed)][:40]


def check_isolation(pool: SandboxPool, extra_paths: tuple[str, ...] = ()) -> dict:
    """Run a probe in a fresh sandbox; raise SandboxUnavailable naming any isolation that is missing.

    Returns what the probe saw. `extra_paths` are more paths that must be invisible (the
    database file, the media folder...).
    """
    paths = [sys.executable, "/etc/passwd", "/proc/1/environ", "/var", *extra_paths]
    paths += _entries_off_the_allow_list(str(PROJECT_ROOT)) + _entries_off_the_allow_list(os.path.expanduser("~"))
    pids = [os.getpid()] + ([pool.zygote.pid] if pool.zygote else [])
    with pool.acquire() as sandbox:
        loaded = sandbox.load(PROBE, Limits(wall_seconds=10))
        if loaded.failure:
            raise SandboxUnavailable(f"the isolation probe did not load: {loaded.failure.message}")
        outcome = sandbox.call("probe", [paths, list(PRIVATE_PORTS), OUTSIDE_ADDRESS, pids])
    if outcome.failure or type(outcome.value) is not dict:
        raise SandboxUnavailable(f"the isolation probe failed: {outcome.failure and outcome.failure.message}")
    seen = outcome.value
    problems = []
    if seen["uid"] == 0 and pool.mode == "root":
        problems.append("the sandbox runs as root")
    if seen["capabilities"]:
        problems.append(f"the sandbox has capabilities {seen['capabilities']:#x}")
    if seen["pid"] != 1:
        problems.append("the sandbox is not in its own PID namespace")
    if seen["visible"]:
        problems.append(f"the sandbox can see {', '.join(seen['visible'])}")
    if seen["sockets_created"]:
        problems.append(
            f"the sandbox can create {', '.join(seen['sockets_created'])} sockets (the seccomp filter is missing)"
        )
    if seen["interfaces"] not in ([], ["lo"]) or seen["connected"]:
        problems.append(f"the sandbox has network access ({seen['interfaces']}, reached {seen['connected']})")
    if seen["signalled"]:
        problems.append(f"the sandbox can signal processes {seen['signalled']}")
    leaked = [name for name in seen["environment"] if name in SECRET_NAMES or name.startswith("DJANGO")]
    if leaked:
        problems.append(f"the sandbox environment holds {', '.join(leaked)}")
    if problems:
        raise SandboxUnavailable("sandbox isolation check failed: " + "; ".join(problems))
    return seen
