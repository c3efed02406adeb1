"""The exercise set in the app: every page renders for a student, and a submission comes back with its feedback."""

import json

from courses.models import Membership
from courses.packs import load_pack
from exercises import grading as grading_services
from exercises import services as exercise_services
from exercises.models import Exercise
from tests.conftest import DEMO_PACK, make_user
from tests.content.test_softmax import NAIVE


def enrolled_student(course):
    student = make_user("sara")
    Membership.objects.create(user=student, course=course, role=Membership.Role.STUDENT)
    return student


def test_every_exercise_page_shows_its_statement_and_its_answer_box(client, db, pool):
    course = load_pack(DEMO_PACK).course
    client.force_login(enrolled_student(course))
    for exercise in Exercise.objects.filter(course=course):
        page = client.get(f"/c/{course.slug}/exercises/{exercise.slug}/")
        assert page.status_code == 200, exercise.slug
        text = page.content.decode()
        assert exercise.title in text
        if exercise.kind == "code":
            assert 'data-editor="python"' in text
            assert "raise NotImplementedError" in text


def test_a_naive_softmax_submitted_in_the_app_is_told_about_overflow(db, pool, django_capture_on_commit_callbacks):
    course = load_pack(DEMO_PACK).course
    student = enrolled_student(course)
    exercise = Exercise.objects.get(course=course, slug="softmax")
    with django_capture_on_commit_callbacks(execute=False):
        submission = exercise_services.submit(student, exercise, NAIVE)
    grading_services.grade(submission.pk)
    submission.refresh_from_db()
    assert (submission.status, submission.score, submission.max_score) == ("graded", 8, 13)
    tests = {test["name"]: test for test in submission.verdict["tests"]}
    assert "exp(z) overflows to inf" in tests["logits_around_a_hundred"]["message"]
    assert tests["logits_around_a_thousand"]["message"].startswith("A hidden test with logits around 1000 failed")


def test_the_derivation_answered_in_the_app_gets_partial_credit(db, pool, django_capture_on_commit_callbacks):
    course = load_pack(DEMO_PACK).course
    student = enrolled_student(course)
    exercise = Exercise.objects.get(course=course, slug="cross-entropy-derivative")
    answers = {"loss": "-log(p_1)", "dL_dz1": "1 - yhat_1", "direction_z1": "decreasing", "dL_dz2": "yhat_2",
               "direction_z2": "increasing", "dL_dz3": "yhat_3", "direction_z3": "increasing",
               "all_at_once": "yhat_minus_y"}
    with django_capture_on_commit_callbacks(execute=False):
        submission = exercise_services.submit(student, exercise, json.dumps(answers))
    grading_services.grade(submission.pk)
    submission.refresh_from_db()
    assert (submission.status, submission.score, submission.max_score) == ("graded", 10, 11)
