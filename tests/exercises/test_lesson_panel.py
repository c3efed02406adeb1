"""The staff's lesson panel: who submitted, in natural order, where each answer stands, and what it reads."""

import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import Membership
from exercises import grading, services
from exercises.models import Submission
from tests.conftest import GOOD_SOFTMAX, NAIVE_SOFTMAX, make_user

LESSON = "/c/nlp/lessons/transformers/"
EXPLANATION = {"dL_dz1": "yhat_1 - 1", "direction_z1": "dec", "speed": "0.0032 s",
               "why": "The decoder reads the target shifted right, so all positions train in one pass."}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def student(cast, name):
    user = make_user(name.lower().replace(" ", ""), name)
    Membership.objects.create(user=user, course=cast.course, role=Membership.Role.STUDENT)
    return user


def submit_and_grade(user, exercise, answer, capture):
    with capture(execute=False):
        submission = services.submit(user, exercise, answer)
    grading.grade(submission.pk)
    return submission


def staff_panel(client, cast) -> str:
    client.force_login(cast.instructor)
    return client.get(LESSON).content.decode().split('class="card lesson-exercises"')[1].split("</section>")[0]


def test_the_panel_says_who_submitted_in_natural_order_with_links_to_their_submissions(
        client, cast, code_exercise, django_capture_on_commit_callbacks):
    people = {name: student(cast, name) for name in ("Student 10", "Student 2", "Student 1")}
    for name, code in (("Student 10", GOOD_SOFTMAX), ("Student 2", NAIVE_SOFTMAX), ("Student 1", GOOD_SOFTMAX)):
        submit_and_grade(people[name], code_exercise, code, django_capture_on_commit_callbacks)
    panel = staff_panel(client, cast)
    assert "3 of 4 students" in panel
    who = panel.split('<details class="submitters">')[1].split("</details>")[0]
    assert who.index(">Student 1<") < who.index(">Student 2<") < who.index(">Student 10<")
    assert "Sara Student" not in who  # enrolled, never submitted
    link = f'/c/nlp/exercises/softmax/submissions/?user={people["Student 2"].pk}'
    assert f'<a href="{link}">Student 2</a> <span class="muted small">3 / 4</span>' in who
    theirs = client.get(link).content.decode()
    assert "The submissions of Student 2 only." in theirs
    assert "1 submission." in theirs


def test_answers_waiting_for_a_person_are_not_counted_as_nothing_graded(
        client, cast, questions_exercise, django_capture_on_commit_callbacks):
    for name in ("Ann Able", "Bob Baker"):
        submit_and_grade(student(cast, name), questions_exercise, json.dumps(EXPLANATION),
                         django_capture_on_commit_callbacks)
    assert set(Submission.objects.values_list("status", flat=True)) == {"needs_review"}
    panel = staff_panel(client, cast)
    assert "2 of 3 students" in panel
    assert "2 waiting for review" in panel
    assert "0 graded" not in panel
    assert "nothing graded yet" not in panel
    assert panel.count("waiting for review</span></li>") == 2


def verdict_reads(client, cast) -> int:
    with CaptureQueriesContext(connection) as queries:
        staff_panel(client, cast)
    return sum('"verdict"' in query["sql"] for query in queries.captured_queries)


def test_the_panel_reads_the_counted_verdicts_only_when_they_change(
        client, cast, code_exercise, django_capture_on_commit_callbacks):
    carl = student(cast, "Carl Classmate")
    for code in (NAIVE_SOFTMAX, GOOD_SOFTMAX, NAIVE_SOFTMAX):
        submit_and_grade(carl, code_exercise, code, django_capture_on_commit_callbacks)
    assert verdict_reads(client, cast) == 1  # one query, for the one counted submission of each student
    assert verdict_reads(client, cast) == 0  # nothing changed: the tests most failed are kept
    submit_and_grade(cast.student, code_exercise, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    assert verdict_reads(client, cast) == 1
    assert "(1 of 2)" in staff_panel(client, cast)
