"""attentive/jobs.py: ringing a durable job's doorbell never raises; the row is the truth."""

import collections
import dataclasses
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError

from attentive.jobs import RING_AT_EXIT_SECONDS, DurableJob
from exercises import grading


def closed_port() -> int:
    """A local port nobody listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable_task():
    """A task of a Celery app whose broker is a closed port."""
    app = Celery("unreachable", broker=f"redis://127.0.0.1:{closed_port()}/0", set_as_current=False)
    # Refused at once, not after kombu's retries (about 6 s each).
    app.conf.update(task_publish_retry=False, broker_transport_options={"max_retries": 0})

    @app.task(name="unreachable.grade_submission", shared=False)
    def grade_submission(submission_id: int) -> None:
        raise AssertionError("a task sent to a closed port never runs")

    yield grade_submission
    app.close()


def test_the_unreachable_broker_refuses_a_message_sent_directly(unreachable_task):
    with pytest.raises(OperationalError):
        unreachable_task.delay(1)


def test_a_ring_that_the_broker_refuses_is_logged_and_raises_nothing(unreachable_task, caplog):
    job = dataclasses.replace(grading.SUBMISSIONS, task=lambda: unreachable_task)
    assert job.ring(12345) is False
    assert job.ring(12345, countdown=5) is False
    assert "could not enqueue the submission 12345; the sweeper will ring again" in caplog.text


def test_a_heartbeat_that_meets_a_database_error_beats_again(monkeypatch):
    beats = []
    second_beat = threading.Event()

    def flaky_beat(job, key, attempts=None, **also):
        beats.append((key, attempts))
        if len(beats) == 1:
            raise DatabaseOperationalError("the database system is starting up")
        second_beat.set()
        return True

    monkeypatch.setattr(DurableJob, "beat", flaky_beat)
    with grading.SUBMISSIONS.heartbeat(7, 1, every=0.01):
        assert second_beat.wait(5)
    assert beats[:2] == [(7, 1), (7, 1)]



@pytest.fixture
def beats(monkeypatch):
    """The beats a heartbeat makes, without a database: (key, attempts, seconds since the fixture)."""
    made, started = [], time.monotonic()
    monkeypatch.setattr(DurableJob, "beat", lambda job, key, attempts=None, **also: made.append(
        (key, attempts, time.monotonic() - started)) or True)
    return made


def test_a_heartbeat_makes_its_first_call_once_the_work_has_run_that_long_and_goes_on_beating(beats):
    calls = []
    with grading.SUBMISSIONS.heartbeat(7, 1, every=0.1, first=(0.02, lambda: calls.append(len(beats)))):
        time.sleep(0.45)
    assert calls == [0]  # once, before the first beat
    assert len(beats) >= 2
    assert {beat[:2] for beat in beats} == {(7, 1)}
    assert beats[0][2] >= 0.1  # the beats keep their own times


def test_a_first_call_due_after_a_beat_comes_after_it(beats):
    calls = []
    with grading.SUBMISSIONS.heartbeat(7, 1, every=0.05, first=(0.2, lambda: calls.append(len(beats)))):
        time.sleep(0.4)
    assert len(calls) == 1
    assert calls[0] >= 1  # the beats due before it were made
    assert len(beats) > calls[0]  # and they went on after it


def test_work_that_ends_before_the_first_call_is_due_calls_it_off_without_waiting(beats):
    calls = []
    started = time.monotonic()
    with grading.SUBMISSIONS.heartbeat(7, 1, every=30, first=(20, lambda: calls.append("late"))):
        pass
    assert time.monotonic() - started < 1
    assert calls == []
    assert beats == []


def test_leaving_waits_for_a_first_call_under_way(beats):
    begun, ended = threading.Event(), []

    def slow_call():
        begun.set()
        time.sleep(0.2)
        ended.append(True)

    with grading.SUBMISSIONS.heartbeat(7, 1, every=30, first=(0, slow_call)):
        assert begun.wait(5)
    assert ended == [True]  # what the work does next comes after the call, never before it


def test_a_first_call_that_fails_is_logged_and_the_beats_go_on(beats, caplog):
    def failing():
        raise RuntimeError("the channel layer is away")

    with grading.SUBMISSIONS.heartbeat(7, 1, every=0.05, first=(0, failing)):
        time.sleep(0.2)
    assert len(beats) >= 2
    assert "the first call for the submission 7 failed" in caplog.text
    assert "the channel layer is away" in caplog.text


def test_one_thread_beats_for_every_claim_a_process_holds(beats):
    with grading.SUBMISSIONS.heartbeat(7, 1, every=0.05), grading.SUBMISSIONS.heartbeat(8, 2, every=0.05):
        time.sleep(0.3)
    with grading.SUBMISSIONS.heartbeat(9, 1, every=0.05):
        time.sleep(0.3)
    held = collections.Counter(beat[:2] for beat in beats)
    assert set(held) == {(7, 1), (8, 2), (9, 1)}
    assert min(held.values()) >= 2
    # A claim released is beaten for no more: the last of 7's and 8's beats came before 9 was held.
    assert max(beat[2] for beat in beats if beat[0] != 9) < min(beat[2] for beat in beats if beat[0] == 9)
    threads = threading.active_count()
    for key in range(50):
        with grading.SUBMISSIONS.heartbeat(key, 1, every=2, first=(0.3, lambda: None)):
            pass
    assert threading.active_count() == threads
    assert [thread.name for thread in threading.enumerate()].count("job-heartbeats") == 1


def test_a_forked_process_beats_with_a_thread_of_its_own(beats):
    with grading.SUBMISSIONS.heartbeat(7, 1, every=0.05):  # this process's thread exists
        time.sleep(0.1)
    pid = os.fork()
    if pid == 0:  # the child: it inherits the thread's object, not the thread
        try:
            made = len(beats)
            with grading.SUBMISSIONS.heartbeat(8, 1, every=0.02):
                deadline = time.monotonic() + 5
                while len(beats) < made + 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
            os._exit(0 if len(beats) >= made + 2 else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

# A process that ends right after committing a job (`manage.py shell -c`, a command): the doorbell
# is a daemon thread, and what it held was dropped at exit, so the job waited for the sweeper.
ENDS_AT_ONCE = """
import sys, time
from attentive import jobs

class Job:
    def __init__(self, seconds):
        self.seconds = seconds

    def ring(self, key, countdown=None):
        time.sleep(self.seconds)
        with open(sys.argv[1], "a") as rung:
            rung.write(f"{key}\\n")

seconds = float(sys.argv[2])
for key in range(3):
    jobs.doorbell().put((Job(seconds), key, None))
"""


def run_ending_at_once(tmp_path, seconds: float):
    rung = tmp_path / "rung.txt"
    started = time.monotonic()
    ended = subprocess.run([sys.executable, "-c", ENDS_AT_ONCE, str(rung), str(seconds)], capture_output=True,
                           text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    took = time.monotonic() - started
    assert ended.returncode == 0, ended.stderr
    return (rung.read_text().split() if rung.exists() else []), ended.stderr, took


def test_a_process_that_ends_rings_for_what_its_doorbell_still_held(tmp_path):
    rung, _, _ = run_ending_at_once(tmp_path, 0.2)
    assert rung == ["0", "1", "2"]


def test_a_process_that_ends_waits_for_its_doorbell_no_longer_than_its_limit(tmp_path):
    # A broker that does not answer: each ring would take longer than the limit.
    rung, stderr, took = run_ending_at_once(tmp_path, RING_AT_EXIT_SECONDS + 5)
    assert rung == []
    assert took < RING_AT_EXIT_SECONDS + 4
    assert "the sweeper will ring for them" in stderr
