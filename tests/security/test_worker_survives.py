"""A real grading worker survives forged replies: it grades them, stays up, and grades the next one in full.

Twice: through Redis, as deployed, and through the embedded path's filesystem broker (no Redis),
as `manage.py serve` runs it, so the test runs wherever the suite does.
"""

import pytest

from attentive.celery import app
from exercises import services as exercise_services
from exercises.models import Submission
from exercises.tasks import grade_submission
from tests.exercises.test_faults import all_finished, redis, submit_many, workers  # noqa: F401 - fixtures
from tests.processes import wait_until
from tests.security.test_trusted_side import CORRECT, forging, syntax_reply

pytestmark = pytest.mark.django_db(transaction=True)

FORGED = [
    forging(syntax_reply(10**18)),
    forging(syntax_reply(2**70)),
    forging(
        'frame(msg(id=2, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'<f8\', \'fortran_order\': False, '
        '\'shape\': (1000000000000,), }")])',
        at_import=False,
    ),
    forging(
        'frame(msg(id=2, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'<f8\', \'fortran_order\': False, '
        '\'shape\': (0, 100000000000000000000000000000000), }")])',
        at_import=False,
    ),
    forging('struct.pack(">II", 4 + 40_000_000, 40_000_000) + b"[" + b"[]," * 13_333_332 + b"[]]"', at_import=False),
]


def grades_forged_then_correct(worker, submit):
    forged_ids = []
    for source in FORGED:
        forged_ids += submit(source, 1)
    wait_until(lambda: all_finished(forged_ids), 120, every=0.2, what="the forged submissions to be graded")
    assert worker.popen.poll() is None, "the worker exited"
    forged = Submission.objects.filter(pk__in=forged_ids).order_by("pk")
    assert [(s.status, s.score) for s in forged] == [("graded", 0.0)] * len(FORGED)
    assert all(len(str(s.verdict)) < 20_000 for s in forged)
    correct_ids = submit(CORRECT, 2)
    wait_until(lambda: all_finished(correct_ids), 60, every=0.2, what="the correct submissions to be graded")
    assert worker.popen.poll() is None
    correct = Submission.objects.filter(pk__in=correct_ids)
    assert [(s.status, s.score, s.verdicts_written) for s in correct] == [("graded", 4.0, 1)] * 2


@pytest.mark.redis
def test_forged_replies_are_graded_and_the_same_worker_grades_the_next_submission_through_redis(
    cast, code_exercise, redis, workers, django_capture_on_commit_callbacks  # noqa: F811 - fixtures
):
    _redis_process, url = redis
    worker = workers(url)
    grades_forged_then_correct(
        worker,
        lambda source, count: submit_many(cast, code_exercise, source, count, url, django_capture_on_commit_callbacks),
    )


def test_forged_replies_are_graded_and_the_same_worker_grades_the_next_submission_on_the_embedded_broker(
    cast, code_exercise, workers, tmp_path, django_capture_on_commit_callbacks  # noqa: F811 - fixtures
):
    worker = workers(None)  # the filesystem broker under the worker's var dir, tmp_path
    folders = {
        "data_folder_in": str(tmp_path / "broker" / "queue"),
        "data_folder_out": str(tmp_path / "broker" / "queue"),
        "processed_folder": str(tmp_path / "broker" / "processed"),
        "control_folder": str(tmp_path / "broker" / "control"),
        "store_processed": False,
    }

    def submit(source, count):
        with django_capture_on_commit_callbacks(execute=False):
            submissions = [
                exercise_services.submit(cast.student, code_exercise, source, staff_test=True) for _ in range(count)
            ]
        # The embedded path's transport, named: with REDIS_URL set, the settings' transport would
        # send these to Redis, and the worker here would only grade them when the sweeper rang.
        with app.connection_for_write("filesystem://", transport="attentive.broker.FilesystemTransport",
                                      transport_options=folders) as connection:
            for submission in submissions:
                grade_submission.apply_async(args=[submission.pk], connection=connection)
        return [submission.pk for submission in submissions]

    grades_forged_then_correct(worker, submit)
