"""The sandbox that runs untrusted student code: isolated, limited, single-use, warm.

    with SandboxPool(size=2) as pool:
        check_isolation(pool)
        with pool.acquire() as sandbox:
            sandbox.load(source, Limits(wall_seconds=2))
            outcome = sandbox.call("softmax", [x], {"dim": -1})

Layers (each set up before any student code runs, or the sandbox refuses to start):
namespaces (mount, network, IPC, UTS, PID; user when not root), pivot_root into a read-only
allow-list view, an unprivileged uid distinct per sandbox, no capabilities, no_new_privs,
seccomp, rlimits that stay set, a scrubbed environment, only the protocol channel left open,
death with its zygote (or keeper); and for a "build it yourself" test, `pool.acquire(unavailable=rule)`:
torch's ready-made pieces taken away (ready_made.py).
"""

from graders.sandbox.check import check_isolation
from graders.sandbox.isolation import SandboxUnavailable
from graders.sandbox.limits import CEILING, Limits
from graders.sandbox.pool import Failure, Outcome, Sandbox, SandboxPool
from graders.sandbox.wire import ModelRef, ProtocolError

__all__ = [
    "CEILING",
    "Failure",
    "Limits",
    "ModelRef",
    "Outcome",
    "ProtocolError",
    "Sandbox",
    "SandboxPool",
    "SandboxUnavailable",
    "check_isolation",
]
