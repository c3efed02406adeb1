"""The grading orchestrator: one submission against an exercise's tests, student code only in the sandbox pool."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from graders.sandbox import Failure, Limits, Outcome, Sandbox, SandboxPool, SandboxUnavailable
from graders.sandbox.models import import_model_modules
from graders.sandbox.pool import PROTOCOL_CATEGORIES
from graders.sandbox.ready_made import ReadyMade
from graders.sandbox.wire import GARBLED, TOO_LARGE
from graders.spec import ExerciseError, exercise_files, exercise_version
from graders.verdict import TestOutcome, Verdict

from .authoring import TestContext, TestSpec
from .failures import (
    RULE_FAILURES,
    BudgetSpent,
    ChannelBroken,
    FailedForTheRule,
    SandboxKilled,
    StudentCodeFailed,
    TestFailed,
)
from .loading import LoadedExercise, loaded_exercise
from .wording import (
    BUDGET_SPENT,
    CHANNEL_BROKEN,
    HIDDEN_FAILED,
    LIMIT_KINDS,
    capitalized,
    hidden_code_failure,
    load_failure_message,
    output_shown,
    spelled_lines,
)


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


# What one grading reads from its sandboxes in all, whatever the number of calls and restarts.
MAX_REPLY_BYTES_PER_GRADING = 256 * 1024 * 1024


class Grading:
    """One submission being graded: the sandboxes it runs in, its time budget and the tests' outcomes.

    A test with a "build it yourself" rule runs in a sandbox made for that rule (its pieces
    taken away), so a call that needs them fails that test. The other tests must not pay for
    the rule: they run in the submission's home sandbox, which for an exercise with one rule is
    that rule's sandbox (most submissions then need one sandbox, not two), and a test that
    failed there only because of the rule (a piece taken away) runs again in a plain sandbox,
    which grades it as if there were no rule.
    """

    def __init__(self, exercise: LoadedExercise, source: str, pool: SandboxPool) -> None:
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
                self._acquire(None)
                loaded = self._first_load(None)
            if loaded.failure is not None and loaded.failure.kind == "protocol":
                return self._channel_broken(ordered, max_score, loaded.failure, loaded.stdout)
            if loaded.failure is not None:
                message = load_failure_message(loaded.failure, self.exercise.limits)
                outcomes = [_not_run(spec) for spec in ordered]
                return Verdict(
                    "graded", 0.0, max_score, outcomes, message=message, stdout=output_shown(loaded.stdout)
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
            "graded", score, max_score, outcomes, message="\n".join(self.notes), stdout=output_shown(loaded.stdout)
        )

    def _channel_broken(self, ordered: list[TestSpec], max_score: float, failure: Failure, stdout: str) -> Verdict:
        # One of a few fixed words, whatever the failure says: a hidden test's inputs written
        # into a forged reply must not come out in the verdict.
        detail = next((words for words in PROTOCOL_CATEGORIES if failure.message.endswith(f"({words})")), GARBLED)
        outcomes = [_not_run(spec, "Not graded: see the message above.") for spec in ordered]
        return Verdict(
            "graded",
            0.0,
            max_score,
            outcomes,
            message=CHANNEL_BROKEN.format(detail=detail),
            stdout=output_shown(stdout),
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
        self._acquire(rule)
        return self._load(rule)

    def _acquire(self, rule: ReadyMade | None) -> None:
        """Take a sandbox for `rule` mid-way, as a replacement or a second kind; the wait is given back.

        Waiting for a sandbox is the platform's time, as it is before the first one (see `run`):
        when the host kills sandboxes faster than the pool makes them, the wait for a replacement
        must not use up the student's budget and leave tests unrun. A pool that has none within its
        timeout raises SandboxUnavailable: the grading is delayed, not scored.
        """
        waiting_since = time.monotonic()
        self.sandboxes[rule] = self.pool.acquire(unavailable=rule)
        self.deadline += time.monotonic() - waiting_since

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
            _run_to_its_end(context)
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
                self.notes.append(f"{capitalized(failed.failure.message)} in test `{spec.title}`.")
            return _outcome(
                spec, False, str(failed), context.stdout if context else "", hidden_message=hidden_code_failure(failed)
            )
        except (SandboxUnavailable, ChannelBroken, SandboxKilled):
            raise
        except Exception as error:
            # The author's code failed on what the student returned (a bug in tests.py shows up
            # when engine.test_the_tests grades the solution itself).
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


def _run_to_its_end(context: TestContext) -> None:
    """Run the test function; what a call raised to end it (`context.interrupted`) ends it, even
    if the test caught it and failed, raised something else or returned."""
    try:
        context.spec.function(context)
    except BaseException:
        if context.interrupted is not None:
            raise context.interrupted from None
        raise
    if context.interrupted is not None:
        raise context.interrupted


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
        stdout="" if spec.hidden else output_shown(stdout),
    )


def _not_run(spec: TestSpec, message: str = "Not run: your code did not load.") -> TestOutcome:
    """A test that did not run: `message` says why, and holds nothing of the test, hidden or not."""
    return _outcome(spec, False, message, hidden_message=message)
