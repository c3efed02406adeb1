"""Exercise policies: attempt limits, cooldown, late-credit windows, best vs last."""

from datetime import UTC, datetime, timedelta

import pytest

from exercises import services
from exercises.models import Exercise, Submission

DUE = datetime(2026, 12, 15, 22, 59, tzinfo=UTC)


@pytest.fixture
def exercise(cast):
    return Exercise.objects.create(
        course=cast.course, lesson=cast.lesson, pack_id="ex-softmax", slug="softmax", title="Softmax",
        kind="code", max_score=10, files={"exercise.toml": 'kind = "code"'},
    )


def graded(submission: Submission, score: float) -> Submission:
    Submission.objects.filter(pk=submission.pk).update(status="graded", score=score, max_score=10)
    submission.refresh_from_db()
    return submission


def test_the_attempt_limit_refuses_the_next_submission(cast, exercise):
    exercise.max_attempts = 2
    exercise.save()
    services.submit(cast.student, exercise, "def softmax(x): ...")
    services.submit(cast.student, exercise, "def softmax(x): ...")
    with pytest.raises(services.SubmissionRefused, match="You have used all 2 attempts"):
        services.submit(cast.student, exercise, "def softmax(x): ...")
    assert Submission.objects.filter(user=cast.student).count() == 2


def test_a_submission_that_failed_on_our_side_does_not_spend_an_attempt(cast, exercise):
    exercise.max_attempts = 1
    exercise.save()
    first = services.submit(cast.student, exercise, "x = 1")
    Submission.objects.filter(pk=first.pk).update(status="error")
    second = services.submit(cast.student, exercise, "x = 1")
    assert second.number == 2


def test_staff_test_runs_ignore_the_limits_and_stay_out_of_the_count(cast, exercise):
    exercise.max_attempts = 1
    exercise.save()
    services.submit(cast.ta, exercise, "x = 1", staff_test=True)
    services.submit(cast.ta, exercise, "x = 1", staff_test=True)
    assert services.attempts_used(exercise, cast.ta) == 0


def test_the_cooldown_says_how_long_to_wait(cast, exercise):
    exercise.cooldown_seconds = 60
    exercise.save()
    now = DUE - timedelta(days=1)
    services.submit(cast.student, exercise, "x = 1", now=now)
    with pytest.raises(services.SubmissionRefused, match="Wait 45 s before submitting again"):
        services.submit(cast.student, exercise, "x = 1", now=now + timedelta(seconds=15))
    later = services.submit(cast.student, exercise, "x = 1", now=now + timedelta(seconds=60))
    assert later.number == 2


@pytest.mark.parametrize(
    ("moment", "credit"),
    [
        (DUE - timedelta(seconds=1), 1.0),
        (DUE, 1.0),
        (DUE + timedelta(hours=1), 0.8),
        (DUE + timedelta(days=2), 0.8),
        (DUE + timedelta(days=2, seconds=1), 0.5),
        (DUE + timedelta(days=3), 0.5),
        (DUE + timedelta(days=3, seconds=1), 0.0),
    ],
)
def test_late_windows_give_credit_in_turn_then_nothing(exercise, moment, credit):
    exercise.due_at = DUE
    exercise.late_windows = [{"days": 2, "credit": 0.8}, {"days": 1, "credit": 0.5}]
    assert exercise.credit_at(moment) == credit


def test_a_late_submission_keeps_its_credit_and_its_score_is_reduced(cast, exercise):
    exercise.due_at = DUE
    exercise.late_windows = [{"days": 2, "credit": 0.8}]
    exercise.save()
    late = graded(services.submit(cast.student, exercise, "x = 1", now=DUE + timedelta(days=1)), 10)
    assert late.is_late
    assert late.credit == 0.8
    assert late.final_score == 8.0


def test_the_best_attempt_counts_by_default(cast, exercise):
    first = graded(services.submit(cast.student, exercise, "a"), 9)
    graded(services.submit(cast.student, exercise, "b"), 4)
    assert services.counted_submission(exercise, cast.student) == first


def test_the_last_attempt_counts_when_the_pack_says_so(cast, exercise):
    exercise.score_policy = "last"
    exercise.save()
    graded(services.submit(cast.student, exercise, "a"), 9)
    last = graded(services.submit(cast.student, exercise, "b"), 4)
    assert services.counted_submission(exercise, cast.student) == last


def test_best_compares_scores_after_late_credit(cast, exercise):
    exercise.due_at = DUE
    exercise.late_windows = [{"days": 2, "credit": 0.5}]
    exercise.save()
    on_time = graded(services.submit(cast.student, exercise, "a", now=DUE - timedelta(hours=1)), 7)
    graded(services.submit(cast.student, exercise, "b", now=DUE + timedelta(hours=1)), 10)
    assert services.counted_submission(exercise, cast.student) == on_time


def test_an_override_replaces_the_score_and_needs_a_reason(cast, exercise):
    submission = graded(services.submit(cast.student, exercise, "a"), 3)
    with pytest.raises(services.SubmissionRefused, match="Give a reason"):
        services.override_score(submission, 9, "  ", cast.instructor)
    with pytest.raises(services.SubmissionRefused, match="between 0 and 10"):
        services.override_score(submission, 11, "bonus", cast.instructor)
    services.override_score(submission, 9, "Correct idea, wrong dtype", cast.instructor)
    submission.refresh_from_db()
    assert submission.final_score == 9
    services.override_score(submission, None, "", cast.instructor)
    submission.refresh_from_db()
    assert submission.final_score == 3


def test_empty_and_huge_answers_are_refused(cast, exercise):
    with pytest.raises(services.SubmissionRefused, match="empty"):
        services.submit(cast.student, exercise, "   \n")
    with pytest.raises(services.SubmissionRefused, match="100,001 characters long and the limit is 100,000"):
        services.submit(cast.student, exercise, "x" * 100_001)
    assert not Submission.objects.exists()


def test_windows_line_endings_are_normalized(cast, exercise):
    submission = services.submit(cast.student, exercise, "def f():\r\n    return 1\r\n")
    assert submission.answer == "def f():\n    return 1\n"


def test_submitting_enqueues_grading_after_commit(cast, exercise, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.submit(cast.student, exercise, "x = 1")
    assert len(callbacks) == 1
