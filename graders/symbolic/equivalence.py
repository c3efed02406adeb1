"""Equivalence of two answers, decided in a worker process that is killed when it runs out of time."""

from __future__ import annotations

import atexit
import json
import os
import random
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sympy

from graders.symbolic.conversion import expand_definitions, to_sympy
from graders.symbolic.latex import interpret
from graders.symbolic.parsing import MathInputError, MathSpec, parse

DEFAULT_TIME_LIMIT = 3.0

UNCHECKED_MESSAGE = "Your answer could not be checked; try a simpler form."


@dataclass
class Equivalence:
    """Whether an answer equals a reference. `equivalent` is None when it could not be decided."""

    equivalent: bool | None
    # How it was decided: identical, numeric, simplify, equals, timeout, undecided, invalid.
    method: str
    interpreted_as: str = ""
    message: str = ""


def _sample_value(assumption: str, generator: random.Random) -> sympy.Expr:
    if assumption == "integer":
        return sympy.Integer(generator.choice([-5, -4, -3, -2, 2, 3, 4, 5]))
    if assumption in ("positive", "nonnegative"):
        return sympy.Float(generator.uniform(0.1, 3.0), 30)
    return sympy.Float(generator.choice([-1, 1]) * generator.uniform(0.1, 2.5), 30)


def _numeric_verdict(student: sympy.Expr, reference: sympy.Expr, spec: MathSpec, seed: int) -> str:
    """ "different", "agree" or "unknown", from the values at random points allowed by the assumptions."""
    generator = random.Random(seed)  # noqa: S311 - sample points, not secrets
    symbols = sorted(student.free_symbols | reference.free_symbols, key=lambda symbol: symbol.name)
    agreeing = 0
    for _ in range(16):
        point = {
            symbol: _sample_value(spec.variables.get(symbol.name, "real"), generator) for symbol in symbols
        }
        values = []
        for expression in (student, reference):
            value = expression.evalf(30, subs=point)
            if not value.is_number or value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                break
            values.append(complex(value))
        if len(values) < 2:
            continue
        difference = abs(values[0] - values[1])
        if difference > 1e-10 * max(1.0, abs(values[0]), abs(values[1])):
            return "different"
        agreeing += 1
        if agreeing == 8:
            return "agree"
    return "unknown"


def decide_equivalence(
    student_text: str, reference_text: str, spec: MathSpec, seed: int = 0, on_numeric=None
) -> tuple[bool | None, str]:
    """(equivalent, method) with no time limit: run it through `compare`, which has one.

    `on_numeric`, if given, hears the random points' verdict ("agree" or "unknown") before
    sympy starts on a proof that may take longer than the caller can wait.
    """
    student = expand_definitions(to_sympy(parse(student_text, spec), spec), spec)
    reference = expand_definitions(to_sympy(parse(reference_text, spec), spec), spec)
    difference = student - reference
    if difference == 0:
        return True, "identical"
    numeric = _numeric_verdict(student, reference, spec, seed)
    if numeric == "different":
        return False, "numeric"
    if on_numeric is not None:
        on_numeric(numeric)
    if sympy.simplify(difference) == 0:
        return True, "simplify"
    decided = difference.equals(0)
    if decided is not None:
        return bool(decided), "equals"
    if numeric == "agree":
        return True, "numeric"
    return None, "undecided"


# The worker limits its own memory so that an exploding simplification fails there, not here.
WORKER_MEMORY_BYTES = 2 * 1024**3
WORKER_START_TIMEOUT = 30.0


class EquivalenceWorker:
    """A child Python process that decides equivalences one at a time, killed if it is too slow.

    sympy can run for minutes inside one call, and a thread cannot be stopped; killing a
    process is the only limit that always holds. The child is started once and reused; after
    a kill a new one is started straight away so that the next check finds it warm.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._ready = False
        self._buffer = b""
        self._lock = threading.Lock()

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "graders.symbolic.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            close_fds=True,
        )
        self._owner_pid = os.getpid()
        self._ready = False
        self._buffer = b""

    def _read_line(self, timeout: float) -> bytes | None:
        assert self._process is not None
        assert self._process.stdout is not None
        deadline = time.monotonic() + timeout
        descriptor = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([descriptor], [], [], remaining)
            if readable:
                chunk = os.read(descriptor, 65536)
                if not chunk:
                    return b""
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _ensure_ready(self) -> None:
        # A process inherited through fork belongs to the parent: start our own.
        if self._process is None or self._process.poll() is not None or self._owner_pid != os.getpid():
            self._start()
        if not self._ready:
            if self._read_line(WORKER_START_TIMEOUT) != b'{"ready": true}':
                self.stop()
                raise RuntimeError("the equivalence worker did not start")
            self._ready = True

    def request(self, payload: dict, time_limit: float) -> tuple[dict | None, str | None]:
        """(the worker's answer to `payload`, or None if it took longer than `time_limit` seconds;
        the random points' verdict if the worker got that far)."""
        with self._lock:
            self._ensure_ready()
            assert self._process is not None
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(payload).encode() + b"\n")
            self._process.stdin.flush()
            deadline = time.monotonic() + time_limit
            numeric = None
            while line := self._read_line(deadline - time.monotonic()):
                message = json.loads(line)
                if "numeric" not in message:
                    return message, numeric
                numeric = message["numeric"]
            # Too slow (or it died): kill it, and start the next one now so that it is warm.
            self.stop()
            self._start()
            return None, numeric

    def stop(self) -> None:
        if self._process is not None and self._owner_pid == os.getpid():
            self._process.kill()
            self._process.wait()
        self._process = None


_worker = EquivalenceWorker()
atexit.register(_worker.stop)


def compare(
    student_text: str, reference_text: str, spec: MathSpec, *, time_limit: float = DEFAULT_TIME_LIMIT
) -> Equivalence:
    """Is the student's answer equal to the reference for every value the assumptions allow?

    An unreadable answer is not equivalent (method "invalid", message says why). An unreadable
    reference raises MathInputError: that is the author's mistake. Running out of time or
    undecidable gives equivalent=None with UNCHECKED_MESSAGE, unless the random points
    agreed before time ran out (then it is equivalent, method "numeric", as when sympy
    answers "cannot tell").
    """
    parse(reference_text, spec)
    try:
        interpreted_as = interpret(student_text, spec)
    except MathInputError as error:
        return Equivalence(False, "invalid", message=str(error))
    response, numeric = _worker.request(
        {"student": student_text, "reference": reference_text, "spec": spec.to_dict()}, time_limit
    )
    if response is None:
        # sympy could not decide in time; the random points, if they all agreed, still can.
        if numeric == "agree":
            return Equivalence(True, "numeric", interpreted_as)
        return Equivalence(None, "timeout", interpreted_as, UNCHECKED_MESSAGE)
    if response["equivalent"] is None:
        return Equivalence(None, response["method"], interpreted_as, UNCHECKED_MESSAGE)
    return Equivalence(response["equivalent"], response["method"], interpreted_as)
