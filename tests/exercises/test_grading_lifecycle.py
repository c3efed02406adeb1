"""The grading lifecycle: queued -> running -> graded | error, each step a conditional update."""

import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator
from django.utils import timezone

from attentive.asgi import application
from exercises import grading
from exercises import services as exercise_services
from exercises.models import Submission
from graders import engine
from graders.verdict import Verdict
from tests.conftest import GOOD_SOFTMAX, NAIVE_SOFTMAX


def submit(cast, exercise, code, capture):
    with capture(execute=False):
        return exercise_services.submit(cast.student, exercise, code)


def test_a_submission_is_graded_through_the_task(cast, code_exercise, celery_eager,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    submission.refresh_from_db()
    assert submission.status == "graded"
    assert (submission.score, submission.max_score) == (4, 4)
    assert submission.attempts == 1
    assert submission.verdicts_written == 1
    assert submission.exercise_version == code_exercise.version
    assert submission.duration_ms is not None


def test_the_overflow_feedback_reaches_the_student_without_revealing_the_hidden_test(
        cast, code_exercise, django_capture_on_commit_callbacks):
    submission = submit(cast, code_exercise, NAIVE_SOFTMAX, django_capture_on_commit_callbacks)
    assert grading.grade(submission.pk) == "recorded"
    submission.refresh_from_db()
    verdict = submission.verdict_object
    assert submission.score == 3
    assert verdict.summary == "Visible tests passed; 1 of 1 hidden tests failed."
    hidden = [test for test in verdict.tests if not test.visible]
    # Only the kind of case that failed, from its title: never the real message or the inputs.
    assert [test.message for test in hidden] == ["A hidden test failed: large logits."]


def test_a_submission_is_claimed_once(cast, code_exercise, django_capture_on_commit_callbacks):
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    assert grading.claim(submission.pk) is not None
    assert grading.claim(submission.pk) is None


def test_a_second_delivery_changes_nothing(cast, code_exercise, django_capture_on_commit_callbacks):
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    assert grading.grade(submission.pk) == "recorded"
    first = Submission.objects.get(pk=submission.pk)
    assert grading.grade(submission.pk) == "not-claimed"
    again = Submission.objects.get(pk=submission.pk)
    assert (again.verdicts_written, again.graded_at, again.attempts) == (1, first.graded_at, 1)


def test_a_verdict_from_a_claim_that_was_taken_back_is_dropped(cast, code_exercise,
                                                                 django_capture_on_commit_callbacks):
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    stale_claim = grading.claim(submission.pk)
    # The sweeper decides the worker is dead and another worker claims it.
    Submission.objects.filter(pk=submission.pk).update(status="queued")
    fresh_claim = grading.claim(submission.pk)
    assert not grading.record(stale_claim, Verdict("graded", 0, 4))
    assert grading.record(fresh_claim, Verdict("graded", 4, 4))
    submission.refresh_from_db()
    assert (submission.score, submission.verdicts_written) == (4, 1)


def test_the_sweeper_takes_back_work_from_a_dead_worker(cast, code_exercise, django_capture_on_commit_callbacks,
                                                        celery_eager):
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    grading.claim(submission.pk)
    Submission.objects.filter(pk=submission.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    report = grading.sweep()
    assert report["requeued_running"] == 1
    submission.refresh_from_db()
    # Requeued, rung, and graded (eagerly here) by the next worker.
    assert submission.status == "graded"
    assert submission.attempts == 2
    assert submission.verdicts_written == 1


def test_the_sweeper_leaves_live_work_alone(cast, code_exercise, django_capture_on_commit_callbacks):
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    grading.claim(submission.pk)
    assert grading.sweep() == {"requeued_running": 0, "gave_up": 0, "rung": 0}
    assert Submission.objects.get(pk=submission.pk).status == "running"


def test_the_sweeper_gives_up_readably_after_too_many_attempts(cast, code_exercise, settings,
                                                               django_capture_on_commit_callbacks):
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    Submission.objects.filter(pk=submission.pk).update(attempts=settings.GRADING_MAX_ATTEMPTS)
    assert grading.sweep()["gave_up"] == 1
    submission.refresh_from_db()
    assert submission.status == "error"
    assert "This is our fault, not yours" in submission.verdict_object.message
    assert "Grading failed 3 times" in submission.verdict_object.summary


def test_a_submission_claimed_as_the_sweeper_gives_up_is_neither_failed_nor_announced_as_failed(
        cast, code_exercise, settings, monkeypatch, django_capture_on_commit_callbacks):
    from django.db import connection

    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    Submission.objects.filter(pk=submission.pk).update(attempts=settings.GRADING_MAX_ATTEMPTS)
    announced = []
    monkeypatch.setattr(grading.signals, "send_submission_changed",
                        lambda submission_id, status: announced.append((submission_id, status)))
    claimed = []

    def a_worker_claims_it_first(execute, sql, params, many, context):
        # The sweeper's give-up UPDATE comes after a worker's claim has committed.
        if not claimed and sql.startswith('UPDATE "exercises_submission"'):
            claimed.append(True)
            Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.RUNNING)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(a_worker_claims_it_first):
        assert grading.sweep()["gave_up"] == 0
    assert claimed
    assert Submission.objects.get(pk=submission.pk).status == "running"
    assert announced == []


def test_the_sweeper_rings_again_for_a_lost_doorbell(cast, code_exercise, django_capture_on_commit_callbacks,
                                                     celery_eager):
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    Submission.objects.filter(pk=submission.pk).update(enqueued_at=timezone.now() - timedelta(minutes=2))
    assert grading.sweep()["rung"] == 1
    assert Submission.objects.get(pk=submission.pk).status == "graded"


def test_a_worker_without_a_sandbox_refuses_and_spends_no_attempt(cast, code_exercise, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    def unavailable():
        raise engine.GradingUnavailable("user namespaces are disabled (CLONE_NEWUSER)")

    monkeypatch.setattr(engine, "sandbox_pool", unavailable)
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    with pytest.raises(engine.GradingUnavailable):
        grading.grade(submission.pk)
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, submission.verdict) == ("queued", 0, None)


def test_a_platform_failure_is_retried_then_reported(cast, code_exercise, monkeypatch, settings,
                                                    django_capture_on_commit_callbacks):
    failures = []

    def broken(files, answer):
        failures.append(answer)
        return Verdict("error", 0, 4, message="the sandbox crashed")

    monkeypatch.setattr(engine, "grade_answer", broken)
    monkeypatch.setattr("exercises.tasks.grade_submission.apply_async", lambda **kwargs: None)
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    outcomes = [grading.grade(submission.pk) for _ in range(settings.GRADING_MAX_ATTEMPTS)]
    assert outcomes == ["retry"] * (settings.GRADING_MAX_ATTEMPTS - 1) + ["recorded"]
    submission.refresh_from_db()
    assert submission.status == "error"
    assert submission.verdict_object.message == "the sandbox crashed"


def test_an_infrastructure_failure_never_spends_the_students_attempts(cast, code_exercise, monkeypatch, settings,
                                                                      django_capture_on_commit_callbacks):
    def delayed(files, answer):
        return Verdict("error", 0, 4, message="Grading is delayed: the sandbox zygote stopped answering",
                       infrastructure=True)

    requeued = []
    monkeypatch.setattr(engine, "grade_answer", delayed)
    monkeypatch.setattr("exercises.tasks.grade_submission.apply_async", lambda **kwargs: requeued.append(kwargs))
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    outcomes = [grading.grade(submission.pk) for _ in range(settings.GRADING_MAX_ATTEMPTS + 2)]
    assert outcomes == ["delayed"] * (settings.GRADING_MAX_ATTEMPTS + 2)
    assert [kwargs["countdown"] for kwargs in requeued] == [2, 4, 8, 16, 32][: len(outcomes)]
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, submission.verdict) == ("queued", 0, None)
    grading.sweep(timezone.now())
    submission.refresh_from_db()
    assert submission.status == "queued"  # the sweeper does not give up on a submission that waits for us


def test_infrastructure_retries_back_off_exponentially_up_to_a_cap(settings):
    settings.GRADING_INFRASTRUCTURE_BACKOFF_MAX_SECONDS = 300
    assert [grading.infrastructure_backoff(n) for n in range(1, 11)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert grading.infrastructure_backoff(10_000) == 300


def test_after_too_many_failures_of_ours_the_submission_is_an_error_for_staff_not_a_spent_attempt(
        cast, code_exercise, monkeypatch, settings, django_capture_on_commit_callbacks):
    def delayed(files, answer):
        return Verdict("error", 0, 4, message="Grading is delayed: the sandbox was killed", infrastructure=True)

    settings.GRADING_MAX_INFRASTRUCTURE_RETRIES = 3
    monkeypatch.setattr(engine, "grade_answer", delayed)
    monkeypatch.setattr("exercises.tasks.grade_submission.apply_async", lambda **kwargs: None)
    code_exercise.max_attempts = 1
    code_exercise.save()
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    outcomes = [grading.grade(submission.pk) for _ in range(4)]
    assert outcomes == ["delayed", "delayed", "delayed", "gave-up"]
    assert grading.grade(submission.pk) == "not-claimed"
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, submission.score) == ("error", 0, None)
    verdict = submission.verdict_object
    assert verdict.infrastructure
    assert "failed on our side 4 times" in verdict.message
    assert "does not count as one of your attempts" in verdict.message
    assert "instructor can see it" in verdict.message
    # Not counted against the exercise's one attempt: the student may submit again.
    assert exercise_services.attempts_used(code_exercise, cast.student) == 0
    # Staff regrade it from scratch, retries counted afresh.
    with django_capture_on_commit_callbacks(execute=False):
        grading.retry(submission)
    submission.refresh_from_db()
    assert (submission.status, submission.infrastructure_retries) == ("queued", 0)


def test_the_sweeper_does_not_ring_for_a_delayed_submission_before_its_backoff_is_over(
        cast, code_exercise, monkeypatch, settings, django_capture_on_commit_callbacks):
    def delayed(files, answer):
        return Verdict("error", 0, 4, message="Grading is delayed", infrastructure=True)

    rung = []
    monkeypatch.setattr(engine, "grade_answer", delayed)
    monkeypatch.setattr("exercises.tasks.grade_submission.apply_async", lambda **kwargs: None)
    monkeypatch.setattr("exercises.tasks.grade_submission.delay", lambda *args: rung.append(args))
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    for _ in range(5):  # the fifth try waits 32 s, longer than GRADING_REQUEUE_AFTER_SECONDS
        grading.grade(submission.pk)
    now = timezone.now()
    settings.GRADING_REQUEUE_AFTER_SECONDS = 30
    assert grading.sweep(now + timedelta(seconds=31))["rung"] == 0
    assert grading.sweep(now + timedelta(seconds=32 + 31))["rung"] == 1
    assert rung == [(submission.pk,)]


@pytest.mark.django_db(transaction=True)
def test_two_doorbells_at_once_for_one_submission_grade_it_once(cast, code_exercise, monkeypatch):
    import threading

    from django.db import connection

    gradings = []

    def slow_grade(files, answer):
        gradings.append(answer)
        threading.Event().wait(0.3)
        return Verdict("graded", 4, 4)

    monkeypatch.setattr(engine, "grade_answer", slow_grade)
    monkeypatch.setattr("exercises.tasks.grade_submission.delay", lambda *args: None)
    submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    outcomes = []
    start = threading.Barrier(2)

    def ring() -> None:  # the sweeper's doorbell and the retry's, delivered to two worker processes
        try:
            start.wait()
            outcomes.append(grading.grade(submission.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=ring) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["not-claimed", "recorded"]
    assert len(gradings) == 1
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, submission.verdicts_written) == ("graded", 1, 1)


def test_a_grading_that_raises_anything_becomes_a_readable_error_and_the_task_returns(
    cast, code_exercise, monkeypatch, settings, django_capture_on_commit_callbacks
):
    def exploding(files, answer):
        raise MemoryError("a forged reply")

    monkeypatch.setattr(engine, "grade_answer", exploding)
    monkeypatch.setattr("exercises.tasks.grade_submission.apply_async", lambda **kwargs: None)
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    outcomes = [grading.grade(submission.pk) for _ in range(settings.GRADING_MAX_ATTEMPTS)]
    assert outcomes[-1] == "recorded"
    submission.refresh_from_db()
    assert submission.status == "error"
    assert submission.verdict_object.message.startswith("The grader failed while checking this answer (MemoryError")


def test_staff_can_retry_a_submission_in_error(cast, code_exercise, django_capture_on_commit_callbacks):
    submission = submit(cast, code_exercise, GOOD_SOFTMAX, django_capture_on_commit_callbacks)
    Submission.objects.filter(pk=submission.pk).update(status="error", attempts=3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        grading.retry(Submission.objects.get(pk=submission.pk))
    assert len(callbacks) == 1
    submission.refresh_from_db()
    assert (submission.status, submission.attempts) == ("queued", 0)


def statuses_heard(cast, submission, count: int) -> list[str]:
    """What a page watching the submission hears while it is graded: the snapshot, then `count` changes."""
    async def watch():
        communicator = WebsocketCommunicator(application, f"/ws/submissions/{submission.pk}/",
                                             headers=[(b"origin", b"http://127.0.0.1")])
        communicator.scope["user"] = cast.student
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_json_from() == {"id": submission.pk, "status": "queued"}
        from channels.db import database_sync_to_async

        await database_sync_to_async(grading.grade)(submission.pk)
        statuses = [(await communicator.receive_json_from(timeout=5))["status"] for _ in range(count)]
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return statuses

    return async_to_sync(watch)()


@pytest.mark.django_db(transaction=True)
def test_the_page_watching_a_long_grading_hears_each_change(cast, code_exercise, monkeypatch):
    submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    grade_answer = engine.grade_answer

    def slow(files, answer):
        time.sleep(0.4)
        return grade_answer(files, answer)

    monkeypatch.setattr(engine, "grade_answer", slow)
    monkeypatch.setattr(grading, "RUNNING_ANNOUNCED_AFTER_SECONDS", 0.1)
    assert statuses_heard(cast, submission, 2) == ["running", "graded"]


@pytest.mark.django_db(transaction=True)
def test_a_page_hears_only_the_verdict_when_it_comes_before_running_is_worth_showing(
        cast, code_exercise, monkeypatch):
    # Each status a page hears costs it a fetch of the card and a new WebSocket, for a
    # "Running the tests…" that would show for a few milliseconds.
    submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    monkeypatch.setattr(grading, "RUNNING_ANNOUNCED_AFTER_SECONDS", 30)
    started = time.monotonic()
    assert statuses_heard(cast, submission, 1) == ["graded"]
    assert time.monotonic() - started < 30  # the announcement was called off, not waited for


@pytest.mark.django_db(transaction=True)
def test_another_student_cannot_watch_a_submission(cast, code_exercise):
    submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)

    async def watch(user):
        communicator = WebsocketCommunicator(application, f"/ws/submissions/{submission.pk}/",
                                             headers=[(b"origin", b"http://127.0.0.1")])
        communicator.scope["user"] = user
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(watch)(cast.outsider) == (False, 4404)
    assert async_to_sync(watch)(cast.ta)[0] is True


def test_the_sweeper_has_a_queue_that_no_grading_backlog_can_block():
    from attentive.celery import app
    from exercises.tasks import grade_submission, sweep_stuck_submissions

    router = app.amqp.router
    assert router.route({}, sweep_stuck_submissions.name)["queue"].name == "maintenance"
    assert router.route({}, grade_submission.name)["queue"].name == "grading"


@pytest.mark.parametrize("outage", ["OperationalError", "InterfaceError"])
def test_a_database_outage_during_grading_sends_the_message_again_with_backoff(db, monkeypatch, outage):
    from celery.exceptions import Retry
    from django import db

    from exercises import tasks

    def database_away(submission_id):
        raise getattr(db, outage)("connection refused")

    monkeypatch.setattr(grading, "grade", database_away)
    countdowns = []

    def retry(countdown):  # what Task.retry sends: the same message, `countdown` seconds later
        countdowns.append(countdown)
        return Retry(when=countdown)

    monkeypatch.setattr(tasks.grade_submission, "retry", retry)
    for retries in range(3):
        tasks.grade_submission.push_request(retries=retries)
        try:
            with pytest.raises(Retry):
                tasks.grade_submission.run(7)
        finally:
            tasks.grade_submission.pop_request()
    assert countdowns == [1, 2, 4]


def test_a_database_outage_that_lasts_drops_the_message_after_a_bound(db, monkeypatch):
    from django.db import OperationalError

    from exercises import tasks

    def database_away(submission_id):
        raise OperationalError("connection refused")

    monkeypatch.setattr(grading, "grade", database_away)
    tasks.grade_submission.push_request(retries=tasks.DATABASE_MAX_RETRIES)
    try:
        assert tasks.grade_submission.run(7) == "database-unavailable"
    finally:
        tasks.grade_submission.pop_request()


def test_a_database_programming_error_is_not_retried(db, monkeypatch):
    from django.db import ProgrammingError

    from exercises import tasks

    def broken_query(submission_id):
        raise ProgrammingError('column "answer" does not exist')

    monkeypatch.setattr(grading, "grade", broken_query)
    assert tasks.grade_submission.run(7) == "database-error"


@pytest.mark.django_db(transaction=True)
def test_the_doorbell_rings_after_commit_without_holding_the_students_request(cast, code_exercise, monkeypatch):
    import threading
    import time

    rung = []
    done = threading.Event()

    def slow_broker(submission_id):  # a frozen Redis costs its socket timeouts, try after try
        time.sleep(2)
        rung.append(submission_id)
        done.set()

    monkeypatch.setattr("exercises.tasks.grade_submission.delay", slow_broker)
    started = time.monotonic()
    submission = exercise_services.submit(cast.student, code_exercise, GOOD_SOFTMAX)
    assert time.monotonic() - started < 1
    assert done.wait(10)
    assert rung == [submission.pk]
