"""One entry point for every kind of exercise folder: inspect it, test its tests, grade an answer.

The grading worker, `load_course` and `manage.py grade` come through here; the web process
reads exercises through `graders.spec` (whose readers this module re-exports) and imports this
module only to queue work, so the grading machinery (graders.code, the sandbox, torch) loads on
first use. Student code only ever runs in this process's sandbox pool, and only the worker and
the command-line tools create one: the web process never grades.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .problems import Problem
from .questions import (
    ChoicePart,
    NumericPart,
    QuestionsError,
    SymbolicPart,
    TextPart,
    grade_questions,
    load_questions,
)
from .spec import KINDS, ExerciseError, Preview, exercise_version, interpret, questions_spec, read_settings, rubrics
from .verdict import Verdict

if TYPE_CHECKING:
    from .sandbox import SandboxPool

__all__ = [
    "KINDS",
    "ExerciseInfo",
    "GradingUnavailable",
    "Preview",
    "Problem",
    "close_sandbox_pool",
    "grade_answer",
    "grade_code",
    "inspect",
    "interpret",
    "questions_spec",
    "read_settings",
    "rubrics",
    "sandbox_pool",
    "test_the_tests",
]


class GradingUnavailable(Exception):
    """This process cannot grade safely (no sandbox); it must not try."""


@dataclass
class ExerciseInfo:
    kind: str
    max_score: float
    version: str
    problems: list[Problem] = field(default_factory=list)


# The grading machinery (graders.code, the sandbox, torch) loads on first use: the web process
# imports this module through the grading services and never grades, and a cold torch costs it
# ~1.8 s and hundreds of MB.
def grade_code(files: Mapping[str, str], answer: str, pool: SandboxPool) -> Verdict:
    from .code import grade_code

    return grade_code(files, answer, pool)


def inspect(files: Mapping[str, str]) -> ExerciseInfo:
    """Validate a folder without running student code: kind, maximum score, version, problems."""
    version = exercise_version(files)
    try:
        settings = read_settings(files)
    except ExerciseError as error:
        return ExerciseInfo("", 0.0, version, [Problem("exercise.toml", str(error))])
    kind = settings.get("kind", "")
    if kind == "code":
        from .code import load_exercise

        try:
            exercise = load_exercise(files)
        except ExerciseError as error:
            return ExerciseInfo(kind, 0.0, version, [_code_problem(str(error))])
        return ExerciseInfo(kind, sum(test.points for test in exercise.tests), version)
    if kind == "questions":
        try:
            spec = load_questions(settings)
        except QuestionsError as error:
            return ExerciseInfo(kind, 0.0, version, error.problems)
        return ExerciseInfo(kind, sum(part.points for part in spec.parts), version)
    return ExerciseInfo(kind, 0.0, version, [Problem("exercise.toml", f"kind must be one of {', '.join(KINDS)}",
                                                     key_path=("kind",))])


def _code_problem(message: str) -> Problem:
    for name in ("exercise.toml", "solution.py", "tests.py"):
        if name in message.split(":")[0] or message.startswith(f"the exercise has no {name}"):
            return Problem(name, message)
    return Problem("tests.py", message)


# Versions (hashes of every file) whose tests this process found sound, the most recently used
# last. The check is the same for the same files, and a pack is often read again unchanged
# (reloads, previews, test suites): each re-read would grade every reference solution and starter
# again. A long-lived web process sees a new version at every edit in the web editor, so only the
# last SOUND_VERSIONS_KEPT are kept; one forgotten is checked again, which costs time, not truth.
SOUND_VERSIONS_KEPT = 4096
_sound_versions: OrderedDict[str, None] = OrderedDict()
_sound_versions_lock = threading.Lock()


def test_the_tests(files: Mapping[str, str]) -> list[Problem]:
    """The reference answer must score full marks and the starter code less, or the tests test nothing."""
    version = exercise_version(files)
    with _sound_versions_lock:
        if version in _sound_versions:
            _sound_versions.move_to_end(version)
            return []
    problems = _check_the_tests(files)
    if not problems:
        with _sound_versions_lock:
            _sound_versions[version] = None
            _sound_versions.move_to_end(version)
            while len(_sound_versions) > SOUND_VERSIONS_KEPT:
                _sound_versions.popitem(last=False)
    return problems


def _check_the_tests(files: Mapping[str, str]) -> list[Problem]:
    settings = read_settings(files)
    if settings.get("kind") == "questions":
        return _test_the_questions(files)
    try:
        pool = sandbox_pool()
    except GradingUnavailable as error:
        return [Problem("tests.py", f"cannot run the tests to check them: {error}")]
    problems = []
    solution = grade_code(files, files.get("solution.py", ""), pool)
    if solution.status == "error":
        problems.append(Problem("tests.py", f"the tests could not grade the reference solution: {solution.message}"))
    elif solution.score < solution.max_score:
        for test in solution.tests:
            if not test.passed:
                problems.append(Problem(
                    "solution.py",
                    f"the reference solution fails test `{test.name}` ({test.title}): {test.message or 'no message'}",
                ))
        if not problems:
            problems.append(Problem("solution.py", f"the reference solution scores {solution.score:g} of "
                                                   f"{solution.max_score:g}: {solution.message}"))
    starter = grade_code(files, files.get("starter.py", ""), pool)
    if starter.status == "graded" and starter.max_score and starter.score >= starter.max_score:
        problems.append(Problem("starter.py", "the starter code already scores full marks: the tests do not "
                                              "distinguish it from a solution"))
    return problems


def _test_the_questions(files: Mapping[str, str]) -> list[Problem]:
    spec = questions_spec(files)
    answers: dict[str, Any] = {}
    for part in spec.parts:
        if isinstance(part, SymbolicPart):
            answers[part.id] = part.answer
        elif isinstance(part, NumericPart):
            answers[part.id] = f"{part.answer!r} {part.unit or ''}".strip()
        elif isinstance(part, ChoicePart):
            best = [option.id for option in part.options if option.weight > 0]
            answers[part.id] = best if part.multiple else (best[0] if best else "")
    verdict = grade_questions(spec, answers)
    problems = []
    for outcome in verdict.tests:
        part = spec.part(outcome.name)
        if isinstance(part, TextPart):
            continue
        if outcome.points < outcome.max_points:
            index = next(i for i, p in enumerate(spec.parts) if p.id == part.id)
            problems.append(Problem(
                "exercise.toml",
                f"part `{part.id}`: its own answer scores {outcome.points:g} of {outcome.max_points:g}"
                f"{': ' + outcome.message if outcome.message else ''}",
                key_path=("parts", index, "answer"),
            ))
    return problems


def grade_answer(files: Mapping[str, str], answer: str) -> Verdict:
    """Grade one answer: code in the sandbox, questions in this process (they are data, not code)."""
    started = time.monotonic()
    try:
        settings = read_settings(files)
    except ExerciseError as error:
        return Verdict("error", 0, 0, message=f"This exercise could not be loaded: {error}")
    kind = settings.get("kind")
    if kind == "code":
        return grade_code(files, answer, sandbox_pool())
    if kind != "questions":
        return Verdict("error", 0, 0, message=f"This exercise has an unknown kind {kind!r}.")
    try:
        answers = json.loads(answer)
    except json.JSONDecodeError:
        answers = None
    if not isinstance(answers, dict):
        return Verdict("graded", 0, 0, message="The answers could not be read.")
    try:
        spec = questions_spec(files)
    except QuestionsError as error:
        return Verdict("error", 0, 0, message=f"This exercise could not be loaded: {error}")
    verdict = grade_questions(spec, answers)
    verdict.exercise_version = exercise_version(files)
    verdict.duration_ms = int((time.monotonic() - started) * 1000)
    return verdict


_pool: SandboxPool | None = None
_pool_lock = threading.Lock()


def sandbox_pool() -> SandboxPool:
    """This process's pool of warm sandboxes, started (and its isolation verified) on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            # This process grades from now on: its own torch work is the reference's small tensors,
            # where intra-op threads only contend with the sandboxes (5-10x slower on a busy machine).
            import torch

            from .sandbox import SandboxPool, SandboxUnavailable, check_isolation

            torch.set_num_threads(1)
            pool = SandboxPool(size=int(os.environ.get("GRADER_POOL_SIZE", "2")))
            try:
                pool.start()
                check_isolation(pool)
            except SandboxUnavailable as error:
                pool.close()
                raise GradingUnavailable(str(error)) from error
            _pool = pool
            atexit.register(pool.close)
        return _pool


def close_sandbox_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None
