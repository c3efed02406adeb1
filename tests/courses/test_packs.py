"""The course-pack loader: idempotent reloads, stable ids, and errors that name file and line."""

import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from courses.models import Course, Lesson
from courses.packs import PackInvalid, TomlFile, load_pack
from tests.conftest import pack_problems as problems


def add_lesson(pack, folder, lesson_id, title, slug=None):
    path = pack / "lessons" / folder
    path.mkdir()
    slug_line = f'slug = "{slug}"\n' if slug else ""
    (path / "lesson.toml").write_text(f'id = "{lesson_id}"\ntitle = "{title}"\n{slug_line}')
    (path / "lesson.md").write_text(f"# {title}\n")
    return path


def test_the_demo_pack_loads(db, demo_pack):
    report = load_pack(demo_pack)
    course = Course.objects.get(pack_id=report.course.pack_id)
    assert course.title == "NLP 2 LLM — Large Language Models"
    lesson = course.active_lessons().get()
    assert lesson.title == "Transformers"
    assert "teacher forcing" in lesson.body_html.lower()


def test_reloading_is_idempotent(db, pack):
    load_pack(pack)
    report = load_pack(pack)
    assert report.counts["course"] == {"unchanged": 1}
    assert report.counts["lessons"] == {"unchanged": 1}
    assert Course.objects.count() == 1
    assert Lesson.objects.count() == 1


def test_check_validates_without_writing(db, pack):
    report = load_pack(pack, check_only=True)
    assert not report.written
    assert Course.objects.count() == 0


def test_renaming_and_reordering_keeps_the_same_rows(db, pack):
    load_pack(pack)
    original = Lesson.objects.get()
    add_lesson(pack, "00-tokenizers", "lesson-tokenizers", "Tokenizers")
    (pack / "lessons" / "01-transformers").rename(pack / "lessons" / "05-the-transformer")
    report = load_pack(pack)
    assert report.counts["lessons"] == {"created": 1, "updated": 1}
    moved = Lesson.objects.get(pk=original.pk)
    assert moved.position == 2
    assert [lesson.title for lesson in moved.course.active_lessons()] == ["Tokenizers", "Transformers"]


def test_a_lesson_removed_from_the_pack_is_archived_not_deleted(db, pack):
    add_lesson(pack, "02-attention", "lesson-attention", "Attention")
    load_pack(pack)
    shutil.rmtree(pack / "lessons" / "02-attention")
    report = load_pack(pack)
    assert report.counts["lessons"]["archived"] == 1
    assert Lesson.objects.get(pack_id="lesson-attention").archived


def test_a_lesson_that_returns_is_unarchived(db, pack):
    path = add_lesson(pack, "02-attention", "lesson-attention", "Attention")
    load_pack(pack)
    backup = pack.parent / "attention"
    shutil.move(path, backup)
    load_pack(pack)
    shutil.move(backup, path)
    load_pack(pack)
    assert not Lesson.objects.get(pack_id="lesson-attention").archived


def test_invalid_toml_names_file_and_line(pack):
    (pack / "course.toml").write_text('id = "course-1"\ntitle = "x"\nslug = "x"\ndescription = "unterminated\n')
    assert problems(pack) == ["course.toml:4: is not valid TOML: Illegal character '\\n'"]


def test_a_missing_key_names_the_file(pack):
    (pack / "course.toml").write_text('id = "course-1"\nslug = "nlp"\n')
    assert problems(pack) == ["course.toml:1: missing required key `title`"]


def test_an_unknown_key_names_its_line(pack):
    toml = pack / "lessons" / "01-transformers" / "lesson.toml"
    toml.write_text(toml.read_text() + 'titel = "typo"\n')
    assert problems(pack) == [
        "lessons/01-transformers/lesson.toml:5: unknown key `titel` (expected one of: id, slug, summary, title)"
    ]


def test_a_wrong_type_names_its_line(pack):
    (pack / "course.toml").write_text('id = "course-1"\ntitle = 3\nslug = "nlp"\n')
    assert problems(pack) == ["course.toml:2: `title` must be text, not a whole number"]


def test_duplicate_ids_name_both_places(pack):
    add_lesson(pack, "02-copy", "7c75c0c8-ff69-4998-869c-f46b549fc40b", "Copy", slug="copy")
    assert problems(pack) == [
        "lessons/02-copy/lesson.toml:1: id '7c75c0c8-ff69-4998-869c-f46b549fc40b' is already used by "
        "lessons/01-transformers/lesson.toml:1"
    ]


def test_a_malformed_id_is_refused(pack):
    add_lesson(pack, "02-bad", "a b", "Bad")
    assert problems(pack) == [
        "lessons/02-bad/lesson.toml:1: id 'a b' must be 3-64 letters, digits, '.', '_', ':' or '-' (a UUID is ideal)"
    ]


def test_duplicate_lesson_slugs_are_refused(pack):
    add_lesson(pack, "02-again", "lesson-again", "Again", slug="transformers")
    assert problems(pack) == [
        "lessons/02-again/lesson.toml: slug 'transformers' is also used by lessons/01-transformers"
    ]


def test_unknown_folders_and_missing_files_are_reported_together(pack):
    lesson = pack / "lessons" / "01-transformers"
    (lesson / "exercices").mkdir()
    (lesson / "lesson.md").unlink()
    found = problems(pack)
    assert "lessons/01-transformers/lesson.md: file is missing" in found
    assert any(p.startswith("lessons/01-transformers/exercices: unexpected folder") for p in found)


def test_an_invalid_pack_is_refused_whole(db, pack):
    load_pack(pack)
    course_toml = pack / "course.toml"
    course_toml.write_text(course_toml.read_text().replace("NLP 2 LLM", "Renamed"))
    add_lesson(pack, "02-bad", "lesson-bad", "Bad").joinpath("lesson.md").write_bytes(b"\xff\xfe")
    with pytest.raises(PackInvalid):
        load_pack(pack)
    assert Course.objects.get().title.startswith("NLP 2 LLM")
    assert Lesson.objects.count() == 1


def test_a_slug_taken_by_another_course_is_refused(db, pack):
    Course.objects.create(title="Squatter", slug="nlp2llm")
    with pytest.raises(PackInvalid, match="slug 'nlp2llm' is taken by the course 'Squatter'"):
        load_pack(pack)


def test_the_command_reports_every_problem_and_refuses(db, pack):
    (pack / "course.toml").write_text('id = "course-1"\ntitle = 3\n')
    stderr = StringIO()
    with pytest.raises(CommandError, match="refused, 2 problems; nothing was written"):
        call_command("load_course", str(pack), stderr=stderr)
    assert "course.toml:2: `title` must be text" in stderr.getvalue()
    assert "course.toml:1: missing required key `slug`" in stderr.getvalue()


def test_the_command_loads_and_checks(db, pack):
    out = StringIO()
    call_command("load_course", str(pack), "--check", stdout=out)
    assert "valid, nothing written" in out.getvalue()
    assert Course.objects.count() == 0
    call_command("load_course", str(pack), stdout=out)
    assert "lessons: 1 created" in out.getvalue()


def test_line_numbers_follow_tables_and_arrays_of_tables():
    text = (
        'id = "x"\n'              # 1
        '[limits]\n'              # 2
        'cpu_seconds = 5\n'       # 3
        '[[parts]]\n'             # 4
        'id = "a"\n'              # 5
        'body = """\n'            # 6
        'answer = "fake"\n'       # 7  (inside a string: not a key)
        '"""\n'                   # 8
        '[[parts]]\n'             # 9
        'id = "b"\n'              # 10
        '[[parts.feedback]]\n'    # 11
        'if_equals = "1 - y"\n'   # 12
    )
    toml = TomlFile("exercise.toml", text, {})
    assert toml.line_of("limits.cpu_seconds") == 3
    assert toml.line_of(("parts", 0, "id")) == 5
    assert toml.line_of(("parts", 0, "answer")) == 4
    assert toml.line_of(("parts", 1, "id")) == 10
    assert toml.line_of(("parts", 1, "feedback", 0, "if_equals")) == 12
    assert toml.line_of(("nothing",)) == 1
