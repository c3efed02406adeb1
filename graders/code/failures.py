"""How a test or a grading stops early: what `t` raises to the grading loop, and what the loop raises to its caller."""

from __future__ import annotations

from graders.sandbox import Failure


class TestFailed(Exception):
    """A check failed; the message is the feedback."""

    __test__ = False


class StudentCodeFailed(Exception):
    """Student code raised, hit a limit or returned something unusable during a call."""

    def __init__(self, message: str, failure: Failure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


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
