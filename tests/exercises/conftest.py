"""Exercises test helpers: a questions exercise (the README's example) in the cast's lesson."""

import pytest

from exercises.models import Exercise
from graders import engine
from tests.project.test_readme import blocks


@pytest.fixture
def questions_exercise(cast):
    """Four parts: a math answer, a choice, a number with a unit, and an explanation a person grades."""
    toml = next(block for block in blocks("toml", "id = ") if 'kind = "questions"' in block)
    files = {"exercise.toml": toml, "statement.md": "Four parts."}
    info = engine.inspect(files)
    return Exercise.objects.create(
        course=cast.course, lesson=cast.lesson, pack_id="ex-questions", slug="questions", title="Questions",
        kind="questions", max_score=info.max_score, files=files, version=info.version,
    )
