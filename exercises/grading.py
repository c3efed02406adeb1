"""The grading lifecycle of a submission: queued -> running -> graded | error | needs_review.

The Submission row is the truth; the broker is only a doorbell. Every transition is a
conditional UPDATE, so two workers can never both grade one submission, a second
delivery of a task changes nothing, and a worker that dies mid-grade is noticed by its
missing heartbeat and its submission graded again by someone else.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from graders.verdict import Verdict

from . import signals
from .models import Exercise, Submission

log = logging.getLogger(__name__)

Status = Submission.Status


def enqueue(submission: Submission) -> None:
    """Ring the doorbell once the submission row is committed, without making the request wait for it.

    The ring goes through a thread of the process (or inline where tasks run eagerly, as in
    tests): a broker that is slow, away or frozen (each try then costs its socket timeouts)
    must not hold the student's Submit, whose work is done once the row is committed.
    """
    from .tasks import grade_submission

    submission_id = submission.pk
    if grade_submission.app.conf.task_always_eager:
        transaction.on_commit(lambda: ring(submission_id))
    else:
        transaction.on_commit(lambda: doorbell().put(submission_id))


def ring(submission_id: int) -> None:
    """Send the grading task; best effort: the row is committed, so a broker that is away loses
    nothing, and the sweeper rings again after GRADING_REQUEUE_AFTER_SECONDS."""
    from .tasks import grade_submission

    try:
        grade_submission.delay(submission_id)
    except Exception:
        log.exception("could not enqueue submission %s; the sweeper will ring again", submission_id)


_doorbell_lock = threading.Lock()
_doorbell: tuple[int, queue.SimpleQueue[int]] | None = None


def doorbell() -> queue.SimpleQueue[int]:
    """This process's queue of submissions to ring for, and the thread that rings (made on first use)."""
    global _doorbell
    with _doorbell_lock:
        # A forked process inherits the variable, not the thread.
        if _doorbell is None or _doorbell[0] != os.getpid():
            waiting: queue.SimpleQueue[int] = queue.SimpleQueue()
            threading.Thread(target=_ring_forever, args=(waiting,), name="grading-doorbell", daemon=True).start()
            _doorbell = (os.getpid(), waiting)
        return _doorbell[1]


def _ring_forever(waiting: queue.SimpleQueue[int]) -> None:
    while True:
        ring(waiting.get())


def claim(submission_id: int) -> Submission | None:
    """Take a queued submission for grading; None if it is not queued (someone has it, or it is done)."""
    now = timezone.now()
    claimed = Submission.objects.filter(pk=submission_id, status=Status.QUEUED).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, claimed_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    signals.send_submission_changed(submission_id, Status.RUNNING)
    return Submission.objects.select_related("exercise").get(pk=submission_id)


def record(submission: Submission, verdict: Verdict) -> bool:
    """Write the verdict if this claim still holds; False if the submission was taken back meanwhile."""
    status = {"graded": Status.GRADED, "error": Status.ERROR, "needs_review": Status.NEEDS_REVIEW}[verdict.status]
    verdict = verdict.bounded()
    written = Submission.objects.filter(
        pk=submission.pk, status=Status.RUNNING, attempts=submission.attempts
    ).update(
        status=status,
        score=verdict.score if verdict.status != "error" else None,
        max_score=verdict.max_score,
        verdict=verdict.to_dict(),
        exercise_version=verdict.exercise_version,
        duration_ms=verdict.duration_ms,
        graded_at=timezone.now(),
        heartbeat_at=None,
        verdicts_written=F("verdicts_written") + 1,
    )
    if written:
        signals.send_submission_changed(submission.pk, status)
    return bool(written)


def release(submission: Submission) -> bool:
    """Put a claimed submission back in the queue without spending an attempt (the worker cannot grade)."""
    released = Submission.objects.filter(
        pk=submission.pk, status=Status.RUNNING, attempts=submission.attempts
    ).update(status=Status.QUEUED, attempts=F("attempts") - 1, heartbeat_at=None, enqueued_at=timezone.now())
    if released:
        signals.send_submission_changed(submission.pk, Status.QUEUED)
    return bool(released)


class Heartbeat:
    """Touches the claimed submission's heartbeat from a thread while the grading runs."""

    def __init__(self, submission: Submission, every: float):
        self.submission = submission
        self.every = every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{submission.pk}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def _beat(self) -> None:
        try:
            while not self.stop.wait(self.every):
                Submission.objects.filter(
                    pk=self.submission.pk, status=Status.RUNNING, attempts=self.submission.attempts
                ).update(heartbeat_at=timezone.now())
        finally:
            connection.close()


def grade(submission_id: int) -> str:
    """Claim, grade and record one submission. Returns what happened, for logs and tests."""
    submission = claim(submission_id)
    if submission is None:
        return "not-claimed"
    # The engine (and torch) only where a submission is graded: the web process enqueues
    # through this module and has no use for them.
    from graders import engine

    exercise: Exercise = submission.exercise
    try:
        with Heartbeat(submission, settings.GRADING_HEARTBEAT_SECONDS):
            verdict = engine.grade_answer(exercise.files, submission.answer)
    except engine.GradingUnavailable as unavailable:
        # Fail closed: never grade without a sandbox. The submission waits for a worker that can.
        log.error("cannot grade submission %s: %s", submission.pk, unavailable)
        release(submission)
        raise
    except Exception as error:  # MemoryError and RecursionError included: the worker must live on
        log.exception("grading submission %s raised", submission.pk)
        verdict = grading_failed(error)
    if verdict.status == "error" and verdict.infrastructure:
        return requeue_after_our_failure(submission, verdict)
    if verdict.status == "error" and submission.attempts < settings.GRADING_MAX_ATTEMPTS:
        # A platform failure, not the student's: try again soon with a fresh sandbox.
        log.warning("grading submission %s failed (%s); it will be retried", submission.pk, verdict.message)
        if Submission.objects.filter(pk=submission.pk, status=Status.RUNNING, attempts=submission.attempts).update(
            status=Status.QUEUED, heartbeat_at=None, enqueued_at=timezone.now()
        ):
            from .tasks import grade_submission

            grade_submission.apply_async(args=[submission.pk], countdown=1)
        return "retry"
    return "recorded" if record(submission, verdict) else "lost-claim"


def infrastructure_backoff(retries: int) -> int:
    """Seconds before the `retries`-th try after failures of ours: 2, 4, 8 ... up to the cap."""
    return min(2 ** min(retries, 30), settings.GRADING_INFRASTRUCTURE_BACKOFF_MAX_SECONDS)


def requeue_after_our_failure(submission: Submission, verdict: Verdict) -> str:
    """A grading that failed on our side: given back to the queue with backoff, no attempt spent.

    The doorbell rings after the backoff, and `enqueued_at` is set to that moment so that the
    sweeper, which rings for what waited GRADING_REQUEUE_AFTER_SECONDS since its doorbell, does
    not ring early. If both ring anyway, the claim lets one of them grade.
    After GRADING_MAX_INFRASTRUCTURE_RETRIES in a row, the submission is marked `error`, which
    counts against no attempt limit, with a message saying so, and staff can regrade it.
    """
    from .tasks import grade_submission

    retries = submission.infrastructure_retries + 1
    claimed = Submission.objects.filter(pk=submission.pk, status=Status.RUNNING, attempts=submission.attempts)
    now = timezone.now()
    if retries > settings.GRADING_MAX_INFRASTRUCTURE_RETRIES:
        log.error("grading submission %s failed on our side %d times in a row; marked error for staff: %s",
                  submission.pk, retries, verdict.message)
        given_up = Verdict(
            status="error", score=0, max_score=verdict.max_score, infrastructure=True,
            message=(f"This submission could not be graded: the grader failed on our side {retries} times in a "
                     "row. This is not your fault and it does not count as one of your attempts. Your "
                     "instructor can see it and have it graded again."),
        ).bounded()
        if claimed.update(
            status=Status.ERROR, attempts=F("attempts") - 1, infrastructure_retries=retries, score=None,
            max_score=given_up.max_score, verdict=given_up.to_dict(), graded_at=now, heartbeat_at=None,
        ):
            signals.send_submission_changed(submission.pk, Status.ERROR)
        return "gave-up"
    countdown = infrastructure_backoff(retries)
    log.warning("grading submission %s is delayed %d s (failure %d of ours in a row): %s",
                submission.pk, countdown, retries, verdict.message)
    if claimed.update(status=Status.QUEUED, attempts=F("attempts") - 1, infrastructure_retries=retries,
                      heartbeat_at=None, enqueued_at=now + timedelta(seconds=countdown)):
        signals.send_submission_changed(submission.pk, Status.QUEUED)
        try:
            grade_submission.apply_async(args=[submission.pk], countdown=countdown)
        except Exception:  # the broker is away: the sweeper rings once the backoff is over
            log.exception("could not re-enqueue submission %s; the sweeper will ring again", submission.pk)
    return "delayed"


def grading_failed(error: BaseException) -> Verdict:
    """The verdict of a grading that raised: an error the student can read, retried like any other."""
    try:
        detail = f"{type(error).__name__}: {error}"[:300]
    except Exception:  # an exception whose str() fails must not fail this
        detail = type(error).__name__
    return Verdict(
        status="error", score=0, max_score=0,
        message=f"The grader failed while checking this answer ({detail}). This is not your fault: "
                "it will be tried again, and your instructor can see it.",
    )


def sweep(now=None) -> dict[str, int]:
    """Re-enqueue what is stuck; give up, readably, on what failed too often."""
    from .tasks import grade_submission

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.GRADING_STALE_SECONDS)
    # A running submission whose worker stopped beating: take it back.
    abandoned = Submission.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stale)
    taken_back = []
    for submission in abandoned.only("pk", "attempts"):
        if Submission.objects.filter(pk=submission.pk, status=Status.RUNNING, attempts=submission.attempts).update(
            status=Status.QUEUED, heartbeat_at=None, enqueued_at=now
        ):
            taken_back.append(submission)
    given_up = 0
    for submission in Submission.objects.filter(
        status=Status.QUEUED, attempts__gte=settings.GRADING_MAX_ATTEMPTS
    ).only("pk", "attempts"):
        verdict = Verdict(
            status="error", score=0, max_score=0,
            message=(f"Grading failed {submission.attempts} times, so we stopped trying. This is our fault, not "
                     "yours: your instructor can see it and retry it."),
        )
        given_up += Submission.objects.filter(
            pk=submission.pk, status=Status.QUEUED, attempts=submission.attempts
        ).update(status=Status.ERROR, verdict=verdict.to_dict(), graded_at=now)
        signals.send_submission_changed(submission.pk, Status.ERROR)
    for submission in taken_back:
        if submission.attempts < settings.GRADING_MAX_ATTEMPTS:
            grade_submission.delay(submission.pk)
    # Queued for a while since its doorbell rang, and still not claimed: the ring may be lost.
    waiting = list(Submission.objects.filter(
        status=Status.QUEUED, enqueued_at__lt=now - timedelta(seconds=settings.GRADING_REQUEUE_AFTER_SECONDS)
    ).values_list("pk", flat=True))
    Submission.objects.filter(pk__in=waiting, status=Status.QUEUED).update(enqueued_at=now)
    rung = 0
    for submission_id in waiting:
        grade_submission.delay(submission_id)
        rung += 1
    return {"requeued_running": len(taken_back), "gave_up": given_up, "rung": rung}


def retry(submission: Submission) -> None:
    """Staff: grade a submission that ended in `error` again, from scratch."""
    Submission.objects.filter(pk=submission.pk, status=Status.ERROR).update(
        status=Status.QUEUED, attempts=0, infrastructure_retries=0, verdict=None, score=None, graded_at=None,
        enqueued_at=timezone.now(),
    )
    enqueue(submission)
    signals.send_submission_changed(submission.pk, Status.QUEUED)

