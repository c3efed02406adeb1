"""The worker's heartbeat says at once when its sandbox pool cannot grade, and why, and when it can again."""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from exercises import worker
from exercises.models import Exercise, Submission, WorkerHeartbeat
from graders import engine
from graders.code import exercise_files
from graders.sandbox.ready_made import ATTENTION, LOSSES, SOFTMAX

EXERCISES = Path(__file__).resolve().parents[2] / "content" / "nlp2llm" / "lessons" / "01-transformers" / "exercises"


class PoolReplacingItsZygote:
    def __init__(self) -> None:
        self.down = ""

    def problem(self) -> str:
        return self.down


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@contextmanager
def worker_running(pool, monkeypatch):
    """The worker's heartbeat thread (`worker._run`) over `pool`, stopped on the way out."""
    monkeypatch.setattr(engine, "sandbox_pool", lambda: pool)
    stop = threading.Event()
    beating = threading.Thread(target=worker._run, args=(stop,))
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_says_why_the_worker_is_not_ready_without_waiting_for_the_next_beat(monkeypatch):
    pool = PoolReplacingItsZygote()
    with worker_running(pool, monkeypatch):
        assert wait_for(lambda: WorkerHeartbeat.objects.filter(name=worker.worker_name(), ready=True).exists())
        pool.down = "the sandbox zygote exited (it exited without a message); replacing it in 2 s"
        # Well within HEARTBEAT_EVERY_SECONDS (15 s): the change is recorded within a second or two.
        assert wait_for(lambda: WorkerHeartbeat.objects.filter(
            name=worker.worker_name(), ready=False, problem__startswith="the sandbox zygote exited").exists(), 3)
        pool.down = ""
        assert wait_for(lambda: WorkerHeartbeat.objects.filter(
            name=worker.worker_name(), ready=True, problem="").exists(), 3)


class PoolKeepingRulesWarm:
    def __init__(self) -> None:
        self.kept: list[list] = []

    def problem(self) -> str:
        return ""

    def keep_warm(self, rules) -> None:
        self.kept.append(list(rules))


def code_exercise(cast, folder: str, **changed: str) -> Exercise:
    files = {**exercise_files(EXERCISES / folder), **changed}
    return Exercise.objects.create(course=cast.course, lesson=cast.lesson, pack_id=folder, slug=folder, title=folder,
                                   kind="code", max_score=1, files=files)


@pytest.mark.django_db
def test_the_rules_of_the_exercises_submitted_to_last_are_kept_warm_the_latest_last(cast):
    attention, softmax, cross_entropy = (code_exercise(cast, folder)
                                         for folder in ("08-attention", "01-softmax", "02-cross-entropy"))
    now = timezone.now()
    for minutes, exercise in ((30, attention), (20, softmax), (10, cross_entropy), (5, softmax)):
        Submission.objects.create(exercise=exercise, user=cast.student, number=minutes, answer="x",
                                  submitted_at=now - timedelta(minutes=minutes))
    pool = PoolKeepingRulesWarm()
    worker.warm_rules_in_use(pool)
    assert pool.kept == [[ATTENTION, LOSSES | SOFTMAX | ATTENTION, SOFTMAX | ATTENTION]]


@pytest.mark.django_db
def test_before_any_submission_the_newest_code_exercises_rules_are_kept_warm(cast):
    code_exercise(cast, "08-attention")
    code_exercise(cast, "04-tokenize")  # no rule
    code_exercise(cast, "01-softmax", **{"tests.py": "this is not Python ("})  # does not load: skipped
    pool = PoolKeepingRulesWarm()
    worker.warm_rules_in_use(pool)
    assert pool.kept == [[ATTENTION]]


@pytest.mark.django_db(transaction=True)
def test_a_started_worker_has_its_pool_keep_the_rules_warm(cast, monkeypatch):
    code_exercise(cast, "01-softmax")
    pool = PoolKeepingRulesWarm()
    with worker_running(pool, monkeypatch):
        assert wait_for(lambda: pool.kept == [[SOFTMAX | ATTENTION]])


@pytest.mark.django_db(transaction=True)
def test_a_started_worker_grades_the_latest_exercise_once_and_sends_a_live_update_before_it_says_ready(
        cast, monkeypatch):
    softmax = code_exercise(cast, "01-softmax")
    code_exercise(cast, "08-attention")  # the newest exercise, not the one submitted to last
    Submission.objects.create(exercise=softmax, user=cast.student, number=1, answer="x",
                              submitted_at=timezone.now() - timedelta(minutes=1))
    graded, sent, said_ready_before = [], [], []

    def grade(files, answer, pool):
        said_ready_before.append(WorkerHeartbeat.objects.filter(name=worker.worker_name(), ready=True).exists())
        graded.append((files, answer, pool))

    monkeypatch.setattr(engine, "grade_code", grade)
    monkeypatch.setattr("attentive.broadcast.group_send", lambda group, message: sent.append((group, message)))
    pool = PoolKeepingRulesWarm()
    with worker_running(pool, monkeypatch):
        assert wait_for(lambda: WorkerHeartbeat.objects.filter(name=worker.worker_name(), ready=True).exists())
    assert graded == [(softmax.files, softmax.files["solution.py"], pool)]
    assert sent == [(worker.WARM_UP_GROUP, {"type": "grading.warm_up"})]
    # It says it is ready once it is warm: whoever waits for that does not race the warm-up.
    assert said_ready_before == [False]


@pytest.mark.django_db(transaction=True)
def test_a_warm_up_that_fails_is_logged_and_the_worker_still_says_it_is_ready(cast, monkeypatch, caplog):
    code_exercise(cast, "01-softmax")

    def broken(files, answer, pool):
        raise RuntimeError("the sandbox tripped")

    monkeypatch.setattr(engine, "grade_code", broken)
    with worker_running(PoolKeepingRulesWarm(), monkeypatch):
        assert wait_for(lambda: "could not warm this worker up for its first verdict" in caplog.text)
        assert WorkerHeartbeat.objects.filter(name=worker.worker_name(), ready=True).exists()
