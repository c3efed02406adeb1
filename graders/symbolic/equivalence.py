"""Equivalence of two answers, decided in a worker process that is killed when it runs out of time.

How an answer is decided (`decide_equivalence`, run by the worker):

1. Both answers are read (never eval'd), defined names are replaced by their expressions,
   and sympy's automatic simplification may already make them identical. An answer that is
   a real number nowhere while the reference is one (1/0, sqrt(-1)) is not equivalent, and
   the message says why.
2. They are compared on the real domain (`realdomain`): at random points allowed by the
   variables' assumptions where both are real and finite. One confirmed disagreement: not
   equivalent. Enough agreeing points: equivalent.
3. Where the points cannot settle it (too few points lie in both domains, or an undefined
   function f(x) has no value), sympy tries to prove the difference zero. It can only prove
   an answer right: sympy reasons on complex numbers, and its "not equal" once called
   correct real answers wrong. Without a proof, the answer is undecided and goes to a person.

The answer test changes what is compared (an antiderivative is right up to a constant: its
derivative by the variable of integration is compared; a substitution-equivalent answer may
rename the variables) and the tolerance when two values count as equal (none by default: the
float policy says what number a decimal is).
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import random
import select
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import sympy
from sympy.core.function import AppliedUndef

from graders.symbolic.conversion import expand_definitions, symbols_of, to_sympy
from graders.symbolic.forms import FORMS, HINTS, form_problems
from graders.symbolic.latex import interpret
from graders.symbolic.parsing import MathInputError, MathSpec, infer_names, name_key, parse
from graders.symbolic.realdomain import (
    NO_VALUE_REASONS,
    Tolerance,
    compare_on_real_domain,
    nowhere_real,
    why_not_real,
)

DEFAULT_TIME_LIMIT = 3.0

UNCHECKED_MESSAGE = "Your answer could not be checked; try a simpler form."

TEST_KINDS = ("equivalent", "antiderivative", "substitution")
# Names a student may use for the constant of an antiderivative when the part does not declare them.
INTEGRATION_CONSTANTS = ("C", "c", "K", "k")
# Substitution equivalence tries every renaming of up to this many variables (720 of them).
MAX_RENAMED_VARIABLES = 6


@dataclass
class AnswerTest:
    """How an answer is compared with the reference (STACK calls these answer tests).

    `kind`: "equivalent" (the default), "antiderivative" (right up to an additive constant,
    for integrals) or "substitution" (right up to the names of the variables). The
    tolerances, when given, let values differ (a numeric answer with variables); otherwise
    answers must agree exactly, as the float policy of the spec reads their decimals.
    `variable` is the variable of integration of an antiderivative (see `integration_variables`).
    """

    kind: str = "equivalent"
    variable: str = ""
    relative_tolerance: float = 0.0
    absolute_tolerance: float = 0.0
    significant_figures: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def tolerance(self) -> Tolerance:
        # Without one the values must agree; the float policy has decided what number a decimal
        # is: the rational it writes (exact), or a binary float (machine).
        return Tolerance(self.relative_tolerance, self.absolute_tolerance, self.significant_figures)


@dataclass
class Equivalence:
    """Whether an answer equals a reference. `equivalent` is None when it was not decided: the
    answer could not be read (method "invalid", the message says why), or not settled in time."""

    equivalent: bool | None
    # How it was decided: identical, numeric (the real-domain points), simplify (sympy proved
    # it), timeout, undecided, invalid (unreadable: never compared, so never "not equivalent"),
    # undefined (no value at all, as 1/0: the student fixes it, as an unreadable answer).
    method: str
    interpreted_as: str = ""
    message: str = ""


def _expression(text: str, spec: MathSpec) -> sympy.Expr:
    return expand_definitions(to_sympy(parse(text, spec), spec), spec)


def student_spec(student_text: str, spec: MathSpec, test: AnswerTest) -> MathSpec:
    """The spec the student's answer is read with: the part's, plus the names the test allows."""
    # Spellings are compared as the parser resolves them: z1 is z_1 (unless names are exact),
    # an alias is its name.
    key = (lambda name: name) if spec.exact_names else name_key
    known = {key(name) for name in spec.declared_names()}
    known |= {key(spelling) for spellings in spec.aliases.values() for spelling in spellings}
    if test.kind == "antiderivative":
        extra = [name for name in INTEGRATION_CONSTANTS if name not in known]
        return replace(spec, variables={**spec.variables, **dict.fromkeys(extra, "real")})
    if test.kind == "substitution":
        variables, _functions = infer_names(student_text)
        new = {name: "real" for name in sorted(variables) if key(name) not in known}
        return replace(spec, variables={**spec.variables, **new})
    return spec


def integration_variables(test: AnswerTest, spec: MathSpec, reference: sympy.Expr) -> list[str]:
    """The variables an antiderivative is differentiated by: the test's `variable` if it names one;
    else the declared variables that are not constant letters (C, c, K, k); else, when all are,
    those the reference depends on other than through an added constant (k in k^2/2 + C).

    Never a constant of the reference: with `x^2/2 + C` for the key, C is differentiated by
    nobody, so `x^2/2`, `x^2/2 + K` and `x^2/2 + 5` are right.
    """
    if test.variable:
        return [name for name in spec.variables if name_key(name) == name_key(test.variable)]
    names = [name for name in spec.variables if name not in INTEGRATION_CONSTANTS]
    if names:
        return names
    symbols = symbols_of(spec)
    return [name for name in spec.variables if not sympy.diff(reference, symbols[name]).is_number]


def decide_equivalence(
    student_text: str,
    reference_text: str,
    spec: MathSpec,
    seed: int = 0,
    on_numeric=None,
    test: AnswerTest | None = None,
) -> tuple[bool | None, str]:
    """(equivalent, method) with no time limit: run it through `compare`, which has one.

    `on_numeric`, if given, hears "unknown" when the real-domain points could not settle it,
    before sympy starts on a proof that may take longer than the caller can wait.
    """
    equivalent, method, _message = decide(
        student_text, reference_text, spec, seed=seed, on_numeric=on_numeric, test=test
    )
    return equivalent, method


def decide(
    student_text: str,
    reference_text: str,
    spec: MathSpec,
    *,
    seed: int = 0,
    on_numeric=None,
    test: AnswerTest | None = None,
) -> tuple[bool | None, str, str]:
    """(equivalent, method, message for the student) as `decide_equivalence`, for the worker."""
    test = test or AnswerTest()
    readable_spec = student_spec(student_text, spec, test)
    student = _expression(student_text, readable_spec)
    reference = _expression(reference_text, spec)
    tolerance = test.tolerance()
    # 1/0 or sqrt(-1) against a reference with real values is wrong, whatever the test (the
    # derivative of 1/0 is 0 for sympy): never a question for a person.
    reason = nowhere_real(student, reference, readable_spec.variables, seed)
    if reason:
        reason, anywhere = _why_not_real_as_written(student_text, student, readable_spec, reason)
        if reason in NO_VALUE_REASONS:
            # 1/0 is no number at all: not a wrong value but an answer to fix, as an unreadable one is.
            return None, "undefined", f"Your answer has no value{anywhere}: it {reason}. Check the denominators."
        return False, "numeric", f"Your answer is not a real number{anywhere}: it {reason}."
    if test.kind == "substitution":
        return _decide_substitution(student, reference, readable_spec, tolerance, seed, on_numeric)
    if test.kind == "antiderivative":
        # Right up to a constant: the difference does not change with the variable of
        # integration. Whatever else is added (C, K, 5, log(k) from ln(k x)) is the constant.
        symbols = symbols_of(readable_spec)
        variables = [symbols[name] for name in integration_variables(test, spec, reference)]
        if not variables:
            return True, "identical", ""
        pairs = [(sympy.diff(student - reference, variable), sympy.Integer(0)) for variable in variables]
    else:
        pairs = [(student, reference)]
    verdicts = [_decide_pair(left, right, readable_spec, tolerance, seed, on_numeric) for left, right in pairs]
    for equivalent, method in verdicts:
        if equivalent is False:
            return False, method, ""
    for equivalent, method in verdicts:
        if equivalent is None:
            return None, method, ""
    return True, verdicts[0][1], ""


def _why_not_real_as_written(student_text: str, student: sympy.Expr, spec: MathSpec, reason: str) -> tuple[str, str]:
    """(why, " anywhere" or ""), for "Your answer is not a real number anywhere: it divides by zero":
    the reason read from the answer as written where it can be (log(0) takes the logarithm of 0
    there, where sympy's evaluated zoo would say it divides by zero)."""
    try:
        with sympy.evaluate(False):
            written = expand_definitions(to_sympy(parse(student_text, spec), spec), spec)
    except Exception:
        # sympy may fail to build an expression unevaluated: the evaluated one's reason will do.
        written = None
    if written is not None:
        reason = why_not_real(written, spec.variables) or reason
    anywhere = " anywhere" if (student if written is None else written).free_symbols else ""
    return reason, anywhere


def _decide_pair(
    student: sympy.Expr, reference: sympy.Expr, spec: MathSpec, tolerance: Tolerance, seed: int, on_numeric
) -> tuple[bool | None, str]:
    difference = student - reference
    if difference == 0:
        return True, "identical"
    verdict = compare_on_real_domain(student, reference, spec.variables, tolerance, seed)
    if verdict.verdict == "different":
        return False, "numeric"
    if verdict.verdict == "agree":
        return True, "numeric"
    if _differs_for_some_function(student, reference, spec, tolerance, seed):
        return False, "numeric"
    if on_numeric is not None:
        on_numeric("unknown")
    # Only a proof may settle what the points could not; sympy's doubts are not evidence.
    if sympy.simplify(difference) == 0:
        return True, "simplify"
    if sympy.simplify(difference.rewrite(sympy.exp)) == 0:
        return True, "simplify"
    return None, "undecided"


def _differs_for_some_function(
    student: sympy.Expr, reference: sympy.Expr, spec: MathSpec, tolerance: Tolerance, seed: int
) -> bool:
    """Do the answers differ once each undefined function f is replaced by some concrete function?

    An identity in f holds for every f: one f for which the answers differ proves them
    different (f(x) against f(-x)). Agreeing for a few f proves nothing, so it never makes
    an answer right.
    """
    undefined = {call.func for call in (student.atoms(AppliedUndef) | reference.atoms(AppliedUndef))}
    if not undefined:
        return False
    generator = random.Random(seed)  # noqa: S311 - test functions, not secrets

    def coefficient() -> sympy.Rational:
        return sympy.Rational(generator.randint(-9, 9) or 1, generator.randint(1, 5))

    for _ in range(3):
        concrete = {function: _test_function([coefficient() for _ in range(8)]) for function in undefined}
        student_now, reference_now = student, reference
        for function, replacement in concrete.items():
            student_now = student_now.replace(function, replacement)
            reference_now = reference_now.replace(function, replacement)
        verdict = compare_on_real_domain(student_now, reference_now, spec.variables, tolerance, seed)
        if verdict.verdict == "different":
            return True
    return False


def _test_function(weights: list[sympy.Rational]):
    """A smooth function of any number of arguments, with no symmetry an identity could rely on."""

    def apply(*arguments: sympy.Expr) -> sympy.Expr:
        waves = sum(
            weights[index % 4] * sympy.sin(weights[4 + index % 4] * argument + index + 1)
            for index, argument in enumerate(arguments)
        )
        return waves + weights[1] * sympy.Mul(*arguments) ** 2 + weights[2]

    return apply


def _decide_substitution(
    student: sympy.Expr, reference: sympy.Expr, spec: MathSpec, tolerance: Tolerance, seed: int, on_numeric
) -> tuple[bool | None, str, str]:
    equivalent, method = _decide_pair(student, reference, spec, tolerance, seed, on_numeric)
    if equivalent is not False:
        return equivalent, method, ""
    mine = sorted(student.free_symbols - reference.free_symbols, key=lambda symbol: symbol.name)
    theirs = sorted(reference.free_symbols - student.free_symbols, key=lambda symbol: symbol.name)
    shared = sorted(student.free_symbols & reference.free_symbols, key=lambda symbol: symbol.name)
    # Rename the names the two answers do not share; then, if that is not enough, all of them.
    for own, targets in ((mine, theirs), (mine + shared, theirs + shared)):
        if not own or len(own) != len(targets) or len(own) > MAX_RENAMED_VARIABLES:
            continue
        for permutation in itertools.permutations(targets):
            renaming = dict(zip(own, permutation, strict=True))
            if all(old == new for old, new in renaming.items()):
                continue
            renamed = student.xreplace(renaming)
            verdict = compare_on_real_domain(renamed, reference, spec.variables, tolerance, seed)
            if verdict.verdict == "agree" or (renamed - reference) == 0:
                names = ", ".join(f"{old} as {new}" for old, new in renaming.items() if old != new)
                return True, "numeric", f"Right, reading {names}."
    return False, method, ""


def check_forms(student_text: str, spec: MathSpec, forms: list[str]) -> list[str]:
    """The forms the answer is not in, with no time limit: run it through `forms_of`, which has one."""
    return form_problems(parse(student_text, spec), spec, forms)


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
        # poll, not select: select refuses descriptors numbered 1,024 or above.
        poller = select.poll()
        poller.register(descriptor, select.POLLIN | select.POLLHUP | select.POLLERR)
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if poller.poll(remaining * 1000):
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

    def warm(self) -> None:
        """Start the worker now, if it is not running, and wait until it is ready (about 1-3 s)."""
        with self._lock:
            self._ensure_ready()

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
    student_text: str,
    reference_text: str,
    spec: MathSpec,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    test: AnswerTest | None = None,
) -> Equivalence:
    """Is the student's answer equal to the reference for every real value the assumptions allow?

    An unreadable answer is not judged: equivalent=None, method "invalid", and the message says
    why (the student fixes it; it is not wrong, and no person needs to look). An unreadable
    reference raises MathInputError: that is the author's mistake. Running out of time or
    undecidable gives equivalent=None with UNCHECKED_MESSAGE: a person decides.
    """
    test = test or AnswerTest()
    parse(reference_text, spec)
    try:
        interpreted_as = interpret(student_text, student_spec(student_text, spec, test))
    except MathInputError as error:
        return Equivalence(None, "invalid", message=str(error))
    response, _numeric = _worker.request(
        {
            "request": "compare",
            "student": student_text,
            "reference": reference_text,
            "spec": spec.to_dict(),
            "test": test.to_dict(),
        },
        time_limit,
    )
    if response is None:
        return Equivalence(None, "timeout", interpreted_as, UNCHECKED_MESSAGE)
    if response["equivalent"] is None and response["method"] != "undefined":
        return Equivalence(None, response["method"], interpreted_as, UNCHECKED_MESSAGE)
    return Equivalence(response["equivalent"], response["method"], interpreted_as, response.get("message", ""))


def forms_of(
    student_text: str,
    spec: MathSpec,
    forms: list[str],
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    test: AnswerTest | None = None,
) -> list[str] | None:
    """The forms of `forms` (see forms.FORMS) the answer is not in; None if that took too long.

    `test` is the answer test the answer passed, for the names it allows (a constant C).
    """
    unknown = sorted(set(forms) - set(FORMS))
    if unknown:
        raise ValueError(f"unknown form `{unknown[0]}`; the forms are {', '.join(FORMS)}")
    if not forms:
        return []
    readable_spec = student_spec(student_text, spec, test or AnswerTest())
    response, _numeric = _worker.request(
        {"request": "forms", "student": student_text, "spec": readable_spec.to_dict(), "forms": forms}, time_limit
    )
    if response is None or response.get("forms") is None:
        return None
    return response["forms"]


def form_hint(problems: list[str]) -> str:
    """What to tell a student whose right answer is not in the asked form."""
    return " ".join(HINTS[problem] for problem in problems)
