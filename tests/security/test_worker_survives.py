"""A real grading worker survives forged replies: it grades them, stays up, and grades the next one in full."""

import pytest

from exercises.models import Submission
from tests.graders.test_faults import all_finished, redis, submit_many, workers  # noqa: F401 - fixtures
from tests.security.test_trusted_side import CORRECT, forging, syntax_reply

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

FORGED = [
    forging(syntax_reply(10**18)),
    forging(syntax_reply(2**70)),
    forging(
        'frame(msg(id=2, ok=True, value={"ndarray": 0}), [npy("{\'descr\': \'<f8\', \'fortran_order\': False, '
        '\'shape\': (1000000000000,), }")])',
        at_import=False,
    ),
    forging('struct.pack(">II", 4 + 40_000_000, 40_000_000) + b"[" + b"[]," * 13_333_332 + b"[]]"', at_import=False),
]


def test_forged_replies_are_graded_and_the_same_worker_grades_the_next_submission(
    cast, code_exercise, redis, workers, django_capture_on_commit_callbacks  # noqa: F811 - fixtures
):
    _redis_process, url = redis
    worker = workers(url)
    forged_ids = []
    for source in FORGED:
        forged_ids += submit_many(cast, code_exercise, source, 1, url, django_capture_on_commit_callbacks)
    from tests.processes import wait_until

    wait_until(lambda: all_finished(forged_ids), 90, every=0.2, what="the forged submissions to be graded")
    assert worker.popen.poll() is None, "the worker exited"
    forged = Submission.objects.filter(pk__in=forged_ids).order_by("pk")
    assert [(s.status, s.score) for s in forged] == [("graded", 0.0)] * len(FORGED)
    assert all(len(str(s.verdict)) < 20_000 for s in forged)
    correct_ids = submit_many(cast, code_exercise, CORRECT, 2, url, django_capture_on_commit_callbacks)
    wait_until(lambda: all_finished(correct_ids), 60, every=0.2, what="the correct submissions to be graded")
    assert worker.popen.poll() is None
    correct = Submission.objects.filter(pk__in=correct_ids)
    assert [(s.status, s.score, s.verdicts_written) for s in correct] == [("graded", 4.0, 1)] * 2
