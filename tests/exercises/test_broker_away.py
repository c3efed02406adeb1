"""A broker outage loses no submission and raises nowhere: the row is committed and queued, and the
sweeper rings again once the broker is back."""

from datetime import timedelta

from django.utils import timezone

from exercises import grading
from exercises import services as exercise_services
from exercises.models import Submission
from graders import engine
from tests.conftest import GOOD_SOFTMAX


def test_a_submission_is_committed_and_queued_when_the_broker_is_away(
        cast, code_exercise, broker_away, celery_eager, django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    assert len(callbacks) == 1  # the doorbell rang, and the broker refused it
    assert Submission.objects.get(pk=submission.pk).status == "queued"
    assert f"could not enqueue the submission {submission.pk}" in caplog.text


def test_a_retry_with_the_broker_away_leaves_the_submission_queued_for_the_sweeper(
        cast, code_exercise, broker_away, monkeypatch, django_capture_on_commit_callbacks):
    def broken(files, answer):
        raise RuntimeError("the grader tripped")

    monkeypatch.setattr(engine, "grade_answer", broken)
    with django_capture_on_commit_callbacks(execute=False):
        submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    assert grading.grade(submission.pk) == "retry"
    submission.refresh_from_db()
    assert (submission.status, submission.attempts) == ("queued", 1)


def test_the_sweep_with_the_broker_away_still_takes_back_work_from_a_dead_worker(
        cast, code_exercise, broker_away, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    grading.claim(submission.pk)
    Submission.objects.filter(pk=submission.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert grading.sweep()["requeued_running"] == 1
    assert Submission.objects.get(pk=submission.pk).status == "queued"
