"""Answers graded by a person: the queue, the rubric, the comment the student reads."""

import json

import pytest

from exercises import grading, services
from exercises.models import Submission

ANSWERS = {"dL_dz1": "yhat_1 - 1", "direction_z1": "dec", "speed": "0.0032 s",
           "why": "The decoder reads the target shifted right, so all positions train in one pass."}


@pytest.fixture
def waiting(cast, questions_exercise, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        submission = services.submit(cast.student, questions_exercise, json.dumps(ANSWERS))
    grading.grade(submission.pk)
    submission.refresh_from_db()
    return submission


def test_a_text_answer_waits_for_a_person_with_the_other_parts_graded(waiting):
    assert waiting.status == "needs_review"
    assert waiting.score == 4  # 2 + 1 + 1, the text part not yet
    verdict = waiting.verdict_object
    assert [test.needs_review for test in verdict.tests] == [False, False, False, True]
    assert verdict.summary == "Waiting for a person to grade this answer."


def test_the_queue_lists_it_for_staff_only(client, cast, waiting):
    client.force_login(cast.ta)
    page = client.get("/c/nlp/review/").content.decode()
    assert "Sara Student" in page
    assert "To review (1)" in page
    client.force_login(cast.student)
    assert client.get("/c/nlp/review/").status_code == 404
    assert client.get(f"/c/nlp/submissions/{waiting.pk}/review/").status_code == 404


def test_staff_grade_with_the_rubric_and_the_student_reads_the_comment(client, cast, waiting):
    client.force_login(cast.ta)
    page = client.get(f"/c/nlp/submissions/{waiting.pk}/review/").content.decode()
    assert "Decoder input is the target shifted right (0 to 2)" in page
    assert "The decoder reads the target shifted right" in page
    response = client.post(f"/c/nlp/submissions/{waiting.pk}/review/", {
        "mark-why-shift": "2", "mark-why-speed": "0.5", "comment": "Good; say why it is faster.",
    })
    assert response["Location"] == "/c/nlp/review/"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.score) == ("graded", 6.5)
    why = waiting.verdict_object.tests[-1]
    assert why.message.startswith("Decoder input is the target shifted right: 2/2")
    client.force_login(cast.student)
    verdict = client.get(f"/c/nlp/submissions/{waiting.pk}/verdict/").content.decode()
    assert "Good; say why it is faster." in verdict
    assert "6.5 / 7" in verdict


def test_a_mark_out_of_range_or_missing_is_refused_with_a_message(client, cast, waiting):
    client.force_login(cast.instructor)
    response = client.post(f"/c/nlp/submissions/{waiting.pk}/review/",
                           {"mark-why-shift": "3", "mark-why-speed": "1"}, follow=True)
    assert "takes 0 to 2 points, not 3" in response.content.decode()
    response = client.post(f"/c/nlp/submissions/{waiting.pk}/review/", {"comment": "later"}, follow=True)
    assert "has no grade yet" in response.content.decode()
    response = client.post(f"/c/nlp/submissions/{waiting.pk}/review/",
                           {"mark-why-shift": "two", "mark-why-speed": "1"}, follow=True)
    assert "Points must be numbers" in response.content.decode()
    assert Submission.objects.get(pk=waiting.pk).status == "needs_review"
