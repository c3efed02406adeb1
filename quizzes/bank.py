"""The question bank's writes: questions added, saved, moved and removed; quizzes duplicated, archived, imported.

Views parse the request (forms, uploaded files) and call these; each write runs in one
transaction. A quiz from the course pack is edited in its files, not here: a web edit would
be undone by the next pack load, so every write to one is refused (`QuizReadOnly`), except
duplicating it, which makes a web quiz. A removed question is archived, never deleted:
games already played keep it in their reports.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from attentive.refusals import Refused

from .images import ImageData, store_image
from .kahoot import QuestionDraft
from .kinds import KINDS, SpecProblem
from .models import Question, Quiz


class QuizReadOnly(Refused):
    """The quiz comes from the course pack: it is edited in its files."""


class NothingToImport(Refused):
    """An imported file held no question that could be read."""


def check_editable(quiz: Quiz) -> None:
    """Refuse any edit of a pack quiz, with what to do instead."""
    if quiz.from_pack:
        raise QuizReadOnly("This quiz comes from the course pack: edit its file, or duplicate it to edit here.")


def add_question(quiz: Quiz, *, kind: str, text: str, time_limit: int, points: str, spec: dict,
                 image: ImageData | None = None) -> Question:
    """A new question at the end of the quiz."""
    check_editable(quiz)
    if kind not in KINDS:
        raise SpecProblem("kind", f"unknown kind {kind!r} (expected one of: {', '.join(KINDS)})")
    with transaction.atomic():
        # The quiz row's lock keeps two questions added at once from taking the same position.
        Quiz.objects.select_for_update(of=("self",)).filter(pk=quiz.pk).first()
        position = (quiz.questions.aggregate(last=Max("position"))["last"] or 0) + 1
        question = Question(quiz=quiz, kind=kind, position=position)
        _write(question, text=text, time_limit=time_limit, points=points, spec=spec, image=image)
    return question


def save_question(question: Question, *, text: str, time_limit: int, points: str, spec: dict,
                  image: ImageData | None = None, remove_image: bool = False) -> None:
    """Save an edited question; a new image replaces the old one, `remove_image` drops it."""
    check_editable(question.quiz)
    with transaction.atomic():
        _write(question, text=text, time_limit=time_limit, points=points, spec=spec, image=image,
               remove_image=remove_image)


def _write(question: Question, *, text: str, time_limit: int, points: str, spec: dict, image: ImageData | None,
           remove_image: bool = False) -> None:
    question.text = text.strip()
    question.time_limit = time_limit
    question.points = points
    question.spec = KINDS[question.kind].clean(spec)
    if image:
        question.image = store_image(image)
    elif remove_image:
        question.image = None
    question.save()


def move_question(quiz: Quiz, question_id: int, *, up: bool) -> None:
    """Swap a question with the one before (`up`) or after it; at either end, nothing moves.

    Raises Question.DoesNotExist if the quiz has no such question."""
    check_editable(quiz)
    with transaction.atomic():
        questions = list(quiz.active_questions().select_for_update(of=("self",)))
        index = next((i for i, question in enumerate(questions) if question.pk == question_id), None)
        if index is None:
            raise Question.DoesNotExist(f"The quiz has no question {question_id}.")
        other = index - 1 if up else index + 1
        if 0 <= other < len(questions):
            questions[index], questions[other] = questions[other], questions[index]
            for position, question in enumerate(questions, start=1):
                question.position = position
            Question.objects.bulk_update(questions, ["position"])


def remove_question(quiz: Quiz, question_id: int) -> None:
    """Archive a question (games already played keep it). Raises Question.DoesNotExist if the quiz has no such one."""
    check_editable(quiz)
    if not Question.objects.filter(pk=question_id, quiz=quiz).update(archived=True):
        raise Question.DoesNotExist(f"The quiz has no question {question_id}.")


def duplicate_quiz(quiz: Quiz, *, by) -> Quiz:
    """A web copy of a quiz and its questions, which its author can edit (a pack quiz too)."""
    with transaction.atomic():
        copy = Quiz.objects.create(course=quiz.course, lesson=quiz.lesson, title=f"{quiz.title} (copy)",
                                   description=quiz.description, created_by=by)
        Question.objects.bulk_create(
            Question(quiz=copy, position=question.position, kind=question.kind, text=question.text,
                     time_limit=question.time_limit, points=question.points, image=question.image, spec=question.spec)
            for question in quiz.active_questions()
        )
    return copy


def archive_quiz(quiz: Quiz) -> None:
    """Take a quiz out of the bank; its games and reports are kept."""
    check_editable(quiz)
    quiz.archived = True
    quiz.save(update_fields=["archived", "updated_at"])


def import_quiz(course, *, title: str, drafts: list[QuestionDraft], by) -> Quiz:
    """A new quiz holding the questions read from an imported file, in their order."""
    if not drafts:
        raise NothingToImport("No question could be imported: fix the rows listed below and upload the file again.")
    with transaction.atomic():
        quiz = Quiz.objects.create(course=course, title=title[:200], created_by=by)
        Question.objects.bulk_create(
            Question(quiz=quiz, position=position, kind=draft.kind, text=draft.text, time_limit=draft.time_limit,
                     spec=draft.spec)
            for position, draft in enumerate(drafts, start=1)
        )
    return quiz
