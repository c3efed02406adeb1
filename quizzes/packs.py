"""Quizzes in course packs: `lessons/<lesson>/quizzes/<name>.toml` or `quizzes/<name>/quiz.toml` (with images).

    id = "3f0c..."                  stable id of the quiz
    title = "Kahoot time!"
    description = "..."             optional

    [[questions]]
    id = "kt-bert"                  stable id of the question (unique in the pack)
    kind = "single"                 single, multiple, true_false, type_answer, slider, ordering, poll, word_cloud
    text = "BERT is ...?"           Markdown with $math$
    time = 20                       seconds, 5 to 240 (default 20)
    points = "standard"             none, standard or double (default standard)
    image = "images/bert.svg"       optional; only in a quiz folder, relative to quiz.toml
    choices = [{ text = "Encoder-only", correct = true }, "Decoder-only"]   single, multiple, poll
    shuffle = false                 single, multiple, poll: keep the choices in this order (default: shuffled per game)
    answer = true                   true_false (true or false); slider (the number)
    accepted = ["argmax", "arg max"]   type_answer
    min = 0, max = 10, step = 1, tolerance = 0, unit = ""   slider
    items = ["first", "second"]     ordering, in the right order
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from courses.packs import ItemKind, PackReader, TomlFile, upsert

from .images import ImageData, ImageInvalid, check_image, store_image
from .kinds import KINDS, SpecProblem
from .models import MAX_TIME_LIMIT, MIN_TIME_LIMIT, Points, Question, Quiz

QUIZ_KEYS = {"id", "title", "description", "questions"}
COMMON_KEYS = {"id", "kind", "text", "time", "points", "image"}
KIND_KEYS = {
    "single": {"choices", "shuffle"},
    "multiple": {"choices", "shuffle"},
    "poll": {"choices", "shuffle"},
    "true_false": {"answer"},
    "type_answer": {"accepted"},
    "slider": {"min", "max", "step", "answer", "tolerance", "unit"},
    "ordering": {"items"},
    "word_cloud": set(),
}
DEFAULT_TIME_LIMIT = 20


@dataclass
class QuestionSource:
    pack_id: str
    kind: str
    text: str
    time_limit: int
    points: str
    spec: dict
    image: ImageData | None = None


@dataclass
class QuizSource:
    pack_id: str
    title: str
    description: str
    position: int
    path: str
    questions: list[QuestionSource] = field(default_factory=list)


class QuizItemKind(ItemKind):
    folder = "quizzes"

    def read(self, reader: PackReader, folder: Path) -> list[QuizSource]:
        quizzes = []
        for position, entry in enumerate(sorted(p for p in folder.iterdir() if not p.name.startswith(".")), start=1):
            if entry.is_dir():
                quiz = _read_quiz(reader, entry / "quiz.toml", position, image_root=entry)
            elif entry.suffix == ".toml":
                quiz = _read_quiz(reader, entry, position, image_root=None)
            else:
                reader.problem(entry, "unexpected file: a quiz is a .toml file or a folder holding quiz.toml")
                continue
            if quiz:
                quizzes.append(quiz)
        return quizzes

    def save(self, lesson: Any, items: list[QuizSource]) -> Counter:
        counts: Counter = Counter()
        for source in items:
            quiz, state = upsert(
                Quiz,
                {"course": lesson.course, "pack_id": source.pack_id},
                {"lesson": lesson, "title": source.title, "description": source.description,
                 "position": source.position, "archived": False},
            )
            changed = _save_questions(quiz, source.questions)
            counts["updated" if state == "unchanged" and changed else state] += 1
        return counts

    def retire(self, course: Any, kept_ids: set[str]) -> int:
        return (
            Quiz.objects.filter(course=course, archived=False, pack_id__isnull=False)
            .exclude(pack_id__in=kept_ids)
            .update(archived=True)
        )


def _save_questions(quiz: Quiz, questions: list[QuestionSource]) -> bool:
    changed = False
    for position, source in enumerate(questions, start=1):
        image = store_image(source.image) if source.image else None
        _question, state = upsert(
            Question,
            {"quiz": quiz, "key": source.pack_id},
            {"position": position, "kind": source.kind, "text": source.text, "time_limit": source.time_limit,
             "points": source.points, "spec": source.spec, "image": image, "archived": False},
        )
        changed = changed or state != "unchanged"
    gone = quiz.questions.filter(archived=False).exclude(key__in=[source.pack_id for source in questions])
    return gone.update(archived=True) > 0 or changed


def _read_quiz(reader: PackReader, path: Path, position: int, image_root: Path | None) -> QuizSource | None:
    toml = reader.read_toml(path)
    if toml is None:
        return None
    reader.unknown_keys(toml, QUIZ_KEYS)
    quiz_id = reader.claim_id(toml)
    title = reader.value(toml, "title", str)
    description = reader.value(toml, "description", str, "")
    questions = reader.value(toml, "questions", list)
    if questions is None:
        return None
    if not questions:
        reader.key_problem(toml, "questions", "a quiz needs at least one question")
    sources = []
    for index, table in enumerate(questions):
        if not isinstance(table, dict):
            reader.key_problem(toml, "questions", "write each question as a [[questions]] table")
            continue
        source = _read_question(reader, toml, index, table, image_root)
        if source:
            sources.append(source)
    if None in (quiz_id, title, description) or len(sources) != len(questions):
        return None
    return QuizSource(quiz_id, title.strip(), description.strip(), position, toml.path, sources)


def _read_question(
    reader: PackReader, toml: TomlFile, index: int, table: dict, image_root: Path | None
) -> QuestionSource | None:
    where = ("questions", index)
    before = len(reader.problems)
    question_id = reader.claim_id(toml, (*where, "id"), table=table)
    kind = reader.value(toml, "kind", str, table=table, key_path=(*where, "kind"))
    if kind is not None and kind not in KINDS:
        reader.key_problem(toml, (*where, "kind"), f"unknown kind {kind!r} (expected one of: {', '.join(KINDS)})")
        kind = None
    if kind is not None:
        reader.unknown_keys(toml, COMMON_KEYS | KIND_KEYS[kind], table=table, prefix=where)
    text = reader.value(toml, "text", str, table=table, key_path=(*where, "text"))
    time_limit = reader.value(toml, "time", int, DEFAULT_TIME_LIMIT, table=table, key_path=(*where, "time"))
    if time_limit is not None and not MIN_TIME_LIMIT <= time_limit <= MAX_TIME_LIMIT:
        reader.key_problem(toml, (*where, "time"), f"`time` must be {MIN_TIME_LIMIT} to {MAX_TIME_LIMIT} seconds")
    points = reader.value(toml, "points", str, Points.STANDARD.value, table=table, key_path=(*where, "points"))
    if points is not None and points not in Points.values:
        reader.key_problem(toml, (*where, "points"), f"`points` must be one of: {', '.join(Points.values)}")
    image = _read_image(reader, toml, where, table, image_root)
    spec = None
    if kind is not None:
        raw = {key: table[key] for key in KIND_KEYS[kind] if key in table}
        try:
            spec = KINDS[kind].clean(raw)
        except SpecProblem as problem:
            key = problem.field if problem.field in table else None
            reader.key_problem(toml, (*where, key) if key else where, f"{problem.field}: {problem.message}")
    if len(reader.problems) != before:
        return None
    return QuestionSource(question_id, kind, text.strip(), time_limit, points, spec, image)


def _read_image(reader: PackReader, toml: TomlFile, where: tuple, table: dict, root: Path | None) -> ImageData | None:
    name = reader.value(toml, "image", str, "", table=table, key_path=(*where, "image"))
    if not name:
        return None
    if root is None:
        reader.key_problem(toml, (*where, "image"), "images need a quiz folder: move this file to "
                           "quizzes/<name>/quiz.toml and put the image beside it")
        return None
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        reader.key_problem(toml, (*where, "image"), f"image {name!r} is not a file in {reader.relative(root)}")
        return None
    try:
        return check_image(name, path.read_bytes())
    except ImageInvalid as invalid:
        reader.key_problem(toml, (*where, "image"), str(invalid))
        return None
