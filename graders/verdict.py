"""The verdict: what every checker returns, as plain data that survives JSON."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal

VerdictStatus = Literal["graded", "error", "needs_review"]

# What one verdict may hold once stored: it is shown on every visit to the exercise page, and
# parts of it (messages, printed output) come from student code.
MAX_MESSAGE = 20_000
MAX_TEST_TEXT = 4_000
MAX_OUTPUT = 10_000
MAX_TESTS = 500


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " … (cut)"


@dataclass
class TestOutcome:
    """One test (code) or one part (questions) of a verdict."""

    name: str
    title: str
    passed: bool
    points: float
    max_points: float
    visible: bool = True
    # Feedback for the student. Hidden tests carry none beyond their title and pass/fail.
    message: str = ""
    stdout: str = ""
    # For math answers: the answer as the checker understood it, in LaTeX.
    interpreted_as: str = ""
    # A person must grade this part (a free-text answer, or math the checker could not decide).
    needs_review: bool = False

    __test__ = False  # not a pytest test class, despite the name


@dataclass
class Verdict:
    """The outcome of grading one answer.

    `graded`: the answer was checked (a crash in the student's code is still `graded`,
    with the crash as feedback). `error`: the platform could not check it (a message
    says why; the submission can be retried). `needs_review`: a person must grade it.
    """

    status: VerdictStatus
    score: float
    max_score: float
    tests: list[TestOutcome] = field(default_factory=list)
    # A message above the tests: a syntax error, a limit that was hit, "could not check".
    message: str = ""
    stdout: str = ""
    duration_ms: int = 0
    exercise_version: str = ""
    # An `error` caused by our infrastructure (no sandbox, a sandbox killed from outside): the
    # submission waits for another try at no cost to the student, instead of being marked failed.
    infrastructure: bool = False

    def to_dict(self) -> dict:
        # What dataclasses.asdict gives, at a tenth of its cost (0.25 ms a verdict, recorded by a
        # worker for every submission): every field is a scalar or a string but `tests`, whose
        # outcomes' fields all are.
        data = {name: getattr(self, name) for name in VERDICT_FIELDS}
        data["tests"] = [{name: getattr(test, name) for name in TEST_FIELDS} for test in self.tests]
        return data

    def bounded(self) -> Verdict:
        """This verdict with every text cut to what a page can show, whatever produced it."""
        tests = [
            replace(
                test,
                name=_clipped(test.name, 200),
                title=_clipped(test.title, 300),
                message=_clipped(test.message, MAX_TEST_TEXT),
                stdout=_clipped(test.stdout, MAX_OUTPUT),
                interpreted_as=_clipped(test.interpreted_as, MAX_TEST_TEXT),
            )
            for test in self.tests[:MAX_TESTS]
        ]
        return replace(
            self, tests=tests, message=_clipped(self.message, MAX_MESSAGE), stdout=_clipped(self.stdout, MAX_OUTPUT)
        )

    @classmethod
    def from_dict(cls, data: dict) -> Verdict:
        tests = [TestOutcome(**test) for test in data.get("tests", [])]
        return cls(**{**data, "tests": tests})

    @property
    def summary(self) -> str:
        """One line for the top of the verdict that never hides a failed hidden test."""
        if self.status == "error":
            return self.message or "This answer could not be graded."
        if self.status == "needs_review":
            return "Waiting for a person to grade this answer."
        visible = [test for test in self.tests if test.visible]
        hidden = [test for test in self.tests if not test.visible]
        visible_failed = sum(not test.passed for test in visible)
        hidden_failed = sum(not test.passed for test in hidden)
        if not visible_failed and not hidden_failed:
            return "All tests passed." if self.tests else self.message
        parts = []
        if visible:
            if visible_failed:
                parts.append(f"{visible_failed} of {len(visible)} visible tests failed")
            else:
                parts.append("visible tests passed")
        if hidden:
            if hidden_failed:
                parts.append(f"{hidden_failed} of {len(hidden)} hidden tests failed")
            else:
                parts.append("hidden tests passed")
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."


TEST_FIELDS = tuple(each.name for each in fields(TestOutcome))
VERDICT_FIELDS = tuple(each.name for each in fields(Verdict))
