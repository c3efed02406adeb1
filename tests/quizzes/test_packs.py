"""Quizzes in course packs: the demo quiz, stable ids, idempotent reloads, and errors that name file and line."""

import shutil

import pytest

from courses.packs import PackInvalid, load_pack, read_pack
from quizzes.models import Question, Quiz, QuizImage

QUIZ_DIR = ("lessons", "01-transformers", "quizzes", "01-kahoot-time")


@pytest.fixture
def pack(tmp_path, demo_pack):
    copy = tmp_path / "pack"
    shutil.copytree(demo_pack, copy)
    return copy


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def quiz_toml(pack):
    return pack.joinpath(*QUIZ_DIR, "quiz.toml")


def problems(pack) -> list[str]:
    with pytest.raises(PackInvalid) as caught:
        read_pack(pack)
    return [str(problem) for problem in caught.value.problems]


def write_quiz(pack, name: str, body: str):
    path = pack / "lessons" / "01-transformers" / "quizzes" / name
    path.write_text(body)
    return path


def test_the_demo_pack_has_kahoot_time_with_questions_from_the_seed(db, demo_pack):
    report = load_pack(demo_pack)
    assert report.counts["quizzes"] == {"created": 1}
    quiz = Quiz.objects.get(title="Kahoot time!")
    assert quiz.lesson.title == "Transformers"
    questions = list(quiz.active_questions())
    assert len(questions) >= 12
    assert {question.kind for question in questions} == {
        "single", "multiple", "true_false", "type_answer", "slider", "ordering", "poll", "word_cloud"}
    text = " ".join(question.text + str(question.spec) for question in questions).lower()
    for topic in ("bert", "gpt", "t5", "<s>", "<eos>", "argmax", "teacher forcing", "cross-entropy", "token"):
        assert topic in text, topic
    image = quiz.questions.get(key="kt-decoder-start").image
    assert image.content_type == "image/svg+xml"


def test_the_demo_packs_right_answers_are_spread_over_the_positions(db, demo_pack):
    load_pack(demo_pack)
    quiz = Quiz.objects.get(title="Kahoot time!")
    firsts = []
    for question in quiz.active_questions().filter(kind__in=["single", "multiple"]):
        correct = [index for index, choice in enumerate(question.spec["choices"]) if choice["correct"]]
        firsts.append(correct[0])
    assert len(firsts) >= 8
    assert firsts.count(0) <= len(firsts) // 3
    assert len(set(firsts)) >= 3


def test_a_pack_question_can_pin_the_order_of_its_choices(db, pack):
    write_quiz(pack, "02-scale.toml", '''
id = "quiz-scale"
title = "How was it?"

[[questions]]
id = "scale-1"
kind = "poll"
text = "Today's pace was…"
choices = ["Too slow", "Right", "Too fast"]
shuffle = false

[[questions]]
id = "scale-2"
kind = "single"
text = "Which?"
choices = ["a", { text = "b", correct = true }]
''')
    load_pack(pack)
    pinned, shuffled = Quiz.objects.get(pack_id="quiz-scale").active_questions()
    assert pinned.spec["shuffle"] is False
    assert "shuffle" not in shuffled.spec


def test_a_shuffle_that_is_not_true_or_false_is_refused_with_its_line(pack):
    write_quiz(pack, "02-scale.toml", '''id = "quiz-scale"
title = "How was it?"

[[questions]]
id = "scale-1"
kind = "poll"
text = "Today's pace was…"
choices = ["Too slow", "Right", "Too fast"]
shuffle = "no"
''')
    assert problems(pack) == ["lessons/01-transformers/quizzes/02-scale.toml:9: shuffle: must be true or false"]


def test_reloading_changes_nothing(db, pack):
    load_pack(pack)
    report = load_pack(pack)
    assert report.counts["quizzes"] == {"unchanged": 1}
    assert QuizImage.objects.count() == 1


def test_questions_keep_their_rows_by_id_when_edited_and_reordered(db, pack):
    load_pack(pack)
    before = dict(Question.objects.values_list("key", "pk"))
    path = quiz_toml(pack)
    text = path.read_text()
    first = text.index("[[questions]]")
    second = text.index("[[questions]]", first + 1)
    third = text.index("[[questions]]", second + 1)
    # Swap the first two questions and retitle one.
    text = text[:first] + text[second:third] + text[first:second] + text[third:]
    path.write_text(text.replace("BERT belongs to", "BERT is part of"))
    report = load_pack(pack)
    assert report.counts["quizzes"] == {"updated": 1}
    assert dict(Question.objects.values_list("key", "pk")) == before
    moved = Question.objects.get(key="kt-bert-family")
    assert moved.position == 2
    assert moved.text.startswith("BERT is part of")


def test_a_question_removed_from_the_pack_is_archived_not_deleted(db, pack):
    load_pack(pack)
    path = quiz_toml(pack)
    text = path.read_text()
    start = text.index('[[questions]]\nid = "kt-hardest-word"')
    path.write_text(text[:start])
    load_pack(pack)
    assert Question.objects.get(key="kt-hardest-word").archived
    assert not Quiz.objects.get().active_questions().filter(key="kt-hardest-word").exists()


def test_a_quiz_removed_from_the_pack_is_archived_and_comes_back(db, pack):
    load_pack(pack)
    folder = pack.joinpath(*QUIZ_DIR)
    backup = pack.parent / "quiz-backup"
    shutil.move(folder, backup)
    assert load_pack(pack).counts["quizzes"] == {"archived": 1}
    assert Quiz.objects.get().archived
    shutil.move(backup, folder)
    load_pack(pack)
    assert not Quiz.objects.get().archived


def test_a_quiz_can_be_a_single_file(db, pack):
    write_quiz(pack, "02-warm-up.toml", '''
id = "quiz-warm-up"
title = "Warm-up"

[[questions]]
id = "warm-1"
kind = "true_false"
text = "Softmax outputs sum to $1$."
answer = true
''')
    load_pack(pack)
    quiz = Quiz.objects.get(pack_id="quiz-warm-up")
    assert quiz.active_questions().get().spec == {"answer": True}
    assert quiz.position == 2


def test_errors_name_the_file_and_the_line(pack):
    write_quiz(pack, "02-broken.toml", '''id = "quiz-broken"
title = "Broken"

[[questions]]
id = "b-1"
kind = "single"
text = "Which?"
time = 300
choices = ["a", "b"]

[[questions]]
id = "b-2"
kind = "slider"
text = "How many?"
min = 0
max = 10
answer = 11
colour = "red"

[[questions]]
id = "kt-bert-family"
kind = "essay"
text = "Discuss."
''')
    found = problems(pack)
    path = "lessons/01-transformers/quizzes/02-broken.toml"
    assert found == [
        f"{path}:8: `time` must be 5 to 240 seconds",
        f"{path}:9: choices: mark at least one choice as correct",
        f"{path}:18: unknown key `colour` (expected one of: answer, id, image, kind, max, min, points, step, "
        "text, time, tolerance, unit)",
        f"{path}:17: answer: must be between min and max",
        f"{path}:21: id 'kt-bert-family' is already used by lessons/01-transformers/quizzes/01-kahoot-time/quiz.toml:8",
        f"{path}:22: unknown kind 'essay' (expected one of: single, multiple, true_false, type_answer, slider, "
        "ordering, poll, word_cloud)",
    ]


def test_images_must_be_real_images_inside_the_quiz_folder(pack):
    folder = pack.joinpath(*QUIZ_DIR)
    (folder / "fake.png").write_text("<html>not an image</html>")
    path = quiz_toml(pack)
    text = path.read_text().replace('image = "decoder-start.svg"', 'image = "fake.png"')
    text = text.replace('id = "kt-logits-size"', 'id = "kt-logits-size"\nimage = "../../../../course.toml"')
    path.write_text(text)
    found = problems(pack)
    assert any("fake.png: the file is not a valid PNG image" in problem for problem in found)
    assert any("image '../../../../course.toml' is not a file in" in problem for problem in found)


def test_a_single_file_quiz_cannot_have_images(pack):
    write_quiz(pack, "02-pictures.toml", '''id = "quiz-pictures"
title = "Pictures"

[[questions]]
id = "p-1"
kind = "word_cloud"
text = "What do you see?"
image = "picture.png"
''')
    assert problems(pack) == [
        "lessons/01-transformers/quizzes/02-pictures.toml:8: images need a quiz folder: move this file to "
        "quizzes/<name>/quiz.toml and put the image beside it"
    ]


def test_check_only_counts_quizzes_without_writing(db, pack):
    report = load_pack(pack, check_only=True)
    assert report.counts["quizzes"] == {"checked": 1}
    assert not Quiz.objects.exists()
