"""DurableJob.claim_reading: a claim and the claimed row's values in one UPDATE ... RETURNING,
read as the ORM reads them, on whichever database the suite runs on (CI runs it on both)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attentive import jobs
from exercises import grading
from exercises import services as exercise_services
from exercises.models import Submission
from reflections.models import ReflectionPrompt, ThemeComputation
from reflections.services import THEME_COMPUTATIONS
from tests.conftest import GOOD_SOFTMAX


@pytest.fixture(params=["returning", "update-then-query"])
def way(request, monkeypatch):
    """Both ways of claim_reading: one statement, and the ORM's two where a database cannot return rows."""
    if request.param == "update-then-query":
        monkeypatch.setattr(jobs, "_updates_return_rows", lambda: False)
    return request.param


@pytest.fixture
def queued(cast, code_exercise, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)


def test_this_database_returns_rows_from_an_update():
    # Both databases Attentive runs on do; were it not so, every claim would take the slower way.
    assert jobs._updates_return_rows()


def test_a_claim_reads_the_row_and_the_row_it_points_to_as_the_orm_does(way, queued, code_exercise):
    moment = timezone.now() - timedelta(seconds=3)
    row = grading.SUBMISSIONS.claim_reading(
        queued.pk, ("attempts", "answer", "status", "claimed_at", "is_staff_test", "exercise__files",
                    "exercise__max_score"), now=moment, claimed_at=moment,
    )
    stored = Submission.objects.filter(pk=queued.pk).values(
        "attempts", "answer", "status", "claimed_at", "is_staff_test", "exercise__files", "exercise__max_score",
    ).get()
    assert row == stored
    assert (row["attempts"], row["status"], row["claimed_at"]) == (1, "running", moment)
    assert row["is_staff_test"] is False
    assert (row["exercise__files"], row["answer"]) == (code_exercise.files, GOOD_SOFTMAX)
    assert Submission.objects.get(pk=queued.pk).heartbeat_at == moment


def test_a_row_that_is_not_waiting_is_not_claimed_nor_read(way, queued):
    assert grading.SUBMISSIONS.claim_reading(queued.pk, ("attempts",)) == {"attempts": 1}
    assert grading.SUBMISSIONS.claim_reading(queued.pk, ("attempts",)) is None
    assert grading.SUBMISSIONS.claim_reading(queued.pk + 1000, ("attempts",)) is None
    assert Submission.objects.get(pk=queued.pk).attempts == 1


def test_a_job_keyed_by_a_foreign_key_is_claimed_and_read(way, cast):
    prompt = ReflectionPrompt.objects.create(course=cast.course, lesson=cast.lesson, text="What was unclear?")
    ThemeComputation.objects.create(prompt=prompt, state="scheduled", rerun_requested=True, attempts=2)
    moment = timezone.now()
    row = THEME_COMPUTATIONS.claim_reading(
        prompt.pk, ("attempts", "rerun_requested", "started_at", "stage", "prompt__text"),
        now=moment, started_at=moment, stage="Starting",
    )
    assert row == {"attempts": 3, "rerun_requested": True, "started_at": moment, "stage": "Starting",
                   "prompt__text": "What was unclear?"}
    assert ThemeComputation.objects.get(prompt=prompt).state == "running"


def test_grading_claims_with_one_statement_and_records_the_verdict(queued, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        claim = grading.claim(queued.pk)
    assert (claim.pk, claim.attempts, claim.infrastructure_retries, claim.answer) == (queued.pk, 1, 0, GOOD_SOFTMAX)
    assert claim.exercise_files == queued.exercise.files


def test_a_claimed_row_is_updated_by_hand_as_the_orm_would(queued):
    claim = grading.claim(queued.pk)
    moment = timezone.now()
    verdict = {"status": "graded", "score": 4.0, "tests": [{"name": "ünïcode", "passed": True}], "message": "a 'quote'"}
    assert grading.SUBMISSIONS.update_claimed(
        claim.pk, claim.attempts, status="graded", score=4.0, verdict=verdict, graded_at=moment, heartbeat_at=None,
        increment=("verdicts_written",),
    )
    stored = Submission.objects.get(pk=queued.pk)
    assert (stored.status, stored.score, stored.verdict, stored.graded_at) == ("graded", 4.0, verdict, moment)
    assert (stored.heartbeat_at, stored.verdicts_written, stored.attempts) == (None, 1, 1)
    # The claim is gone once the row is no longer running, or was claimed again since.
    assert not grading.SUBMISSIONS.update_claimed(claim.pk, claim.attempts, score=0.0)
    Submission.objects.filter(pk=queued.pk).update(status="running", attempts=2)
    assert not grading.SUBMISSIONS.update_claimed(claim.pk, claim.attempts, score=0.0)
    assert Submission.objects.get(pk=queued.pk).score == 4.0


def test_a_plain_claim_is_the_same_update_and_takes_a_waiting_job_once(cast, django_assert_num_queries):
    prompt = ReflectionPrompt.objects.create(course=cast.course, lesson=cast.lesson, text="What was unclear?")
    ThemeComputation.objects.create(prompt=prompt, state="scheduled", attempts=2)
    moment = timezone.now()
    with django_assert_num_queries(1):
        assert THEME_COMPUTATIONS.claim(prompt.pk, now=moment, stage="Starting", done=0)
    assert not THEME_COMPUTATIONS.claim(prompt.pk, now=moment, stage="Again")
    assert not THEME_COMPUTATIONS.claim(prompt.pk + 1000, now=moment)
    stored = ThemeComputation.objects.get(prompt=prompt)
    assert (stored.state, stored.attempts, stored.heartbeat_at, stored.stage) == ("running", 3, moment, "Starting")
