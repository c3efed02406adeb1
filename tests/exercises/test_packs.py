"""Exercise folders in a course pack: what the loader accepts."""

import shutil
from pathlib import Path

from courses.packs import read_pack

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
