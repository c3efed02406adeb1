"""Hostile submissions against the softmax exercise: each gets the verdict it must, and the next
correct submission through the same pool still gets full marks (nothing contaminates the pool)."""

import json
import os
import site
import textwrap

import pytest

from graders.code import exercise_files, grade_code
from graders.sandbox.pool import PROJECT_ROOT
from tests.security.conftest import EXERCISE, sandbox_processes, settled

CORRECT = (EXERCISE / "solution.py").read_text()
FULL_MARKS = 4.0
SETTINGS = PROJECT_ROOT / "attentive" / "settings.py"
SOLUTION = EXERCISE / "solution.py"


TMP_ON_THE_WAY_TO_SITE_PACKAGES = sorted(
    {path.split("/")[2] for path in map(os.path.realpath, site.getsitepackages()) if path.startswith("/tmp/")}
) or None


def attempt(body):
    """A softmax that runs `body` and reports what it found by raising: visible tests show the message."""
    return "import os, sys, torch\n\ndef softmax(x, dim=-1):\n" + textwrap.indent(
        textwrap.dedent(body), "    "
    )


def at_import(body, then=CORRECT):
    return textwrap.dedent(body) + "\n" + then


CASES = [
    # Reading what must stay out of view: each attempt fails with "No such file".
    pytest.param(
        attempt(f"return open({str(SETTINGS)!r}).read()"), 0, ["FileNotFoundError"], id="read-settings"
    ),
    pytest.param(attempt("return open(DATABASE).read()"), 0, ["FileNotFoundError"], id="read-database"),
    pytest.param(
        attempt(f"return open({str(SOLUTION)!r}).read()"), 0, ["FileNotFoundError"], id="read-solution"
    ),
    pytest.param(
        attempt("return open('/proc/1/environ').read()"), 0, ["FileNotFoundError"], id="proc-1-environ"
    ),
    pytest.param(attempt("return open('/etc/passwd').read()"), 0, ["FileNotFoundError"], id="etc-passwd"),
    pytest.param(attempt("return os.listdir('/root/.ssh')"), 0, ["FileNotFoundError"], id="root-home"),
    pytest.param(
        attempt(
            "tmp = sorted(os.listdir('/tmp')) if os.path.exists('/tmp') else None\n"
            "raise ValueError(f\"seen {os.listdir('/home')} {os.listdir('.')} {tmp}\")"
        ),
        0,
        # /tmp shows only when the virtual environment lives under it, and then only the way there.
        [f"seen ['student'] [] {TMP_ON_THE_WAY_TO_SITE_PACKAGES}"],
        id="other-submissions",
    ),
    pytest.param(
        attempt("import graders.code\nreturn x"), 0, ["ModuleNotFoundError"], id="import-grader-code"
    ),
    # The network: none at all.
    pytest.param(
        attempt("import socket\nsocket.create_connection(('127.0.0.1', 6379), timeout=1)"),
        0,
        ["Errno"],
        id="redis",
    ),
    pytest.param(
        attempt("import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=1)"),
        0,
        ["Errno"],
        id="postgres",
    ),
    pytest.param(
        attempt("import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=1)"),
        0,
        ["Operation not permitted"],
        id="outside-host",
    ),
    pytest.param(attempt("import socket\nsocket.getaddrinfo('pypi.org', 443)"), 0, ["gaierror"], id="dns"),
    # Resources: each limit is named; the grader survives.
    pytest.param(at_import("while True:\n    os.fork()", "import os\n" + CORRECT), 0, [], id="fork-bomb"),
    pytest.param(
        at_import("hog = bytearray(10**10)"),
        0,
        ["Memory limit of 256 MB exceeded while loading"],
        id="memory-bomb",
    ),
    pytest.param(
        attempt("return torch.empty(10**10)"),
        0,
        ["Memory limit of 256 MB exceeded in test"],
        id="tensor-memory-bomb",
    ),
    pytest.param(
        attempt("while True:\n    pass"),
        0,
        ["Time limit of 1 s exceeded in test `Matches the reference`"],
        id="infinite-loop",
    ),
    pytest.param(
        at_import("import time\ntime.sleep(10**6)"),
        0,
        ["Time limit of 1 s exceeded while loading"],
        id="sleep-forever",
    ),
    pytest.param(
        attempt("print('x' * 100_000_000)"), 0, ["Output limit of 16 KB exceeded in test"], id="100-mb-output"
    ),
    pytest.param(
        at_import("""
            import itertools
            try:
                for n in itertools.count():
                    with open(f"/home/student/fill{n}", "wb") as handle:
                        handle.write(bytes(512 * 1024))
            except OSError:
                pass
        """),
        FULL_MARKS,
        [],
        id="fill-the-disk",
    ),
    pytest.param(
        attempt("return torch.zeros(20_000_000)"),
        0,
        ["returned something the grader cannot read (a reply larger than the grader accepts)"],
        id="oversized-reply",
    ),
    pytest.param(
        attempt("v = []\nfor _ in range(1000):\n    v = [v]\nreturn v"),
        0,
        ["nested more than"],
        id="deeply-nested-reply",
    ),
    # Signals and exits.
    pytest.param(
        at_import("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
        FULL_MARKS,
        [],
        id="kill-parent",
    ),
    # kill(-1) finds no process it may signal: the sandbox is alone in its PID namespace.
    pytest.param(
        at_import("import os, signal\nos.kill(-1, signal.SIGKILL)"),
        0,
        ["ProcessLookupError"],
        id="kill-minus-one",
    ),
    pytest.param(
        at_import("import sys\nsys.exit(0)"), 0, ["called sys.exit(0) while loading"], id="sys-exit"
    ),
    pytest.param(at_import("import os\nos._exit(0)"), 0, ["ended the Python process"], id="os-exit"),
    pytest.param(attempt("os._exit(0)"), 0, ["ended the Python process"], id="os-exit-in-call"),
    pytest.param(at_import("os.close(3)", "import os\n" + CORRECT), 0, [], id="close-the-channel"),
    pytest.param(
        at_import(
            """
            import ctypes, time
            ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # clear the parent-death signal
        """,
            "import time\ndef softmax(x, dim=-1):\n    time.sleep(10**6)\n",
        ),
        0,
        ["Time limit of 1 s exceeded"],
        id="no-parent-death-signal",
    ),
    pytest.param(at_import("import os\nos.setuid(0)"), 0, ["PermissionError"], id="setuid-root"),
    # Getting the kernel to SIGKILL the sandbox, which the grader would take for a kill from
    # outside (not scored, back to the queue): the limits cannot be changed once set.
    pytest.param(
        at_import("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (0, 0))\nwhile True:\n    pass"),
        0,
        ["raised an error while loading", "resource.setrlimit(resource.RLIMIT_CPU, (0, 0))"],
        id="setrlimit-cpu-zero",
    ),
    pytest.param(
        at_import("import resource\nresource.prlimit(0, resource.RLIMIT_CPU, (1, 1))\nwhile True:\n    pass"),
        0,
        ["PermissionError"],
        id="prlimit-cpu",
    ),
    pytest.param(
        at_import("""
            import ctypes
            class Limit(ctypes.Structure):
                _fields_ = [("soft", ctypes.c_ulong), ("hard", ctypes.c_ulong)]
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall(302 if ctypes.sizeof(ctypes.c_void_p) == 8 else 340, 0, 0, ctypes.byref(Limit(0, 0)), None)
            libc.setrlimit(0, ctypes.byref(Limit(0, 0)))
            while True:
                pass
        """),
        0,
        ["Time limit of 1 s exceeded while loading"],
        id="raw-prlimit64-and-setrlimit",
    ),
    pytest.param(
        at_import("""
            import os, resource
            child = os.fork()
            if child == 0:
                try:
                    resource.prlimit(1, resource.RLIMIT_CPU, (0, 0))
                finally:
                    os._exit(0)
            os.waitpid(child, 0)
            while True:
                pass
        """),
        0,
        ["Time limit of 1 s exceeded while loading"],
        id="child-lowers-the-limit-of-pid-1",
    ),
    pytest.param(
        at_import("""
            import os, resource
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        """),
        0,
        ["PermissionError"],
        id="real-time-scheduling",
    ),
    pytest.param(
        at_import("""
            import fcntl, os, signal
            fcntl.fcntl(3, fcntl.F_SETOWN, os.getpid())
            fcntl.fcntl(3, 10, signal.SIGKILL)  # F_SETSIG: SIGKILL when the grader writes the next request
            fcntl.fcntl(3, fcntl.F_SETFL, fcntl.fcntl(3, fcntl.F_GETFL) | os.O_ASYNC)
        """),
        FULL_MARKS,
        [],
        id="sigkill-on-the-next-request",
    ),
    pytest.param(
        at_import("""
            import ctypes, os, signal
            class SignalInfo(ctypes.Structure):
                _fields_ = [("signo", ctypes.c_int), ("errno", ctypes.c_int), ("code", ctypes.c_int),
                            ("rest", ctypes.c_char * 116)]
            SI_KERNEL = 0x80  # "sent by the kernel": delivered even to PID 1 of the namespace
            libc = ctypes.CDLL(None, use_errno=True)
            forged = ctypes.byref(SignalInfo(signal.SIGKILL, 0, SI_KERNEL))
            libc.syscall(129, os.getpid(), signal.SIGKILL, forged)  # rt_sigqueueinfo
            libc.syscall(297, os.getpid(), os.getpid(), signal.SIGKILL, forged)  # rt_tgsigqueueinfo
            pidfd = os.pidfd_open(os.getpid())
            libc.syscall(424, pidfd, signal.SIGKILL, forged, 0)  # pidfd_send_signal
            print("still here")
        """),
        FULL_MARKS,
        ["still here"],
        id="sigkill-with-a-forged-kernel-siginfo",
    ),
    pytest.param(
        at_import("""
            import ctypes
            ctypes.CDLL(None).prctl(22, 1, 0, 0, 0)  # strict seccomp: SIGKILL at the next system call
            print("still here")
        """),
        FULL_MARKS,
        ["still here"],
        id="strict-seccomp",
    ),
    pytest.param(
        at_import("""
            import ctypes
            class Instruction(ctypes.Structure):
                _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                            ("k", ctypes.c_uint32)]
            class Program(ctypes.Structure):
                _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]
            kill_everything = (Instruction * 1)(Instruction(6, 0, 0, 0x80000000))
            ctypes.CDLL(None).prctl(22, 2, ctypes.byref(Program(1, kill_everything)), 0, 0)
        """),
        0,
        ["crashed the Python process with signal SIGSYS"],
        id="own-seccomp-filter-that-kills",
    ),
    pytest.param(
        at_import(f"""
            import ctypes
            ctypes.CDLL(None).unshare(0x10000000 | 0x00020000)  # a user namespace gives capabilities...
            open({str(SETTINGS)!r})  # ...but only over the sandbox's own view
        """),
        0,
        ["FileNotFoundError"],
        id="new-user-namespace",
    ),
    # Cheating the comparison: nothing the student does reaches the trusted comparison.
    pytest.param(
        at_import(
            "torch.allclose = lambda *a, **k: True\n"
            "torch.isclose = lambda a, b, **k: torch.ones_like(a) > 0\n"
            "torch.Tensor.__eq__ = lambda self, other: True",
            "import torch\ndef softmax(x, dim=-1):\n    return x * 0\n",
        ).replace("torch.allclose", "import torch\ntorch.allclose", 1),
        0,
        ["differs at index"],
        id="monkeypatch-torch",
    ),
    pytest.param(
        at_import(
            "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.testing.assert_allclose = print",
            "def softmax(x, dim=-1):\n    return x * 0\n",
        ),
        0,
        ["differs at index"],
        id="monkeypatch-numpy",
    ),
    pytest.param(
        "class Cheat:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
        "def softmax(x, dim=-1):\n    return Cheat()\n",
        0,
        ["returned a Cheat object"],
        id="eq-override",
    ),
    pytest.param(
        "import numpy\nclass Cheat:\n    def __array__(self, *a, **k):\n        return numpy.ones(3)\n"
        "def softmax(x, dim=-1):\n    return Cheat()\n",
        0,
        ["returned a Cheat object"],
        id="array-protocol",
    ),
    pytest.param(
        "import torch\nclass Cheat(torch.Tensor):\n    def __eq__(self, other):\n        return True\n"
        "def softmax(x, dim=-1):\n    return x.as_subclass(Cheat)\n",
        0,
        ["returned a tensor subclass"],
        id="tensor-subclass",
    ),
    pytest.param(
        "import torch\nclass Cheat(torch.Tensor):\n    @classmethod\n"
        "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n        return True\n"
        "def softmax(x, dim=-1):\n    return torch.Tensor._make_subclass(Cheat, x)\n",
        0,
        ["returned a tensor subclass"],
        id="torch-function-override",
    ),
    pytest.param(
        "import json\ndef softmax(x, dim=-1):\n"
        "    print(json.dumps({'status': 'graded', 'score': 4, 'max_score': 4, 'tests': []}))\n"
        "    return x\n",
        0,
        ["differs at index"],
        id="print-fake-verdict",
    ),
    # A forged frame can only carry a value (which the student could have returned anyway), never a verdict.
    # The platform's modules cannot be imported (their files are outside the sandbox's view),
    # but the encoder is still in memory (frozen out of the collector's lists): find it and
    # forge with it.
    pytest.param(
        "import gc, os, torch\ngc.unfreeze()\n"
        "encode = next(f for f in gc.get_objects() if getattr(f, '__module__', None) == 'graders.sandbox.wire'"
        " and getattr(f, '__name__', None) == 'encode')\n"
        "def softmax(x, dim=-1):\n"
        "    os.write(3, encode({'id': 2, 'ok': True, 'value': x, 'passed': True, 'score': 4}))\n"
        "    return x\n",
        0,
        ["Your code wrote to the grader's channel", "Nothing of this submission can be graded"],
        id="forge-a-reply-frame",
    ),
    pytest.param(
        "from content.nlp2llm.reference import softmax\n",
        0,
        ["No module named 'content'"],
        id="import-the-reference-implementations",
    ),
    pytest.param(
        at_import("""
            import threading
            def spin():
                while True:
                    sum(range(1000))
            for _ in range(3):
                threading.Thread(target=spin, daemon=True).start()
        """),
        FULL_MARKS,
        [],
        id="threads-left-running",
    ),
    pytest.param(attempt("import ctypes\nctypes.string_at(0)"), 0, ["segmentation fault"], id="segfault"),
    # Looking for expected values: they never enter the sandbox.
    pytest.param(
        attempt("""
            import gc
            for obj in gc.get_objects():
                if isinstance(obj, torch.Tensor) and obj.shape == x.shape and obj is not x:
                    return obj
            return x
        """),
        0,
        ["differs at index"],
        id="gc-walk",
    ),
    pytest.param(
        attempt("""
            import inspect
            for frame in inspect.stack():
                for name, value in frame.frame.f_locals.items():
                    if name in ("expected", "reference") and isinstance(value, torch.Tensor):
                        return value
            return x
        """),
        0,
        ["differs at index"],
        id="inspect-stack",
    ),
    pytest.param(
        attempt(f"""
            popen = [c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == "Popen"]
            if not popen:
                import subprocess
                popen = [subprocess.Popen]
            popen[0](["/bin/cat", {str(SOLUTION)!r}]).wait()
        """),
        0,
        ["FileNotFoundError"],
        id="subclasses-escape",
    ),
    pytest.param(
        attempt("import subprocess\nsubprocess.run(['sh', '-c', 'cat /etc/passwd'])"),
        0,
        ["FileNotFoundError"],
        id="shell",
    ),
]


def verdict_text(verdict):
    return json.dumps(verdict.to_dict())


# Cases whose own work (walking the whole heap at import) needs more than the exercise's 1 s
# under a loaded machine: they get 20 s, so that they fail only for the reason they test.
PATIENT = {"forge-a-reply-frame"}


@pytest.mark.parametrize(("source", "score", "expected_text"), CASES)
def test_a_hostile_submission_gets_its_verdict_and_leaves_the_pool_clean(
    request, pool, database_file, source, score, expected_text
):
    source = source.replace("DATABASE", repr(str(database_file)))
    exercise = exercise_files(EXERCISE)
    if request.node.callspec.id in PATIENT:
        exercise["exercise.toml"] = exercise["exercise.toml"].replace("wall_seconds = 1", "wall_seconds = 20")
    verdict = grade_code(exercise, source, pool)
    text = verdict_text(verdict)
    assert verdict.status == "graded", text
    assert verdict.score == score, text
    for expected in expected_text:
        assert expected in text, text
    assert "database-secret" not in text
    assert "SECRET_KEY" not in text
    assert "def softmax(x, dim=-1):\n    shifted" not in text  # the reference solution's source
    assert settled(pool)
    assert sandbox_processes(pool) == []  # nothing the submission started outlives its grading
    after = grade_code(EXERCISE, CORRECT, pool)
    assert (after.status, after.score) == ("graded", FULL_MARKS), verdict_text(after)


def test_there_are_at_least_thirty_hostile_cases():
    assert len(CASES) >= 30
