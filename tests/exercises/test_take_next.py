"""A worker that has finished a grading takes the next queued submission itself (grade_waiting),
the longest waiting first, without waiting for the message that names it; on both databases."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from attentive import jobs
from exercises import grading, tasks
from exercises import services as exercise_services
from exercises.models import Submission
from tests.conftest import GOOD_SOFTMAX, NAIVE_SOFTMAX


@pytest.fixture
def queue_up(cast, code_exercise, monkeypatch):
    """Submissions queued, as if their doorbells rang `ago` seconds ago (none rings: no message is sent)."""
    monkeypatch.setattr(grading, "enqueue", lambda submission: None)

    def queue_up(*ago: float, code: str = GOOD_SOFTMAX) -> list[Submission]:
        made = []
        for seconds in ago:
            submission = exercise_services.submit(cast.student, code_exercise, code)
            Submission.objects.filter(pk=submission.pk).update(enqueued_at=timezone.now() - timedelta(seconds=seconds))
            made.append(submission)
        return made

    return queue_up


def test_the_submission_that_waited_longest_is_taken_first(queue_up):
    middle, first, last = queue_up(20, 30, 10)
    taken = [grading.claim_next() for _ in range(4)]
    assert [claim and claim.pk for claim in taken] == [first.pk, middle.pk, last.pk, None]
    assert set(Submission.objects.values_list("status", "attempts")) == {("running", 1)}


def test_a_claim_of_the_next_reads_what_a_claim_of_a_named_one_reads(queue_up, django_assert_max_num_queries):
    named, waiting = queue_up(20, 10)
    by_name = grading.claim(named.pk)
    with django_assert_max_num_queries(1):
        taken = grading.claim_next()
    assert taken.pk == waiting.pk
    assert (taken.attempts, taken.infrastructure_retries, taken.answer, taken.exercise_files) == (
        by_name.attempts, by_name.infrastructure_retries, by_name.answer, by_name.exercise_files)
    row = Submission.objects.get(pk=waiting.pk)
    assert row.status == "running"
    assert row.heartbeat_at is not None
    assert row.claimed_at == row.heartbeat_at


def test_what_was_tried_before_or_is_not_due_yet_is_left_to_its_own_doorbell(queue_up):
    retried, backing_off, running, graded = queue_up(40, 30, 20, 10)
    # Queued again after a failure of the grader: its doorbell rings after a second.
    Submission.objects.filter(pk=retried.pk).update(attempts=1)
    # Failed on our side: attempts given back, its doorbell due in a minute.
    Submission.objects.filter(pk=backing_off.pk).update(
        infrastructure_retries=1, enqueued_at=timezone.now() + timedelta(seconds=60))
    Submission.objects.filter(pk=running.pk).update(status="running", attempts=1)
    Submission.objects.filter(pk=graded.pk).update(status="graded", attempts=1)
    before = list(Submission.objects.order_by("pk").values())
    assert grading.claim_next() is None
    assert list(Submission.objects.order_by("pk").values()) == before


def test_where_a_database_cannot_return_rows_from_an_update_nothing_is_taken(queue_up, monkeypatch):
    monkeypatch.setattr(jobs, "_updates_return_rows", lambda: False)
    (waiting,) = queue_up(10)
    assert grading.claim_next() is None
    assert Submission.objects.get(pk=waiting.pk).status == "queued"


def test_the_queue_is_graded_and_its_messages_then_find_nothing_to_do(queue_up):
    good, naive = queue_up(20, 10)
    naive_code = queue_up(5, code=NAIVE_SOFTMAX)[0]
    assert grading.grade_waiting(60) == 3
    scores = dict(Submission.objects.values_list("pk", "score"))
    assert scores == {good.pk: 4, naive.pk: 4, naive_code.pk: 3}
    assert set(Submission.objects.values_list("status", "attempts", "verdicts_written")) == {("graded", 1, 1)}
    assert [grading.grade(pk) for pk in scores] == ["not-claimed"] * 3
    assert grading.grade_waiting(60) == 0


def test_taking_the_next_stops_once_its_time_is_up(queue_up, monkeypatch):
    queue_up(40, 30, 20, 10)
    clock = [100.0]
    monkeypatch.setattr(grading.time, "monotonic", lambda: clock[0])
    graded = []

    def grade_claimed(submission):  # each grading takes 0.4 s of the clock
        graded.append(submission.pk)
        clock[0] += 0.4
        return "recorded"

    monkeypatch.setattr(grading, "grade_claimed", grade_claimed)
    # Started at 100.0, 100.4 and 100.8, all before 101.0; the fourth is left to its message.
    assert grading.grade_waiting(1) == 3
    assert Submission.objects.filter(status="queued").count() == 1


def test_a_workers_task_goes_on_to_what_is_queued_and_a_task_run_in_a_request_does_not(queue_up, settings):
    named, other = queue_up(20, 10)
    tasks.grade_submission.push_request(is_eager=True)
    try:
        assert tasks.grade_submission.run(named.pk) == "recorded"
    finally:
        tasks.grade_submission.pop_request()
    assert Submission.objects.get(pk=other.pk).status == "queued"

    later, last = queue_up(8, 6)
    tasks.grade_submission.push_request(is_eager=False)
    try:
        assert tasks.grade_submission.run(later.pk) == "recorded, then 2 more"
        assert tasks.grade_submission.run(last.pk) == "not-claimed"
        settings.GRADING_TAKE_NEXT_SECONDS = 0
        (alone, left) = queue_up(4, 2)
        assert tasks.grade_submission.run(alone.pk) == "recorded"
    finally:
        tasks.grade_submission.pop_request()
    assert Submission.objects.get(pk=left.pk).status == "queued"
    assert Submission.objects.filter(status="graded").count() == 5


@pytest.mark.django_db(transaction=True)
def test_a_row_another_worker_is_claiming_is_not_taken_nor_does_it_stop_the_taking(queue_up):
    """On PostgreSQL the pick skips a row locked by another claim under way (without that, the
    claim would wait for it and then find it claimed: None, with a submission still queued); on
    SQLite the other claim holds the whole database, and this one waits for it, then takes the next."""
    first, second = queue_up(20, 10)
    claimed, go_on = threading.Event(), threading.Event()
    other = {}

    def another_worker():
        try:
            with transaction.atomic():
                other["claim"] = grading.claim_next()
                claimed.set()
                go_on.wait(0.5)  # on SQLite, this claim is only let go when the wait is over
        finally:
            claimed.set()
            connection.close()

    thread = threading.Thread(target=another_worker)
    thread.start()
    try:
        assert claimed.wait(10)
        taken = grading.claim_next()
    finally:
        go_on.set()
        thread.join(10)
    assert other["claim"].pk == first.pk
    assert taken is not None
    assert taken.pk == second.pk


@pytest.mark.django_db(transaction=True)
def test_two_workers_taking_the_next_at_once_take_every_submission_once(queue_up):
    queue_up(*range(40, 0, -1))
    taken: dict[str, list[int]] = {"a": [], "b": []}

    def take(name):
        try:
            while (claim := grading.claim_next()) is not None:
                taken[name].append(claim.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = taken["a"] + taken["b"]
    assert sorted(everything) == sorted(Submission.objects.values_list("pk", flat=True))
    assert len(everything) == 40
    assert set(Submission.objects.values_list("status", "attempts")) == {("running", 1)}


@pytest.mark.django_db(transaction=True)  # the task closes the connection that met the error
def test_a_database_error_while_taking_the_next_does_not_send_the_named_message_again(queue_up, monkeypatch):
    from django.db import OperationalError

    named, waiting = queue_up(20, 10)

    def database_away(seconds):
        raise OperationalError("server closed the connection unexpectedly")

    sent_again = []
    monkeypatch.setattr(grading, "grade_waiting", database_away)
    monkeypatch.setattr(tasks.grade_submission, "retry", lambda **kwargs: sent_again.append(kwargs))
    tasks.grade_submission.push_request(is_eager=False)
    try:
        assert tasks.grade_submission.run(named.pk) == "recorded, then a database error"
    finally:
        tasks.grade_submission.pop_request()
    assert sent_again == []
    assert Submission.objects.get(pk=named.pk).status == "graded"
    assert Submission.objects.get(pk=waiting.pk).status == "queued"
