"""The code checker: grades a student's functions in a sandbox against an exercise's trusted tests.

An exercise is a folder (or a dict of file name -> text, e.g. a stored version of the folder):

    exercise.toml   [limits] cpu_seconds, wall_seconds (per call), memory_mb, processes,
                    file_size_mb, open_files, output_kb; defaults in graders.sandbox.Limits
    solution.py     the reference solution; runs only in the trusted process
    tests.py        the tests; run only in the trusted process
    starter.py      what students start from (not read by the checker, part of the version hash)

A complete tests.py:

    import torch
    from graders.code import test

    @test(title="Rows sum to one", points=1)
    def rows_sum_to_one(t):
        x = t.randn(4, 7)
        got = t.call("softmax", x, dim=-1)
        t.check_close(got.sum(dim=-1), torch.ones(4), what="the sum of each row of the output")

    @test(title="Matches the reference", points=2)
    def matches_reference(t):
        x = t.randn(4, 7)
        t.check_close(t.call("softmax", x, dim=-1), t.reference("softmax", x, dim=-1))

    @test(title="Large logits", points=1, hidden=True, timeout=2)
    def large_logits(t):
        x = t.randn(3, 5) * 1000
        t.check_close(
            t.call("softmax", x, dim=-1),
            t.reference("softmax", x, dim=-1),
            nonfinite_hint="exp overflows for logits around 1000: subtract the maximum first",
        )

    @test(title="Gradient", points=2)
    def gradient(t):
        logits, labels = t.randn(8, 5), t.randint(0, 5, (8,))
        got, grads = t.call("cross_entropy", logits, labels, grad_of=[0])
        expected, expected_grads = t.reference("cross_entropy", logits, labels, grad_of=[0])
        t.check_close(got, expected)
        t.check_close(grads[0], expected_grads[0], what="the gradient with respect to logits")

A `torch.Generator` passed to `t.call` reaches the student's code as a generator in the same
state, and `t.reference` gets another copy: both draw the same random numbers, and the test's
own generator does not move.

A "build it yourself" rule takes torch's ready-made pieces away in the test that states it:

    from graders.sandbox.ready_made import ATTENTION, SOFTMAX

    @test(title="Built from exp, sum and max", points=1, forbids=SOFTMAX | ATTENTION,
          rule="That is torch's own softmax: build it yourself from `exp`, `sum` and `amax`.")
    def built_yourself(t):
        t.check_close(t.call("softmax", torch.zeros(4)), torch.full((4,), 0.25))

The test runs in a sandbox of its own where those kernels and torch's Python implementations
raise before the student's module loads (however they are reached: see ready_made.py), so a
call that needs one fails this test, with `rule` and the lines that spell a name of
`forbids.spelled`, and no other. `t.source` is the student's code as text, and `t.uses(names)`
the lines that spell a name, to point the student at a line.

Inputs are made in this process from a per-test seed (derived from the test's name, so a failure
replays); only the inputs enter the sandbox. Expected values come from `t.reference` (the
solution, run here). Visible tests run first, then hidden ones, so nothing a hidden test sends
into the sandbox can come back in a visible test's feedback; hidden tests show only their title,
pass/fail and a fixed text, never output or the real message: the author's `when_hidden_fails`
when the test's check failed, and otherwise what happened (not run, the student's code raised or
hit a limit), since the author's diagnosis of a wrong answer is false for an answer never given.
"""

from __future__ import annotations

# `test` below is the authoring decorator, not a pytest test: its defaults are fine.
# ruff: noqa: PT028
import ast
import builtins
import collections
import hashlib
import inspect
import math
import threading
import time
import tomllib
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from graders.sandbox import Failure, Limits, ModelRef, Outcome, Sandbox, SandboxPool, SandboxUnavailable
from graders.sandbox.models import build_model, import_model_modules
from graders.sandbox.pool import PROTOCOL_CATEGORIES
from graders.sandbox.ready_made import ReadyMade
from graders.sandbox.wire import GARBLED, TOO_LARGE
from graders.spec import ExerciseError, exercise_files, exercise_version
from graders.verdict import TestOutcome, Verdict

# Failures that are resource limits: the verdict's message names them and the test.
LIMIT_KINDS = ("time", "cpu", "memory", "output", "processes", "file_size", "open_files")
MAX_STDOUT_SHOWN = 8192


@dataclass(frozen=True)
class TestSpec:
    """One test as the author declared it."""

    name: str
    title: str
    points: float
    hidden: bool
    timeout: float | None
    function: Callable
    # What a "build it yourself" rule takes away in this test (None: nothing), and why, in words.
    forbids: ReadyMade | None = None
    rule: str = ""
    # What a failed hidden test tells the student instead of its real message: the kind of case.
    when_hidden_fails: str = ""

    __test__ = False


def test(
    title: str | None = None,
    *,
    points: float = 1.0,
    hidden: bool = False,
    timeout: float | None = None,
    forbids: ReadyMade | None = None,
    rule: str = "",
    when_hidden_fails: str = "",
    operators: bool = False,
) -> Callable[[Callable], Callable]:
    """Mark a function `f(t)` in tests.py as a test; `timeout` (seconds) applies to each call it makes.

    `forbids`: torch's ready-made pieces this test takes away ("build it yourself", see the
    module's docstring); the test runs in a sandbox made for that rule, where the submission can
    exec no program, and `rule` says in words why a call that needed one failed.
    `when_hidden_fails` is the fixed text a hidden test shows when its check fails (say what kind of
    case failed, never its inputs); without it, the student reads "A hidden test failed: <its title>."
    A hidden test that did not run, or during which the student's code raised or hit a limit, says
    that instead.
    """
    if operators:
        raise ExerciseError(
            "@test(operators=True) and t.check_built_without are gone: declare what the test takes away "
            "with forbids= (graders.sandbox.ready_made: SOFTMAX, LOSSES, ATTENTION) and say why with rule="
        )
    if (forbids is None) != (not rule):
        raise ExerciseError("@test(forbids=..., rule=...): give both, the pieces taken away and why in words")

    def decorator(function: Callable) -> Callable:
        name = function.__name__
        shown_title = title or name.replace("_", " ").capitalize()
        function.attentive_test = TestSpec(
            name=name,
            title=shown_title,
            points=float(points),
            hidden=hidden,
            timeout=timeout,
            function=function,
            forbids=forbids,
            rule=rule,
            when_hidden_fails=when_hidden_fails or f"A hidden test failed: {shown_title[:1].lower()}{shown_title[1:]}.",
        )
        return function

    return decorator


test.__test__ = False


class TestFailed(Exception):
    """A check failed; the message is the feedback."""

    __test__ = False


class StudentCodeFailed(Exception):
    """Student code raised, hit a limit or returned something unusable during a call."""

    def __init__(self, message: str, failure: Failure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass
class Exercise:
    """An exercise loaded in the trusted process."""

    version: str
    limits: Limits
    tests: list[TestSpec]
    solution: types.ModuleType


def load_exercise(files: Mapping[str, str]) -> Exercise:
    """Read the limits, run solution.py and tests.py here (trusted), and collect the tests."""
    for name in ("solution.py", "tests.py"):
        if name not in files:
            raise ExerciseError(f"the exercise has no {name}")
    try:
        table = tomllib.loads(files.get("exercise.toml", "")).get("limits", {})
        limits = Limits.from_table(table)
    except (tomllib.TOMLDecodeError, ValueError) as error:
        raise ExerciseError(f"exercise.toml: {error}") from None
    solution = _run_author_file(files, "solution.py")
    tests_module = _run_author_file(files, "tests.py")
    tests = [
        value.attentive_test for value in vars(tests_module).values() if hasattr(value, "attentive_test")
    ]
    if not tests:
        raise ExerciseError("tests.py defines no test (decorate functions with @test)")
    names = [spec.name for spec in tests]
    if len(set(names)) != len(names):
        raise ExerciseError("two tests share a name")
    return Exercise(exercise_version(files), limits, tests, solution)


def _run_author_file(files: Mapping[str, str], name: str) -> types.ModuleType:
    module = types.ModuleType(f"exercise_{name.removesuffix('.py')}")
    module.__file__ = name
    try:
        exec(compile(files[name], name, "exec"), module.__dict__)  # noqa: S102 - the author's trusted code
    except Exception as error:
        raise ExerciseError(f"{name} failed to run: {type(error).__name__}: {error}") from error
    return module


# Exercises loaded in this process, by version (a hash of every file): a worker grades the same
# few exercises all day, and running their solution.py and tests.py again for each verdict cost
# more than some of the tests. The author's modules are read-only to a grading (a test gets its
# own seeded `t`), so one loaded copy serves every verdict of its version.
LOADED_EXERCISES_KEPT = 64
_loaded_exercises: collections.OrderedDict[str, Exercise] = collections.OrderedDict()
_loaded_lock = threading.Lock()


def loaded_exercise(files: Mapping[str, str], version: str) -> Exercise:
    """`load_exercise(files)`, kept for the LOADED_EXERCISES_KEPT versions used last."""
    with _loaded_lock:
        loaded = _loaded_exercises.get(version)
        if loaded is not None:
            _loaded_exercises.move_to_end(version)
            return loaded
    loaded = load_exercise(files)
    with _loaded_lock:
        _loaded_exercises[version] = loaded
        while len(_loaded_exercises) > LOADED_EXERCISES_KEPT:
            _loaded_exercises.popitem(last=False)
    return loaded


def grade_code(exercise: Mapping[str, str] | str | Path, student_source: str, pool: SandboxPool) -> Verdict:
    """Grade `student_source` against the exercise's tests, running student code only in `pool`."""
    started = time.monotonic()
    files = exercise_files(exercise)
    version = exercise_version(files)
    try:
        loaded = loaded_exercise(files, version)
    except ExerciseError as error:
        return Verdict(
            "error",
            0.0,
            0.0,
            message=f"This exercise could not be loaded: {error}.",
            exercise_version=version,
        )
    try:
        verdict = Grading(loaded, student_source, pool).run()
    except (SandboxUnavailable, SandboxKilled) as error:
        verdict = Verdict(
            "error",
            0.0,
            sum(spec.points for spec in loaded.tests),
            message=f"Grading is delayed: the grader could not run your code ({error}). This is not your "
            "fault, and it costs you nothing: your submission waits in the queue and is graded as soon as "
            "the grader is back.",
            infrastructure=True,
        )
    verdict.exercise_version = version
    verdict.duration_ms = int((time.monotonic() - started) * 1000)
    return verdict


def validate_exercise(exercise: Mapping[str, str] | str | Path, pool: SandboxPool) -> Verdict:
    """Grade the exercise's own solution.py as a submission: an author's check that it gets full marks."""
    files = exercise_files(exercise)
    return grade_code(files, files.get("solution.py", ""), pool)


class BudgetSpent(Exception):
    """The submission's whole time budget is used up; the remaining tests are not run."""


class FailedForTheRule(Exception):
    """A test without a rule failed in a rule's sandbox because of the rule: it runs again in a plain one."""


# Failures a "build it yourself" rule's sandbox causes: a piece taken away.
RULE_FAILURES = ("forbidden",)


class SandboxKilled(Exception):
    """The sandbox was killed from outside, twice in a row: a fault of ours, never scored."""


class ChannelBroken(Exception):
    """The sandbox's replies broke the protocol: nothing it says can be graded."""


# What one grading reads from its sandboxes in all, whatever the number of calls and restarts.
MAX_REPLY_BYTES_PER_GRADING = 256 * 1024 * 1024
CHANNEL_BROKEN = (
    "Your code wrote to the grader's channel, or returned something the grader cannot read ({detail}). "
    "Nothing of this submission can be graded, so it scores 0. Return plain values (tensors, arrays, "
    "numbers, strings, lists) and leave file descriptor 3 alone."
)
# What a failed hidden test shows when no more precise text is given.
HIDDEN_FAILED = "This hidden test failed."
BUDGET_SPENT = "Not run: your code used up this submission's time ({seconds:g} s for all the tests together)."


class Grading:
    """One submission being graded: the sandboxes it runs in, its time budget and the tests' outcomes.

    A test with a "build it yourself" rule runs in a sandbox made for that rule (its pieces
    taken away), so a call that needs them fails that test. The other tests must not pay for
    the rule: they run in the submission's home sandbox, which for an exercise with one rule is
    that rule's sandbox (most submissions then need one sandbox, not two), and a test that
    failed there only because of the rule (a piece taken away) runs again in a plain sandbox,
    which grades it as if there were no rule.
    """

    def __init__(self, exercise: Exercise, source: str, pool: SandboxPool) -> None:
        self.exercise = exercise
        self.source = source
        self.pool = pool
        # `t.reference` builds models here, from the registries the pool's sandboxes build them from.
        import_model_modules(pool.preload)
        # By rule: None for the plain sandbox.
        self.sandboxes: dict[ReadyMade | None, Sandbox] = {}
        rules = {spec.forbids for spec in exercise.tests if spec.forbids is not None}
        self.home: ReadyMade | None = rules.pop() if len(rules) == 1 else None
        # Why the module could not load under the home sandbox's rule, if it could not.
        self.home_load_failure: Failure | None = None
        # Tests without a rule that the rule made fail: they run in the plain sandbox.
        self.moved: set[str] = set()
        self.notes: list[str] = []
        self.budget = exercise.limits.budget_seconds
        self.deadline = math.inf
        self.budget_spent = False
        self.reply_bytes_before = 0

    def run(self) -> Verdict:
        max_score = sum(spec.points for spec in self.exercise.tests)
        ordered = sorted(self.exercise.tests, key=lambda spec: spec.hidden)
        try:
            self.sandboxes[self.home] = self.pool.acquire(unavailable=self.home)
            # The budget starts once a sandbox is ours: waiting for one is the platform's time.
            self.deadline = time.monotonic() + self.budget
            loaded = self._first_load(self.home)
            if self.home is not None and loaded.failure is not None and loaded.failure.kind in RULE_FAILURES:
                # The module needs, while loading, what the rule takes away: the rule's tests
                # fail with that, and the others are graded in a plain sandbox.
                self.home_load_failure = loaded.failure
                self.sandboxes.pop(self.home).close()
                self.sandboxes[None] = self.pool.acquire(timeout=max(self.remaining(), 0.1))
                loaded = self._first_load(None)
            if loaded.failure is not None and loaded.failure.kind == "protocol":
                return self._channel_broken(ordered, max_score, loaded.failure, loaded.stdout)
            if loaded.failure is not None:
                message = load_failure_message(loaded.failure, self.exercise.limits)
                outcomes = [_not_run(spec) for spec in ordered]
                return Verdict(
                    "graded", 0.0, max_score, outcomes, message=message, stdout=_shown(loaded.stdout)
                )
            outcomes = []
            for spec in ordered:
                try:
                    outcomes.append(self._run_test(spec))
                except ChannelBroken as broken:
                    return self._channel_broken(ordered, max_score, broken.args[0], loaded.stdout)
        finally:
            for sandbox in self.sandboxes.values():
                sandbox.close()
        score = sum(outcome.points for outcome in outcomes)
        return Verdict(
            "graded", score, max_score, outcomes, message="\n".join(self.notes), stdout=_shown(loaded.stdout)
        )

    def _channel_broken(self, ordered: list[TestSpec], max_score: float, failure: Failure, stdout: str) -> Verdict:
        # One of a few fixed words, whatever the failure says: a hidden test's inputs written
        # into a forged reply must not come out in the verdict.
        detail = next((words for words in PROTOCOL_CATEGORIES if failure.message.endswith(f"({words})")), GARBLED)
        outcomes = [_not_run(spec, "Not graded: see the message above.") for spec in ordered]
        return Verdict(
            "graded", 0.0, max_score, outcomes, message=CHANNEL_BROKEN.format(detail=detail), stdout=_shown(stdout)
        )

    def _load(self, rule: ReadyMade | None) -> Outcome:
        return self.sandboxes[rule].load(self.source, self._limits_for_call(), unavailable=rule)

    def _first_load(self, rule: ReadyMade | None) -> Outcome:
        loaded = self._load(rule)
        if loaded.failure is not None and loaded.failure.kind == "killed":
            loaded = self._fresh_sandbox(rule)
            if loaded.failure is not None and loaded.failure.kind == "killed":
                raise SandboxKilled(loaded.failure.message)
        return loaded

    def sandbox_for(self, spec: TestSpec) -> ReadyMade | None:
        """Which sandbox a test runs in (by rule; None: the plain one)."""
        if spec.forbids is not None:
            return spec.forbids
        if self.home_load_failure is not None or spec.name in self.moved:
            return None
        return self.home

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _limits_for_call(self) -> Limits:
        """The exercise's limits, with the wall clock of one call cut to what is left of the budget."""
        limits = self.exercise.limits
        remaining = self.remaining()
        if remaining <= 0:
            raise BudgetSpent()
        return replace(limits, wall_seconds=min(limits.wall_seconds, remaining))

    def account(self, outcome: Outcome) -> None:
        """Count a reply against the budget's other half: the bytes one grading may read."""
        if outcome.failure is not None and outcome.failure.kind == "protocol":
            raise ChannelBroken(outcome.failure)
        received = self.reply_bytes_before + sum(sandbox.received_bytes for sandbox in self.sandboxes.values())
        if received > MAX_REPLY_BYTES_PER_GRADING:
            raise ChannelBroken(Failure("protocol", f"({TOO_LARGE})"))

    def _fresh_sandbox(self, rule: ReadyMade | None) -> Outcome:
        old = self.sandboxes.pop(rule, None)
        if old is not None:
            self.reply_bytes_before += old.received_bytes
            old.close()
        self.sandboxes[rule] = self.pool.acquire(timeout=max(self.remaining(), 0.1), unavailable=rule)
        return self._load(rule)

    def _run_test(self, spec: TestSpec, *, again: bool = False) -> TestOutcome:
        """One test's outcome; a test whose sandbox was killed from outside runs once more, afresh.

        The time the killed attempt took is given back to the budget: a fault of ours costs the
        student neither points nor time.
        """
        started = time.monotonic()
        context = None
        key = self.sandbox_for(spec)
        try:
            if self.remaining() <= 0:
                raise BudgetSpent()
            if spec.forbids is not None and spec.forbids == self.home and self.home_load_failure is not None:
                return _outcome(
                    spec,
                    False,
                    self._reload_failure_message(spec, self.home_load_failure, True),
                    hidden_message="Not run: your code could not be loaded for this test.",
                )
            sandbox = self.sandboxes.get(key)
            if sandbox is None or not sandbox.alive:
                reloaded = self._fresh_sandbox(key)
                self.account(reloaded)
                if reloaded.failure is not None and reloaded.failure.kind == "killed":
                    # Killed from outside while loading afresh: a fault of ours like any other kill.
                    if again:
                        raise SandboxKilled(reloaded.failure.message)
                    self.deadline += time.monotonic() - started
                    return self._run_test(spec, again=True)
                if reloaded.failure is not None:
                    return _outcome(
                        spec,
                        False,
                        self._reload_failure_message(spec, reloaded.failure, sandbox is None),
                        hidden_message="Not run: your code could not be loaded again.",
                    )
            context = TestContext(spec, self, key)
            spec.function(context)
        except FailedForTheRule:
            # A test without a rule, in the rule's sandbox: graded again where nothing is taken away.
            self.moved.add(spec.name)
            return self._run_test(spec, again=again)
        except BudgetSpent:
            if not self.budget_spent:
                self.budget_spent = True
                self.notes.append(f"Your code used up this submission's time ({self.budget:g} s for all the tests "
                                  "together): the tests after that point were not run.")
            return _not_run(spec, BUDGET_SPENT.format(seconds=self.budget))
        except TestFailed as failed:
            return _outcome(
                spec, False, str(failed), context.stdout if context else "", hidden_message=spec.when_hidden_fails
            )
        except StudentCodeFailed as failed:
            if failed.failure is not None and failed.failure.kind == "killed":
                if again:
                    raise SandboxKilled(failed.failure.message) from None
                self.deadline += time.monotonic() - started
                return self._run_test(spec, again=True)
            if failed.failure is not None and failed.failure.kind in LIMIT_KINDS:
                self.notes.append(f"{_capital(failed.failure.message)} in test `{spec.title}`.")
            return _outcome(
                spec, False, str(failed), context.stdout if context else "", hidden_message=hidden_code_failure(failed)
            )
        except (SandboxUnavailable, ChannelBroken, SandboxKilled):
            raise
        except Exception as error:
            # The author's code failed on what the student returned (a bug in tests.py shows up
            # in validate_exercise, which grades the solution itself).
            return _outcome(
                spec,
                False,
                f"This test could not check your answer ({type(error).__name__}: {error}).",
                context.stdout if context else "",
                hidden_message="This hidden test could not check your answer.",
            )
        return _outcome(spec, True, "", context.stdout)

    def _reload_failure_message(self, spec: TestSpec, failure: Failure, first: bool) -> str:
        if failure.kind == "forbidden":
            return self.forbidden_message(spec, failure.message, while_loading=True)
        if first:  # the first load of a rule's own sandbox
            return f"Your code could not be loaded for this test: {load_failure_message(failure, self.exercise.limits)}"
        return f"Your code could not be loaded again: {failure.message}"

    def forbidden_message(self, spec: TestSpec, name: str, *, while_loading: bool = False) -> str:
        """What a test says when the code called one of the pieces its rule takes away.

        `name` comes from the sandbox: it is shown only if it is one of the rule's own names. The
        lines that spell a name of the rule point the student at where to look.
        """
        rule = spec.forbids
        shown = f"`{name}`" if rule is not None and rule.names(name) else "one of torch's ready-made pieces"
        lines = spelled_lines(self.source, rule.spelled if rule is not None else ())
        where = " Look at " + ", ".join(f"line {line} (`{word}`)" for line, word in lines) + "." if lines else ""
        when = " while loading" if while_loading else ""
        return f"Your code ran {shown}{when}. {spec.rule or 'This test does not allow it.'}{where}"


def spelled_lines(source: str, names: Iterable[str]) -> list[tuple[int, str]]:
    """(line, name) of each use of one of `names` in `source`, in line order.

    A use is an attribute (`F.softmax`, `x.softmax(...)`) or a `from ... import` of the name:
    only to point the student at a line (what ran decides). Code that does not parse has none.
    """
    wanted = set(names)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in wanted:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom):
            found.extend((node.lineno, alias.name) for alias in node.names if alias.name in wanted)
    return sorted(found)


def _outcome(
    spec: TestSpec, passed: bool, message: str, stdout: str = "", *, hidden_message: str = HIDDEN_FAILED
) -> TestOutcome:
    """A test's outcome; a hidden test shows `hidden_message` instead of `message`, and no output."""
    return TestOutcome(
        name=spec.name,
        title=spec.title,
        passed=passed,
        points=spec.points if passed else 0.0,
        max_points=spec.points,
        visible=not spec.hidden,
        message=("" if passed else hidden_message) if spec.hidden else message,
        stdout="" if spec.hidden else _shown(stdout),
    )


def _not_run(spec: TestSpec, message: str = "Not run: your code did not load.") -> TestOutcome:
    """A test that did not run: `message` says why, and holds nothing of the test, hidden or not."""
    return _outcome(spec, False, message, hidden_message=message)


def hidden_code_failure(failed: StudentCodeFailed) -> str:
    """What a hidden test says when the student's code raised or hit a limit: never the inputs or traceback."""
    failure = failed.failure
    if failure is not None and failure.kind in LIMIT_KINDS:
        return f"{_capital(failure.message)} in this hidden test."
    if failure is not None and failure.kind == "exception":
        # Only a built-in exception's name: a class the student named could spell out the inputs.
        name = failure.message.partition(":")[0]
        builtin = getattr(builtins, name, None)
        error = name if isinstance(builtin, type) and issubclass(builtin, BaseException) else "an error"
        return f"Your code raised {error} in this hidden test (its details would show the test's inputs)."
    return "Your code gave this hidden test no answer it could check (the details would show the test's inputs)."


def _shown(text: str) -> str:
    if len(text) <= MAX_STDOUT_SHOWN:
        return text
    return text[:MAX_STDOUT_SHOWN] + "\n… (output truncated)"


def load_failure_message(failure: Failure, limits: Limits) -> str:
    """What to tell the student when their module did not load."""
    if failure.kind == "syntax":
        return syntax_message(failure)
    if failure.kind == "exception":
        return f"Your code raised an error while loading:\n{failure.traceback or failure.message}"
    if failure.kind == "exit":
        return f"{_capital(failure.message)} while loading; remove it so the tests can run."
    if failure.kind in LIMIT_KINDS:
        return f"{_capital(failure.message)} while loading your code."
    if failure.kind == "forbidden":  # only a test with a rule takes pieces away: this reply was forged
        return "Your code ran one of torch's ready-made pieces while loading."
    return f"{_capital(failure.message)} while loading."


def syntax_message(failure: Failure) -> str:
    """A plain message for a syntax error: the line, what is wrong, what to check."""
    text = failure.text.rstrip("\n")
    message = failure.message
    lowered = message.lower()
    if failure.indentation:
        hint = "check the indentation: the lines of a block must line up (4 spaces per level)"
    elif (
        "never closed" in lowered
        or "unmatched" in lowered
        or "does not match" in lowered
        or _unbalanced(text)
    ):
        hint = "check the parentheses and brackets"
    elif "expected ':'" in lowered:
        hint = "a line starting with def, if, for, while or class must end with a colon"
    elif "unterminated string" in lowered or "unterminated triple-quoted" in lowered:
        hint = "a string is missing its closing quote"
    elif "invalid syntax" in lowered:
        hint = "check the parentheses, colons and quotes on this line and the line before"
    else:
        hint = ""
    head = f"Line {failure.line}: {message}" + (f" — {hint}" if hint else "")
    if text.strip():
        stripped = text.lstrip()
        caret = min(max(failure.column - 1 - (len(text) - len(stripped)), 0), len(stripped))
        head += f"\n    {stripped}\n    {' ' * caret}^"
    return head


def _unbalanced(line: str) -> bool:
    return any(line.count(opening) != line.count(closing) for opening, closing in ("()", "[]", "{}"))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


class TestContext:
    """What a test function receives as `t`: seeded inputs, calls into the sandbox, checks."""

    __test__ = False

    def __init__(self, spec: TestSpec, grading: Grading, sandbox: ReadyMade | None = None) -> None:
        self.spec = spec
        self.grading = grading
        # Which of the grading's sandboxes this test's calls go to (by rule; None: the plain one).
        self.sandbox = sandbox
        self.solution = grading.exercise.solution
        # The student's code as text, for checks on how it is written (e.g. "implement softmax
        # yourself: torch.softmax is not allowed here").
        self.source = grading.source
        self.seed = int.from_bytes(hashlib.sha256(spec.name.encode()).digest()[:4], "big")
        self.generator = torch.Generator().manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)
        self.grad_seed = (self.seed * 2654435761 + 1) % (1 << 31)
        self.stdout = ""
        # id(value) -> how it was obtained, for messages; the values are kept alive with it.
        self.described: dict[int, tuple[object, str]] = {}

    def randn(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator, dtype=dtype)

    def rand(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator, dtype=dtype)

    def randint(self, low: int, high: int, size: tuple[int, ...]) -> torch.Tensor:
        return torch.randint(low, high, size, generator=self.generator)

    def model(self, name: str, **kwargs: object) -> ModelRef:
        """A registered model (graders.sandbox.models), built inside the sandbox by name."""
        return ModelRef(name, **kwargs)

    def call(
        self,
        function: str,
        *args: object,
        grad_of: tuple | list = (),
        returns: type | tuple[type, ...] | None = torch.Tensor,
        **kwargs: object,
    ) -> object:
        """Call the student's function in the sandbox; with `grad_of`, return (value, gradients).

        `grad_of` lists positions (or keyword names) of float tensor inputs; for a non-scalar output
        the backward pass uses a seeded random output gradient, the same one `reference` uses.
        """
        description = self.describe_call(function, args, kwargs)
        grading = self.grading
        limit = self.spec.timeout or grading.exercise.limits.wall_seconds
        remaining = grading.remaining()
        if remaining <= 0:
            raise BudgetSpent()
        outcome = grading.sandboxes[self.sandbox].call(
            function,
            args,
            kwargs,
            grad_of=grad_of,
            grad_seed=self.grad_seed,
            timeout=min(limit, remaining),
        )
        self.stdout += outcome.stdout
        grading.account(outcome)
        if outcome.failure is not None:
            if outcome.failure.kind == "time" and remaining < limit:
                raise BudgetSpent()
            if self.spec.forbids is None and self.sandbox is not None and outcome.failure.kind in RULE_FAILURES:
                raise FailedForTheRule()
            if outcome.failure.kind == "forbidden":
                raise TestFailed(grading.forbidden_message(self.spec, outcome.failure.message))
            raise StudentCodeFailed(self._failure_message(description, outcome.failure), outcome.failure)
        value = outcome.value
        if grad_of:
            returns = torch.Tensor
        if returns is not None and not isinstance(value, returns):
            raise StudentCodeFailed(
                f"{description} returned {_kind(value)}; expected {_expected_kind(returns)}."
            )
        self._remember(value, description)
        if not grad_of:
            return value
        grads = outcome.grads
        if grads is None:
            raise StudentCodeFailed(
                f"No gradient flows back through the output of {description}: "
                "did you use .detach(), .item(), numpy or torch.no_grad()?"
            )
        if len(grads) != len(grad_of) or not all(
            grad is None or type(grad) is torch.Tensor for grad in grads
        ):
            raise StudentCodeFailed(f"The gradients of {description} could not be read.")
        names = self._parameter_names(function)
        for target, grad in zip(grad_of, grads, strict=True):
            label = (
                target
                if isinstance(target, str)
                else (names[target] if target < len(names) else f"argument {target + 1}")
            )
            if grad is None:
                raise StudentCodeFailed(f"The output of {description} does not depend on {label}.")
            self._remember(grad, f"the gradient of {description} with respect to {label}")
        return value, grads

    def reference(self, function: str, *args: object, grad_of: tuple | list = (), **kwargs: object) -> object:
        """The solution's answer, computed here; with `grad_of`, (value, gradients) like `call`."""
        solution_function = getattr(self.solution, function)
        args = [_prepared(arg) for arg in args]
        kwargs = {key: _prepared(value) for key, value in kwargs.items()}
        if not grad_of:
            with torch.no_grad():
                return solution_function(*args, **kwargs)
        inputs = []
        for target in grad_of:
            tensor = args[target] if isinstance(target, int) else kwargs[target]
            tensor.requires_grad_(True)
            inputs.append(tensor)
        with torch.enable_grad():
            output = solution_function(*args, **kwargs)
            grad_output = None
            if output.dim() > 0:
                generator = torch.Generator().manual_seed(self.grad_seed)
                grad_output = torch.randn(output.shape, generator=generator, dtype=output.dtype)
            grads = torch.autograd.grad(output, inputs, grad_outputs=grad_output, allow_unused=True)
        return output.detach(), list(grads)

    def uses(self, names: Iterable[str]) -> list[tuple[int, str]]:
        """(line, name) of each use of one of `names` in the student's code (see `spelled_lines`)."""
        return spelled_lines(self.source, names)

    def check(self, condition: object, message: str) -> None:
        """Fail the test with `message` unless `condition` holds (a bool or an all-true tensor)."""
        if isinstance(condition, torch.Tensor):
            condition = bool(condition.all())
        if not condition:
            raise TestFailed(message)

    def fail(self, message: str) -> None:
        raise TestFailed(message)

    def check_close(
        self,
        got: object,
        expected: object,
        *,
        rtol: float = 1e-5,
        atol: float = 1e-6,
        what: str | None = None,
        check_dtype: bool = True,
        hint: str = "",
        nonfinite_hint: str = "",
    ) -> None:
        """Compare `got` with `expected` (tensors, arrays, numbers, lists); fail with a precise message.

        `hint` is added when values differ, `nonfinite_hint` when `got` holds inf or nan where
        the expected values are finite: the author's words for known mistakes.
        """
        subject = what or self._description(got)
        compare_values(
            got,
            expected,
            subject,
            rtol=rtol,
            atol=atol,
            check_dtype=check_dtype,
            hint=hint,
            nonfinite_hint=nonfinite_hint,
        )

    def describe_call(self, function: str, args: tuple, kwargs: dict) -> str:
        """`softmax(x, dim=-1) with x of shape (4, 7)`, naming arguments after the solution's parameters."""
        names = self._parameter_names(function)
        shown, shapes = [], []
        for index, value in enumerate(args):
            name = names[index] if index < len(names) else f"arg{index + 1}"
            text = _short(value)
            if text is None:
                shown.append(name)
                shapes.append(f"{name} {_shape_words(value)}")
            else:
                shown.append(text)
        for key, value in kwargs.items():
            text = _short(value)
            if text is None:
                shown.append(f"{key}={key}")
                shapes.append(f"{key} {_shape_words(value)}")
            else:
                shown.append(f"{key}={text}")
        call = f"`{function}({', '.join(shown)})`"
        return call + (f" with {', '.join(shapes)}" if shapes else "")

    def _parameter_names(self, function: str) -> list[str]:
        solution_function = getattr(self.solution, function, None)
        try:
            parameters = inspect.signature(solution_function).parameters.values()
        except (TypeError, ValueError):
            return []
        return [
            parameter.name for parameter in parameters if parameter.kind <= parameter.POSITIONAL_OR_KEYWORD
        ]

    def _failure_message(self, description: str, failure: Failure) -> str:
        if failure.kind == "exception":
            return f"{description} raised {failure.message}\n{failure.traceback}".rstrip()
        if failure.kind in LIMIT_KINDS:
            return f"{_capital(failure.message)} in test `{self.spec.title}` while running {description}."
        if failure.kind == "unsupported":
            return (
                f"{description}: {failure.message}; return a tensor, an array, a number or a list of those."
            )
        return f"{description}: {failure.message}."

    def _remember(self, value: object, description: str) -> None:
        self.described[id(value)] = (value, description)

    def _description(self, value: object) -> str:
        remembered = self.described.get(id(value))
        return remembered[1] if remembered and remembered[0] is value else "the result"


def _prepared(value: object) -> object:
    # The solution gets its own copies, and models built from the same registry entry.
    if isinstance(value, ModelRef):
        return build_model(value.name, **value.kwargs)
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, torch.Generator):
        # A copy in the same state draws the same numbers as the student's copy in the sandbox.
        copy = torch.Generator()
        copy.set_state(value.get_state())
        return copy
    return value


def _short(value: object) -> str | None:
    """A value written out in a call description, or None for tensors and big values (named instead)."""
    if isinstance(value, torch.Tensor | np.ndarray | ModelRef | torch.Generator):
        return None
    text = repr(value)
    return text if len(text) <= 40 else None


def _shape_words(value: object) -> str:
    if isinstance(value, torch.Tensor | np.ndarray):
        return f"of shape {tuple(value.shape)}"
    if isinstance(value, ModelRef):
        return f"= {value!r}"
    if isinstance(value, torch.Generator):
        return f"= a torch.Generator seeded with {value.initial_seed()}"
    if isinstance(value, list | tuple | dict):
        return f"of length {len(value)}"
    return f"= {_kind(value)}"


def _kind(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def _expected_kind(returns: type | tuple[type, ...]) -> str:
    kinds = returns if isinstance(returns, tuple) else (returns,)
    words = {
        torch.Tensor: "a tensor",
        np.ndarray: "a numpy array",
        list: "a list",
        int: "an int",
        float: "a float",
    }
    return " or ".join(words.get(kind, f"a {kind.__name__}") for kind in kinds)


def compare_values(
    got: object,
    expected: object,
    subject: str,
    *,
    rtol: float,
    atol: float,
    check_dtype: bool = True,
    hint: str = "",
    nonfinite_hint: str = "",
) -> None:
    """Raise TestFailed describing the first difference between `got` and `expected`."""
    if isinstance(expected, torch.Tensor | np.ndarray):
        _compare_arrays(got, expected, subject, rtol, atol, check_dtype, hint, nonfinite_hint)
    elif isinstance(expected, bool):
        if got is not expected:
            raise TestFailed(_joined(f"{_capital(subject)} is {_kind(got)}; expected {expected!r}.", hint))
    elif isinstance(expected, int | float):
        if type(got) not in (int, float):
            raise TestFailed(f"{_capital(subject)} is {_kind(got)}; expected a number.")
        if not math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
            raise TestFailed(_joined(f"{_capital(subject)} is {got!r}; expected {expected!r}.", hint))
    elif isinstance(expected, list | tuple):
        if not isinstance(got, list | tuple):
            raise TestFailed(f"{_capital(subject)} is {_kind(got)}; expected a {type(expected).__name__}.")
        if len(got) != len(expected):
            raise TestFailed(f"{_capital(subject)} has {len(got)} items; expected {len(expected)}.")
        for index, (got_item, expected_item) in enumerate(zip(got, expected, strict=True)):
            compare_values(
                got_item,
                expected_item,
                f"item {index} of {subject}",
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
                hint=hint,
                nonfinite_hint=nonfinite_hint,
            )
    elif got != expected:
        raise TestFailed(_joined(f"{_capital(subject)} is {got!r}; expected {expected!r}.", hint))


def _compare_arrays(
    got: object,
    expected: torch.Tensor | np.ndarray,
    subject: str,
    rtol: float,
    atol: float,
    check_dtype: bool,
    hint: str,
    nonfinite_hint: str,
) -> None:
    wanted = torch.Tensor if isinstance(expected, torch.Tensor) else np.ndarray
    if not isinstance(got, wanted):
        raise TestFailed(f"{_capital(subject)} is {_kind(got)}; expected {_expected_kind(wanted)}.")
    got_tensor = torch.as_tensor(got).detach()
    expected_tensor = torch.as_tensor(expected).detach()
    name = _capital(subject)
    got_shape, expected_shape = tuple(got_tensor.shape), tuple(expected_tensor.shape)
    if got_shape != expected_shape:
        raise TestFailed(f"{name} has shape {got_shape}; expected shape {expected_shape}.")
    if check_dtype and got_tensor.dtype != expected_tensor.dtype:
        got_dtype, expected_dtype = _dtype_name(got_tensor.dtype), _dtype_name(expected_tensor.dtype)
        raise TestFailed(f"{name} has dtype {got_dtype}; expected {expected_dtype}.")
    if not expected_tensor.is_floating_point():
        mismatch = got_tensor != expected_tensor.to(got_tensor.dtype)
        if bool(mismatch.any()):
            index = _first(mismatch)
            raise TestFailed(
                _joined(
                    f"{name} differs at index {index}: expected {expected_tensor[index].item()!r}, "
                    f"got {got_tensor[index].item()!r} "
                    f"({int(mismatch.sum())} of {mismatch.numel()} elements differ).",
                    hint,
                )
            )
        return
    got_float = got_tensor.to(torch.float64)
    expected_float = expected_tensor.to(torch.float64)
    bad = ~torch.isfinite(got_float) & torch.isfinite(expected_float)
    if bool(bad.any()):
        index = _first(bad)
        raise TestFailed(
            _joined(
                f"{name} contains {got_float[index].item()} at index {index} where "
                f"{expected_float[index].item():.6g} was expected "
                f"({int(bad.sum())} of {bad.numel()} elements are inf or nan).",
                nonfinite_hint or hint,
            )
        )
    close = torch.isclose(got_float, expected_float, rtol=rtol, atol=atol, equal_nan=True)
    if not bool(close.all()):
        mismatch = ~close
        index = _first(mismatch)
        errors = (got_float - expected_float).abs()
        max_error = float(torch.where(torch.isfinite(errors), errors, torch.zeros_like(errors)).max())
        raise TestFailed(
            _joined(
                f"{name} differs at index {index}: expected {expected_float[index].item():.6g}, "
                f"got {got_float[index].item():.6g}; max abs error {max_error:.3g} "
                f"({int(mismatch.sum())} of {mismatch.numel()} elements differ "
                f"beyond rtol={rtol:g}, atol={atol:g}).",
                hint,
            )
        )


def _first(mask: torch.Tensor) -> tuple[int, ...]:
    flat = int(torch.nonzero(mask.reshape(-1))[0])
    return tuple(int(i) for i in np.unravel_index(flat, tuple(mask.shape))) if mask.dim() else ()


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _joined(message: str, hint: str) -> str:
    return f"{message} {hint}" if hint else message
