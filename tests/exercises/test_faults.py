"""Fault tests with a real worker and a real Redis: crashes lose nothing, and grade each submission once.

The worker runs in its own processes against the test database; Redis is a private server
on a free port, so that killing it disturbs nothing else.
"""

import time

import pytest
from django.utils import timezone

from attentive.celery import app
from exercises import services as exercise_services
from exercises.models import Submission, WorkerHeartbeat
from exercises.tasks import grade_submission
from tests.conftest import GOOD_SOFTMAX
from tests.processes import start_redis, start_worker, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# Slow enough that a worker is caught in the middle: three tests x 0.4 s.
SLOW_SOFTMAX = "import time\n" + GOOD_SOFTMAX.replace(
    "def softmax(x, dim=-1):", "def softmax(x, dim=-1):\n    time.sleep(0.4)"
)
FAST_SETTINGS = {"GRADING_STALE_SECONDS": "3", "GRADING_REQUEUE_AFTER_SECONDS": "2", "GRADER_POOL_SIZE": "2"}


@pytest.fixture
def redis():
    process, url = start_redis()
    yield process, url
    process.kill()


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(redis_url):
        worker = start_worker(redis_url, extra_env={**FAST_SETTINGS, "ATTENTIVE_VAR_DIR": str(tmp_path)},
                              log=tmp_path / "worker.log")
        started.append(worker)
        since = timezone.now()
        wait_until(lambda: WorkerHeartbeat.objects.filter(ready=True, seen_at__gte=since).exists(), 60,
                   what="a grading worker to be ready")
        return worker

    yield start
    for worker in started:
        worker.kill()


def submit_many(cast, exercise, code, count, redis_url, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        submissions = [exercise_services.submit(cast.student, exercise, code, staff_test=True) for _ in range(count)]
    with app.connection_for_write(redis_url) as connection:
        for submission in submissions:
            grade_submission.apply_async(args=[submission.pk], connection=connection)
    return [submission.pk for submission in submissions]


def all_finished(ids):
    return Submission.objects.filter(pk__in=ids).exclude(status__in=Submission.FINISHED).count() == 0


def wait_until_all_finished(ids, timeout, log):
    """Wait for every submission to finish; on a timeout, say where each one is and what the worker said."""
    try:
        wait_until(lambda: all_finished(ids), timeout, every=0.2, what="every submission to be graded")
    except TimeoutError as timeout_error:
        states = list(Submission.objects.filter(pk__in=ids).values_list("pk", "status", "attempts", "enqueued_at"))
        told = log.read_text(errors="replace").splitlines()[-60:] if log.exists() else ["(no worker log)"]
        raise TimeoutError(f"{timeout_error}\nsubmissions: {states}\nthe worker's last lines:\n"
                           + "\n".join(told)) from None


def test_killing_the_worker_mid_grade_loses_nothing(cast, code_exercise, redis, workers, tmp_path,
                                                    django_capture_on_commit_callbacks):
    _redis_process, url = redis
    first = workers(url)
    ids = submit_many(cast, code_exercise, SLOW_SOFTMAX, 6, url, django_capture_on_commit_callbacks)
    wait_until(lambda: Submission.objects.filter(pk__in=ids, status="running").exists(), 30,
               what="a submission to be mid-grade")
    first.kill()
    interrupted = Submission.objects.filter(pk__in=ids, status="running").count()
    assert interrupted >= 1
    workers(url)
    wait_until_all_finished(ids, 90, tmp_path / "worker.log")
    graded = Submission.objects.filter(pk__in=ids)
    assert [(s.status, s.score, s.verdicts_written) for s in graded] == [("graded", 4.0, 1)] * 6
    assert max(s.attempts for s in graded) >= 2  # the interrupted ones were claimed again


def test_restarting_redis_mid_queue_loses_nothing(cast, code_exercise, redis, workers, tmp_path,
                                                  django_capture_on_commit_callbacks):
    redis_process, url = redis
    workers(url)
    ids = submit_many(cast, code_exercise, SLOW_SOFTMAX, 8, url, django_capture_on_commit_callbacks)
    wait_until(lambda: Submission.objects.filter(pk__in=ids, status="graded").exists(), 30,
               what="grading to start")
    # Redis dies with the queue in memory (no persistence, as in CI); a new one takes its port.
    redis_process.kill()
    waiting = Submission.objects.filter(pk__in=ids).exclude(status__in=Submission.FINISHED).count()
    assert waiting >= 1
    time.sleep(1)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    restarted, _ = start_redis(port)
    try:
        wait_until_all_finished(ids, 120, tmp_path / "worker.log")
    finally:
        restarted.kill()
    graded = Submission.objects.filter(pk__in=ids)
    assert [(s.status, s.score, s.verdicts_written) for s in graded] == [("graded", 4.0, 1)] * 8
