"""An exercise folder read without running it: its settings, kind, version and questions, for the web.

The web process reads exercises only through this module, which imports neither torch, numpy
nor the sandbox (a cold `import torch` costs ~1.8 s and ~300 MB per web process): only tomllib
and the questions' parser (sympy, which the math preview needs anyway). Grading, and anything
that runs an author's solution.py or tests.py, is `graders.engine`'s, in the worker and the
command-line tools.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .questions import QuestionsError, QuestionsSpec, SymbolicPart, TextPart, load_questions
from .symbolic import MathInputError, student_spec
from .symbolic import interpret as interpret_math

KINDS = ("code", "questions")


class ExerciseError(Exception):
    """The exercise itself is broken (bad exercise.toml, tests.py that does not run...)."""


def exercise_files(exercise: Mapping[str, str] | str | Path) -> dict[str, str]:
    """File name -> text, from a mapping or from a folder's top-level files."""
    if isinstance(exercise, Mapping):
        return dict(exercise)
    folder = Path(exercise)
    return {
        path.name: path.read_text()
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }


def exercise_version(files: Mapping[str, str]) -> str:
    """A hash of every file, so a verdict says which version of the exercise graded it."""
    digest = hashlib.sha256()
    for name in sorted(files):
        for part in (name, files[name]):
            encoded = part.encode()
            digest.update(len(encoded).to_bytes(8, "big") + encoded)
    return digest.hexdigest()[:16]


def read_settings(files: Mapping[str, str]) -> dict[str, Any]:
    """exercise.toml as a table (empty when the folder has none)."""
    try:
        return tomllib.loads(files.get("exercise.toml", ""))
    except tomllib.TOMLDecodeError as error:
        raise ExerciseError(f"exercise.toml is not valid TOML: {error}") from None


def questions_spec(files: Mapping[str, str]) -> QuestionsSpec:
    """The parsed questions of a folder, kept for the 256 exercise.toml read last (the web asks on every keystroke)."""
    return _parsed_questions(files.get("exercise.toml", ""))


@functools.lru_cache(maxsize=256)
def _parsed_questions(exercise_toml: str) -> QuestionsSpec:
    # The questions depend on exercise.toml alone, so its text is the key.
    return load_questions(read_settings({"exercise.toml": exercise_toml}))


@dataclass
class Preview:
    latex: str = ""
    error: str = ""


def interpret(files: Mapping[str, str], part_id: str, text: str) -> Preview:
    """How a math answer was understood, for the live preview under the input."""
    if not text.strip():
        return Preview()
    try:
        part = questions_spec(files).part(part_id)
    except (QuestionsError, KeyError, ExerciseError):
        return Preview(error="This part cannot be previewed.")
    if not isinstance(part, SymbolicPart):
        return Preview(error="This part is not a formula.")
    try:
        # The answer test may allow names the part does not declare (a constant C).
        return Preview(latex=interpret_math(text, student_spec(text, part.math, part.test)))
    except MathInputError as error:
        return Preview(error=str(error))


def rubrics(files: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each text part's rubric, for the person who grades it."""
    try:
        spec = questions_spec(files)
    except (QuestionsError, ExerciseError):
        return {}
    return {
        part.id: [{"id": c.id, "description": c.criterion, "points": c.points} for c in part.rubric]
        for part in spec.parts
        if isinstance(part, TextPart)
    }
