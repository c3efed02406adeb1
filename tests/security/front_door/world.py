"""A course with one of everything an address can point at, and the six roles that visit it.

The student owns every object of a student's kind (a submission, a proposal, a pick, a
reflection answer, a seat in the live game); the classmate is a student of the same course
who owns nothing, so that a page showing one student's work to another fails the table.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from courses.models import Course, Membership
from tests.conftest import make_user

DEMO_PACK = Path(__file__).resolve().parents[3] / "content" / "nlp2llm"


@dataclass
class World:
    course: Course
    users: dict  # role -> user (None for anonymous)
    kwargs: dict = field(default_factory=dict)  # URL parameter name -> value
    seats: dict = field(default_factory=dict)  # role -> the player whose seat that role's browser holds


def build_world() -> World:
    from comparisons.models import ComparisonHomework, CriterionProposal, ModelPick, TableEntry
    from courses.packs import load_pack
    from exercises import grading
    from exercises import services as exercise_services
    from exercises.models import Exercise, Regrade, Submission
    from quizzes import services as quiz_services
    from quizzes.models import Question, Quiz, QuizImage
    from reflections.models import ReflectionAnswer, ReflectionPrompt, Theme

    instructor = make_user("ines", "Ines Instructor")
    load_pack(DEMO_PACK, owner=instructor, verify=False)
    course = Course.objects.get()
    ta, student, outsider = make_user("tom", "Tom Assistant"), make_user("sara", "Sara Student"), make_user("otto")
    classmate = make_user("cleo", "Cleo Classmate")
    Membership.objects.create(user=ta, course=course, role=Membership.Role.TEACHING_ASSISTANT)
    member = Membership.objects.create(user=student, course=course, role=Membership.Role.STUDENT)
    Membership.objects.create(user=classmate, course=course, role=Membership.Role.STUDENT)
    other = Course.objects.create(title="Databases", slug="databases")
    Membership.objects.create(user=outsider, course=other, role=Membership.Role.STUDENT)

    lesson = course.active_lessons().first()
    exercise = Exercise.objects.filter(course=course, kind="code").first()
    submission = Submission.objects.create(exercise=exercise, user=student, number=1, answer="def softmax(x): pass")
    regrade = Regrade.objects.create(exercise=exercise, requested_by=instructor)
    questions = Exercise.objects.filter(course=course, kind="questions").first()
    with transaction.atomic():  # graded here, in the test's thread, rather than by a worker
        answered = exercise_services.submit(student, questions, json.dumps({}))
    grading.grade(answered.pk)
    quiz = Quiz.objects.filter(course=course).first()
    question = Question.objects.filter(quiz=quiz).first()
    game = quiz_services.create_game(quiz=quiz, host=instructor, reading_seconds=0)
    player = quiz_services.join_game(game=game, nickname="Sara S.", user=student)
    prompt = ReflectionPrompt.objects.filter(lesson=lesson).first()
    theme = Theme.objects.create(prompt=prompt, label="softmax")
    answer = ReflectionAnswer.objects.create(prompt=prompt, student=student, text="softmax", theme=theme)
    homework = ComparisonHomework.objects.filter(course=course).first()
    criterion = homework.criteria.create(name="Context window", position=1)
    proposal = CriterionProposal.objects.create(homework=homework, author=student, name="Price",
                                                definition="What it costs", how_to_measure="The price list")
    pick = ModelPick.objects.create(homework=homework, student=student, model=homework.compared_models.first())
    entry = TableEntry.objects.create(pick=pick, criterion=criterion, value="128k", source_url="https://example.org/")
    image = QuizImage.objects.first()
    return World(course, {"anonymous": None, "outsider": outsider, "classmate": classmate, "student": student,
                          "ta": ta, "instructor": instructor}, {
        "course_slug": course.slug, "lesson_slug": lesson.slug, "exercise_slug": exercise.slug,
        "submission_id": submission.pk, "questions_submission_id": answered.pk, "regrade_id": regrade.pk,
        "member_id": member.pk,
        "quiz_id": quiz.pk, "question_id": question.pk, "kind": "single", "game_id": game.pk, "pin": game.pin,
        "theme_id": theme.pk, "answer_id": answer.pk, "homework_id": homework.pk, "proposal_id": proposal.pk,
        "user_id": student.pk, "entry_id": entry.pk, "sha256": image.sha256 if image else "0" * 64,
        "code": course.join_code, "uidb64": "MQ", "token": "set-password",
    }, {"student": player})
