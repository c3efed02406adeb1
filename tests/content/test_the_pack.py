"""The demo pack's exercise set: it loads, its tests are tested, and every exercise is what the lesson lists."""

import ast
import datetime as dt
import inspect
import types
import uuid
from collections import OrderedDict

from courses.packs import load_pack
from exercises.models import Exercise
from graders import engine
from graders.code import exercise_files
from tests.conftest import DEMO_PACK
from tests.content.conftest import EXERCISES

DUE = dt.datetime(2027, 1, 31, 22, 59, tzinfo=dt.UTC)
LATE = [{"days": 7, "credit": 0.8}]

# folder: (title, kind, points, attempts)
EXERCISE_SET = {
    "01-softmax": ("Softmax, numerically stable", "code", 13, None),
    "02-cross-entropy": ("Token-wise cross-entropy with padding", "code", 16, None),
    "03-cross-entropy-derivative": ("Cross-entropy and softmax: increasing or decreasing?", "questions", 11, 5),
    "04-tokenize": ("Tokenize and map to ids", "code", 13, None),
    "05-teacher-forcing": ("Teacher forcing: decoder inputs and labels", "code", 9, None),
    "06-greedy-decoding": ("Greedy decoding", "code", 12, None),
    "07-sampling": ("Sampling with temperature and top-k", "code", 16, None),
    "08-attention": ("Scaled dot-product attention with masks", "code", 14, None),
    "09-model-families": ("Encoder-only, decoder-only or encoder-decoder?", "questions", 13, 10),
    "10-inference-and-training": ("Inference and training: explain the difference", "questions", 4, 3),
}
CODE_FOLDERS = [folder for folder, (_title, kind, _points, _attempts) in EXERCISE_SET.items() if kind == "code"]


def test_checking_the_demo_pack_grades_every_solution_and_starter_in_the_sandbox(pool, monkeypatch):
    graded = []
    real_grade_code = engine.grade_code

    def recording_grade_code(files, source, grading_pool):
        verdict = real_grade_code(files, source, grading_pool)
        graded.append((source == files["solution.py"], verdict.score, verdict.max_score))
        return verdict

    # Checked here from scratch, even if this process already found these versions sound.
    monkeypatch.setattr(engine, "_sound_versions", OrderedDict())
    monkeypatch.setattr(engine, "grade_code", recording_grade_code)
    report = load_pack(DEMO_PACK, check_only=True)
    assert report.counts["exercises"] == {"checked": 10}
    solutions = [(score, top) for is_solution, score, top in graded if is_solution]
    starters = [(score, top) for is_solution, score, top in graded if not is_solution]
    assert len(solutions) == len(starters) == len(CODE_FOLDERS)
    assert all(score == top for score, top in solutions)
    assert all(score < top for score, top in starters)


def test_the_exercises_load_in_order_with_their_points_and_policies(db, pool):
    load_pack(DEMO_PACK)
    exercises = list(Exercise.objects.order_by("position"))
    assert [(e.title, e.kind, e.max_score, e.max_attempts) for e in exercises] == list(EXERCISE_SET.values())
    for exercise in exercises:
        assert exercise.cooldown_seconds <= 10
        assert (exercise.due_at, exercise.late_windows, exercise.score_policy) == (DUE, LATE, "best")


def test_every_exercise_has_its_own_uuid4():
    ids = [exercise_files(EXERCISES / folder)["exercise.toml"] for folder in EXERCISE_SET]
    parsed = [uuid.UUID(text.split('id = "')[1].split('"')[0]) for text in ids]
    assert all(value.version == 4 for value in parsed)
    assert len(set(parsed)) == len(parsed)


def called_functions(tests_source: str) -> set[str]:
    """The names tests.py passes to t.call."""
    return {
        node.args[0].value
        for node in ast.walk(ast.parse(tests_source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "call"
        and node.args and isinstance(node.args[0], ast.Constant)
    }


def module(source: str) -> types.ModuleType:
    namespace = types.ModuleType("exercise_file")
    exec(compile(source, "exercise_file", "exec"), namespace.__dict__)  # our own pack's files
    return namespace


def test_the_starters_define_what_the_tests_call_with_the_solutions_signatures():
    for folder in CODE_FOLDERS:
        files = exercise_files(EXERCISES / folder)
        starter, solution = module(files["starter.py"]), module(files["solution.py"])
        for name in called_functions(files["tests.py"]):
            assert inspect.signature(getattr(starter, name)) == inspect.signature(getattr(solution, name)), name
            assert f"`{name}(" in files["statement.md"], f"{folder}: the statement does not show `{name}(`"
