"""The test-authoring API of tests.py: the `@test` decorator, the declared TestSpec, and `t` (TestContext)."""

from __future__ import annotations

# `test` below is the authoring decorator, not a pytest test: its defaults are fine.
# ruff: noqa: PT028
import functools
import hashlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from graders.sandbox import Failure, ModelRef
from graders.sandbox.models import build_model
from graders.sandbox.ready_made import ReadyMade
from graders.spec import ExerciseError

from .comparison import compare_values
from .failures import RULE_FAILURES, BudgetSpent, ChannelBroken, FailedForTheRule, StudentCodeFailed, TestFailed
from .wording import LIMIT_KINDS, capitalized, expected_kind, kind_of, shape_words, short_text, spelled_lines

if TYPE_CHECKING:
    from .grading import Grading


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
        self.grad_seed = (self.seed * 2654435761 + 1) % (1 << 31)
        self.stdout = ""
        # id(value) -> how it was obtained, for messages; the values are kept alive with it.
        self.described: dict[int, tuple[object, str]] = {}
        # What a call raised to end the test for a reason that is not the student's answer (a
        # sandbox killed from outside, the budget spent, the rule's sandbox, a broken channel).
        # A test may catch StudentCodeFailed, or any exception, to word its own feedback: the
        # grading raises this again once the test function is over, whatever it did with it.
        self.interrupted: BaseException | None = None

    @functools.cached_property
    def rng(self) -> np.random.Generator:
        """A numpy generator seeded like `generator`, made for the few tests that use one."""
        return np.random.default_rng(self.seed)

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
        if self.interrupted is not None:
            raise self.interrupted
        description = self.describe_call(function, args, kwargs)
        grading = self.grading
        limit = self.spec.timeout or grading.exercise.limits.wall_seconds
        remaining = grading.remaining()
        if remaining <= 0:
            raise self._interrupt(BudgetSpent())
        outcome = grading.sandboxes[self.sandbox].call(
            function,
            args,
            kwargs,
            grad_of=grad_of,
            grad_seed=self.grad_seed,
            timeout=min(limit, remaining),
        )
        self.stdout += outcome.stdout
        try:
            grading.account(outcome)
        except ChannelBroken as broken:
            raise self._interrupt(broken) from None
        if outcome.failure is not None:
            if outcome.failure.kind == "time" and remaining < limit:
                raise self._interrupt(BudgetSpent())
            if self.spec.forbids is None and self.sandbox is not None and outcome.failure.kind in RULE_FAILURES:
                raise self._interrupt(FailedForTheRule())
            if outcome.failure.kind == "forbidden":
                raise TestFailed(grading.forbidden_message(self.spec, outcome.failure.message))
            failed = StudentCodeFailed(self._failure_message(description, outcome.failure), outcome.failure)
            # A kill from outside is ours: the test runs again in a fresh sandbox (Grading._run_test).
            raise self._interrupt(failed) if outcome.failure.kind == "killed" else failed
        value = outcome.value
        if grad_of:
            returns = torch.Tensor
        if returns is not None and not isinstance(value, returns):
            raise StudentCodeFailed(
                f"{description} returned {kind_of(value)}; expected {expected_kind(returns)}."
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

    def _interrupt(self, error: BaseException) -> BaseException:
        """`error`, remembered as what ended the test (the first such), to be raised."""
        if self.interrupted is None:
            self.interrupted = error
        return error

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
            text = short_text(value)
            if text is None:
                shown.append(name)
                shapes.append(f"{name} {shape_words(value)}")
            else:
                shown.append(text)
        for key, value in kwargs.items():
            text = short_text(value)
            if text is None:
                shown.append(f"{key}={key}")
                shapes.append(f"{key} {shape_words(value)}")
            else:
                shown.append(f"{key}={text}")
        call = f"`{function}({', '.join(shown)})`"
        return call + (f" with {', '.join(shapes)}" if shapes else "")

    def _parameter_names(self, function: str) -> tuple[str, ...]:
        solution_function = getattr(self.solution, function, None)
        try:
            return _positional_names(solution_function)
        except TypeError:  # an unhashable callable: worked out every time
            return _positional_names.__wrapped__(solution_function)

    def _failure_message(self, description: str, failure: Failure) -> str:
        if failure.kind == "exception":
            return f"{description} raised {failure.message}\n{failure.traceback}".rstrip()
        if failure.kind in LIMIT_KINDS:
            return f"{capitalized(failure.message)} in test `{self.spec.title}` while running {description}."
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


@functools.lru_cache(maxsize=1024)
def _positional_names(function: object) -> tuple[str, ...]:
    """The names of a solution function's positional parameters, worked out once per function
    (the solution's module is loaded once per exercise version), not on every call of a test."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return ()
    return tuple(parameter.name for parameter in parameters if parameter.kind <= parameter.POSITIONAL_OR_KEYWORD)


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
