"""Exercise loading in the trusted process: an exercise folder's limits, solution and tests, kept by version."""

from __future__ import annotations

import threading
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass

from cachetools import LRUCache, cached

from graders.sandbox import Limits
from graders.spec import ExerciseError, exercise_version

from .authoring import TestSpec


@dataclass
class LoadedExercise:
    """An exercise folder loaded in the trusted process (not the exercises.Exercise row that stores it)."""

    version: str
    limits: Limits
    tests: list[TestSpec]
    solution: types.ModuleType


def load_exercise(files: Mapping[str, str]) -> LoadedExercise:
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
    return LoadedExercise(exercise_version(files), limits, tests, solution)


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
@cached(LRUCache(maxsize=LOADED_EXERCISES_KEPT), key=lambda files, version: version, lock=threading.Lock())
def loaded_exercise(files: Mapping[str, str], version: str) -> LoadedExercise:
    """`load_exercise(files)`, kept for the LOADED_EXERCISES_KEPT versions used last."""
    return load_exercise(files)
