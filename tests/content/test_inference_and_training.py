"""The free-text exercise of the SUMMARY: the explanation waits in the "To review" queue and is graded by rubric."""

import json

from courses.models import Membership
from courses.packs import load_pack
from exercises import grading as grading_services
from exercises import services as exercise_services
from exercises.models import Exercise, Submission
from tests.conftest import DEMO_PACK, make_user

EXPLANATION = (
    "In training the decoder reads the reference translation shifted right (teacher forcing) and predicts every "
    "position at once; the cross-entropy with the labels is backpropagated. At inference it reads its own previous "
    "tokens and writes one token per step until <EOS>, and no weight changes."
)


def submitted_explanation(django_capture_on_commit_callbacks):
    course = load_pack(DEMO_PACK, verify=False).course
    student = make_user("sara", "Sara Student")
    teacher = make_user("ines", "Ines Instructor")
    Membership.objects.create(user=student, course=course, role=Membership.Role.STUDENT)
    Membership.objects.create(user=teacher, course=course, role=Membership.Role.INSTRUCTOR)
    exercise = Exercise.objects.get(course=course, slug="inference-and-training")
    answers = {"decoder_input_in_training": "reference", "explanation": EXPLANATION}
    with django_capture_on_commit_callbacks(execute=False):
        submission = exercise_services.submit(student, exercise, json.dumps(answers))
    grading_services.grade(submission.pk)
    submission.refresh_from_db()
    return submission, teacher


def test_the_explanation_waits_for_a_person_with_the_choice_already_graded(db, django_capture_on_commit_callbacks):
    submission, _teacher = submitted_explanation(django_capture_on_commit_callbacks)
    assert submission.status == Submission.Status.NEEDS_REVIEW
    parts = {test["name"]: test for test in submission.verdict["tests"]}
    assert parts["decoder_input_in_training"]["points"] == 1
    assert parts["explanation"]["needs_review"] is True


def test_the_teacher_finds_it_in_the_review_queue_and_grades_it_with_the_rubric(
        client, db, django_capture_on_commit_callbacks):
    submission, teacher = submitted_explanation(django_capture_on_commit_callbacks)
    client.force_login(teacher)
    assert "To review (1)" in client.get("/c/nlp2llm/").content.decode()
    queue = client.get("/c/nlp2llm/review/").content.decode()
    assert "Inference and training: explain the difference" in queue
    form = client.get(f"/c/nlp2llm/submissions/{submission.pk}/review/").content.decode()
    assert "Training feeds the reference translation shifted right" in form
    assert "teacher forcing" in form
    client.post(f"/c/nlp2llm/submissions/{submission.pk}/review/", {
        "mark-explanation-decoder_input": "1", "mark-explanation-passes": "1", "mark-explanation-loss": "0.5",
        "comment": "Say that inference changes no weight because nothing is compared with labels.",
    })
    submission.refresh_from_db()
    assert (submission.status, submission.score, submission.max_score) == ("graded", 3.5, 4)
