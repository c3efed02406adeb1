"""Exercise folders in a course pack: what the loader accepts."""

import shutil
from pathlib import Path

from courses.packs import read_pack
from tests.conftest import pack_problems as problems

SEED_EXERCISE = Path(__file__).resolve().parents[1] / "graders" / "fixtures" / "softmax_cross_entropy" / "exercise.toml"


def test_a_questions_exercise_may_share_math_between_its_parts(tmp_path):
    pack = tmp_path / "pack"
    lesson = pack / "lessons" / "01-only"
    folder = lesson / "exercises" / "01-seed"
    folder.mkdir(parents=True)
    (pack / "course.toml").write_text('id = "course-1"\ntitle = "Course"\nslug = "course"\n')
    (lesson / "lesson.toml").write_text('id = "lesson-1"\ntitle = "Only"\n')
    (lesson / "lesson.md").write_text("# Only\n")
    shutil.copy(SEED_EXERCISE, folder / "exercise.toml")
    with (folder / "exercise.toml").open("a") as toml:
        toml.write('\n[policy]\nattempts = 3\n')
    text = (folder / "exercise.toml").read_text()
    (folder / "exercise.toml").write_text('id = "exercise-1"\n' + text)
    (folder / "statement.md").write_text("The seed exercise.\n")
    (exercise,) = read_pack(pack).lessons[0].items["exercises"]
    assert exercise.kind == "questions"
    assert "[math.definitions]" in exercise.files["exercise.toml"]


SOFTMAX = "lessons/01-transformers/exercises/01-softmax"


def test_a_solution_that_fails_its_tests_refuses_the_pack_naming_the_test(pack):
    solution = pack / SOFTMAX / "solution.py"
    solution.write_text(solution.read_text() + "\n\ndef softmax(logits, dim=-1):\n    return logits.exp()\n")
    found = problems(pack)
    assert any(
        line.startswith(f"{SOFTMAX}/solution.py: the reference solution fails test `") for line in found
    ), found


def test_a_starter_that_already_passes_refuses_the_pack(pack):
    folder = pack / SOFTMAX
    (folder / "starter.py").write_text((folder / "solution.py").read_text())
    assert f"{SOFTMAX}/starter.py: the starter code already scores full marks: the tests do not distinguish " \
        "it from a solution" in problems(pack)


def test_policy_mistakes_name_their_line(pack):
    toml = pack / SOFTMAX / "exercise.toml"
    text = toml.read_text()
    text = text.replace('counts = "best"', 'counts = "first"\nattempts = 0')
    toml.write_text(text)
    line = text.splitlines().index('counts = "first"') + 1
    found = problems(pack)
    assert f'{SOFTMAX}/exercise.toml:{line}: `counts` must be "best" or "last", not \'first\'' in found
    assert f"{SOFTMAX}/exercise.toml:{line + 1}: `attempts` must be at least 1 (leave it out for no limit)" in found


def test_a_code_exercise_without_its_tests_is_refused(pack):
    (pack / SOFTMAX / "tests.py").unlink()
    assert f"{SOFTMAX}/tests.py: file is missing (a code exercise needs it)" in problems(pack)


def test_no_test_run_loads_what_the_sandbox_would_refuse(db, pack):
    from io import StringIO

    from django.core.management import call_command

    from exercises.models import Exercise

    (pack / SOFTMAX / "starter.py").write_text((pack / SOFTMAX / "solution.py").read_text())
    out = StringIO()
    call_command("load_course", str(pack), "--no-test-run", stdout=out)
    assert "the exercises' tests were not run" in out.getvalue()
    assert Exercise.objects.filter(slug="softmax").exists()


def test_the_demo_setup_loads_the_course_on_a_machine_that_cannot_sandbox(db, monkeypatch, settings):
    from io import StringIO

    from django.core.management import call_command

    from courses.models import Course
    from graders import engine

    def unavailable():
        raise engine.GradingUnavailable("user namespaces are disabled (CLONE_NEWUSER)")

    monkeypatch.setattr(engine, "sandbox_pool", unavailable)
    settings.DEBUG = True
    err = StringIO()
    call_command("demo_setup", stdout=StringIO(), stderr=err)
    assert "cannot sandbox student code (user namespaces are disabled (CLONE_NEWUSER))" in err.getvalue()
    assert Course.objects.get(slug="nlp2llm").exercises.count() == 10
