"""The README's examples of course-pack files are real: they load, and their tests test."""

import re
from pathlib import Path

import pytest

from graders import engine

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def blocks(language: str, first_line: str) -> list[str]:
    found = re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)
    return [block for block in found if block.startswith(first_line)]


def test_the_code_exercise_example_is_valid_and_its_tests_test():
    toml = next(b for b in blocks("toml", "# exercise.toml") if 'kind = "code"' in b)
    files = {
        "exercise.toml": toml,
        "solution.py": blocks("python", "# solution.py")[0],
        "tests.py": blocks("python", "# tests.py")[0],
        "starter.py": "def softmax(x, dim=-1):\n    raise NotImplementedError\n",
    }
    info = engine.inspect(files)
    assert info.problems == []
    assert (info.kind, info.max_score) == ("code", 4)
    assert engine.test_the_tests(files) == []


def test_the_questions_example_is_valid_and_its_answers_score_full():
    toml = next(b for b in blocks("toml", "id = ") if 'kind = "questions"' in b)
    files = {"exercise.toml": toml}
    info = engine.inspect(files)
    assert info.problems == []
    assert info.max_score == 7
    assert engine.test_the_tests(files) == []


@pytest.mark.parametrize("block", blocks("toml", "id = ") + blocks("toml", "# exercise.toml"))
def test_every_toml_example_parses(block):
    import tomllib

    tomllib.loads(block)
