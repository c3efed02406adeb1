"""Each resource limit ends in a failure that names it, and never hangs or crashes the grader."""

import os
import time

import pytest

from graders.sandbox import Limits
from tests.sandbox.conftest import run

SMALL = Limits(
    cpu_seconds=1, wall_seconds=3, memory_mb=128, processes=8, file_size_mb=1, open_files=32, output_kb=16
)
# For the CPU limit, a wall clock far above it: on a loaded machine a loop gets a fraction of a
# core, and 3 s of wall time could pass before 1 s of CPU did.
SMALL_CPU = Limits(
    cpu_seconds=1, wall_seconds=20, memory_mb=128, processes=8, file_size_mb=1, open_files=32, output_kb=16
)

CASES = [
    ("time", "import time\ndef main():\n    time.sleep(60)\n", "time limit of 3 s exceeded"),
    ("cpu", "def main():\n    while True:\n        pass\n", "CPU time limit of 1 s exceeded"),
    (
        "memory",
        "def main():\n    blocks = []\n    while True:\n        blocks.append(bytearray(16 << 20))\n",
        "memory limit of 128 MB exceeded",
    ),
    (
        "memory",
        "import torch\ndef main():\n    return torch.ones(1 << 30).sum()\n",
        "memory limit of 128 MB exceeded",
    ),
    (
        "processes",
        "import threading, time\ndef main():\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n",
        "process limit of 8 processes and threads exceeded",
    ),
    (
        "processes",
        "import os, time\ndef main():\n    while True:\n"
        "        if os.fork() == 0:\n            time.sleep(60)\n",
        "process limit of 8 processes and threads exceeded",
    ),
    (
        "file_size",
        "def main():\n    with open('big', 'wb') as handle:\n        handle.write(bytes(2 << 20))\n",
        "file size limit of 1 MB exceeded",
    ),
    (
        "open_files",
        "def main():\n    handles = [open('/dev/null') for _ in range(100)]\n",
        "open files limit of 32 exceeded",
    ),
    ("output", "def main():\n    while True:\n        print('x' * 1000)\n", "output limit of 16 KB exceeded"),
    (
        "output",
        "import os\ndef main():\n    while True:\n        os.write(2, b'y' * 65536)\n",
        "output limit of 16 KB exceeded",
    ),
]


@pytest.mark.parametrize(
    ("kind", "source", "message"), CASES, ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)]
)
def test_a_limit_gives_a_failure_that_names_it(pool, kind, source, message):
    limits = SMALL_CPU if kind == "cpu" else SMALL
    started = time.monotonic()
    loaded, outcome = run(pool, source, limits=limits)
    assert loaded.failure is None
    assert outcome.failure is not None
    assert (outcome.failure.kind, outcome.failure.message) == (kind, message)
    assert time.monotonic() - started < limits.wall_seconds + 5


def test_a_call_timeout_overrides_the_wall_limit(pool):
    _loaded, outcome = run(pool, "import time\ndef main():\n    time.sleep(5)\n", limits=SMALL, timeout=0.5)
    assert outcome.failure.message == "time limit of 0.5 s exceeded"
    assert outcome.duration_ms < 2000


def processes_of(uid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as handle:
                    status = handle.read()
            except OSError:
                continue
            if f"\nUid:\t{uid}\t" in status:
                found.append(int(entry))
    return found


def test_a_timeout_kills_threads_and_children_left_running(pool):
    source = (
        "import os, threading, time\n"
        "def start():\n"
        "    if os.fork() == 0:\n"
        "        while True:\n"
        "            os.write(1, b'child ')\n"
        "            time.sleep(0.05)\n"
        "    printing = lambda: [time.sleep(0.05) or print('thread') for _ in range(10**6)]\n"
        "    threading.Thread(target=printing).start()\n"
        "def main():\n"
        "    time.sleep(60)\n"
    )
    with pool.acquire() as sandbox:
        sandbox.load(source, SMALL)
        assert sandbox.call("start").failure is None
        assert len(processes_of(sandbox.uid)) == 2  # the sandbox and its child
        outcome = sandbox.call("main", timeout=0.5)
        assert outcome.failure.kind == "time"
        assert "child" in outcome.stdout
        assert "thread" in outcome.stdout
    deadline = time.monotonic() + 5
    while processes_of(sandbox.uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_of(sandbox.uid) == []


def test_limits_above_the_ceiling_are_refused(pool):
    with pool.acquire() as sandbox, pytest.raises(ValueError, match="ceiling"):
        sandbox.load("x = 1", Limits(memory_mb=10**6))
