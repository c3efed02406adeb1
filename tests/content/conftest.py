"""The Transformers lesson's exercises: their folders, one warm sandbox pool, and grading by test name."""

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from graders import engine
from graders.code import exercise_files, grade_code
from graders.verdict import TestOutcome, Verdict

EXERCISES = Path(__file__).resolve().parents[2] / "content" / "nlp2llm" / "lessons" / "01-transformers" / "exercises"


@pytest.fixture(scope="session")
def pool():
    """The process's own pool, the one `load_pack` grades with: started once, warm for every test."""
    return engine.sandbox_pool()


@dataclass
class Graded:
    """A verdict, with its tests by name."""

    verdict: Verdict

    @property
    def score(self) -> float:
        return self.verdict.score

    @property
    def max_score(self) -> float:
        return self.verdict.max_score

    def test(self, name: str) -> TestOutcome:
        for outcome in self.verdict.tests:
            if outcome.name == name:
                return outcome
        raise KeyError(f"no test named {name!r}; tests: {[outcome.name for outcome in self.verdict.tests]}")

    def message(self, name: str) -> str:
        return self.test(name).message

    @property
    def failed(self) -> set[str]:
        return {outcome.name for outcome in self.verdict.tests if not outcome.passed}

    @property
    def failed_visible(self) -> set[str]:
        return {outcome.name for outcome in self.verdict.tests if not outcome.passed and outcome.visible}


class CodeExercise:
    """One code exercise folder of the lesson, graded in the shared pool."""

    def __init__(self, folder: str, pool) -> None:
        self.folder = EXERCISES / folder
        self.files = exercise_files(self.folder)
        self.pool = pool

    def grade(self, source: str) -> Graded:
        verdict = grade_code(self.files, textwrap.dedent(source), self.pool)
        assert verdict.status == "graded", verdict.message
        return Graded(verdict)

    def grade_file(self, name: str) -> Graded:
        return self.grade(self.files[name])


@pytest.fixture(scope="module")
def exercise(request, pool):
    """The module's exercise: the test module names its folder in `FOLDER`."""
    return CodeExercise(request.module.FOLDER, pool)
