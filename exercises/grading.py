"""The grading lifecycle of a submission: queued -> running -> graded | error | needs_review.

The Submission row is the truth; the broker is only a doorbell. Every transition is a
conditional UPDATE, so two workers can never both grade one submission, a second
delivery of a task changes nothing, and a worker that dies mid-grade is noticed by its
missing heartbeat and its submission graded again by someone else. The claim, heartbeat,
sweep and doorbell are attentive/jobs.py's, shared with the themes of reflections; what a
grading does on its attempts and on failures of ours, and what the student reads, are here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from attentive.jobs import DurableJob
from graders.verdict import Verdict

from . import signals
from .models import Submission

log = logging.getLogger(__name__)

Status = Submission.Status


def _grade_submission_task():
    from .tasks import grade_submission

    return grade_submission


# A submission is a durable job (attentive/jobs.py): queued -> running, rung for after commit,
# claimed by a conditional update, kept alive by a heartbeat, taken back by the sweep.
SUBMISSIONS = DurableJob(
    name="submission", model=Submission, task=_grade_submission_task, key="pk",
    state="status", waiting=Status.QUEUED, running=Status.RUNNING, rung_at="enqueued_at",
)


def enqueue(submission: Submission) -> None:
    """Ring the doorbell once the submission row is committed, without making the request wait for it."""
    SUBMISSIONS.ring_after_commit(submission.pk)


@dataclass(frozen=True)
class Claim:
    """A submission claimed for grading, and what grading it needs, read by the claim itself."""

    pk: int
    attempts: int  # the claim's: a later claim of the same submission has more
    infrastructure_retries: int
    answer: str
    exercise_files: dict[str, str]


CLAIM_READS = ("attempts", "infrastructure_retries", "answer", "exercise__files")


def claim(submission_id: int) -> Claim | None:
    """Take a queued submission for grading; None if it is not queued (someone has it, or it is done)."""
    now = timezone.now()
    row = SUBMISSIONS.claim_reading(submission_id, CLAIM_READS, now=now, claimed_at=now)
    return None if row is None else _claim_of(submission_id, row)


def claim_next() -> Claim | None:
    """Take the queued submission that has waited longest and was never tried; None if there is none.

    Only first attempts: a submission that is queued again after a failure waits for its own
    doorbell, which rings after its backoff.
    """
    now = timezone.now()
    key = Submission._meta.pk.name
    row = SUBMISSIONS.claim_next_reading((key, *CLAIM_READS), now=now, where={"attempts": 0}, claimed_at=now)
    return None if row is None else _claim_of(row[key], row)


def _claim_of(pk: int, row: dict) -> Claim:
    """The Claim of a submission from what its claim read (CLAIM_READS)."""
    return Claim(pk, row["attempts"], row["infrastructure_retries"], row["answer"], row["exercise__files"])


# Pages hear that a submission is running only once its grading has taken this long. Most
# verdicts come sooner, and each status a page hears costs it a fetch of the card and a new
# WebSocket, and the worker a live update: the verdict then replaces "Queued for grading…" at once.
RUNNING_ANNOUNCED_AFTER_SECONDS = 0.3


def record(submission: Claim, verdict: Verdict) -> bool:
    """Write the verdict if this claim still holds; False if the submission was taken back meanwhile."""
    status = {"graded": Status.GRADED, "error": Status.ERROR, "needs_review": Status.NEEDS_REVIEW}[verdict.status]
    verdict = verdict.bounded()
    written = SUBMISSIONS.update_claimed(
        submission.pk,
        submission.attempts,
        status=status,
        score=verdict.score if verdict.status != "error" else None,
        max_score=verdict.max_score,
        verdict=verdict.to_dict(),
        exercise_version=verdict.exercise_version,
        duration_ms=verdict.duration_ms,
        graded_at=timezone.now(),
        heartbeat_at=None,
        increment=("verdicts_written",),
    )
    if written:
        signals.send_submission_changed(submission.pk, status)
    return bool(written)


def release(submission: Claim) -> bool:
    """Put a claimed submission back in the queue without spending an attempt (the worker cannot grade)."""
    released = SUBMISSIONS.claimed(submission.pk, submission.attempts).update(
        status=Status.QUEUED, attempts=F("attempts") - 1, heartbeat_at=None, enqueued_at=timezone.now()
    )
    if released:
        signals.send_submission_changed(submission.pk, Status.QUEUED)
    return bool(released)


def grade(submission_id: int) -> str:
    """Claim, grade and record one submission. Returns what happened, for logs and tests."""
    submission = claim(submission_id)
    if submission is None:
        return "not-claimed"
    return grade_claimed(submission)


def grade_waiting(seconds: float) -> int:
    """Grade queued submissions one after another, the longest waiting first, while any are
    queued and for at most about `seconds` (a grading under way is finished); returns how many.

    A grading worker calls this after the submission its message named: in a burst, its
    process goes on to the next submission at once instead of waiting for the broker's next
    message to come back through Celery's main process (a few milliseconds on a busy machine,
    a fifth of a burst: docs/benchmarks.md). Those messages then find their submissions claimed.
    """
    deadline = time.monotonic() + seconds
    graded = 0
    while time.monotonic() < deadline:
        submission = claim_next()
        if submission is None:
            break
        grade_claimed(submission)
        graded += 1
    return graded


def grade_claimed(submission: Claim) -> str:
    """Grade and record a claimed submission. Returns what happened, for logs and tests."""
    # The engine (and torch) only where a submission is graded: the web process enqueues
    # through this module and has no use for them.
    from graders import engine

    try:
        # The heartbeat's thread also says "running", if the grading is still running by then.
        announce_running = (RUNNING_ANNOUNCED_AFTER_SECONDS,
                            partial(signals.send_submission_changed, submission.pk, Status.RUNNING))
        with SUBMISSIONS.heartbeat(submission.pk, submission.attempts, settings.GRADING_HEARTBEAT_SECONDS,
                                   first=announce_running):
            verdict = engine.grade_answer(submission.exercise_files, submission.answer)
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
        if SUBMISSIONS.take_back(submission.pk, submission.attempts, timezone.now()):
            SUBMISSIONS.ring(submission.pk, countdown=1)
        return "retry"
    return "recorded" if record(submission, verdict) else "lost-claim"


def infrastructure_backoff(retries: int) -> int:
    """Seconds before the `retries`-th try after failures of ours: 2, 4, 8 ... up to the cap."""
    return min(2 ** min(retries, 30), settings.GRADING_INFRASTRUCTURE_BACKOFF_MAX_SECONDS)


def requeue_after_our_failure(submission: Claim, verdict: Verdict) -> str:
    """A grading that failed on our side: given back to the queue with backoff, no attempt spent.

    The doorbell rings after the backoff, and `enqueued_at` is set to that moment so that the
    sweeper, which rings for what waited GRADING_REQUEUE_AFTER_SECONDS since its doorbell, does
    not ring early. If both ring anyway, the claim lets one of them grade.
    After GRADING_MAX_INFRASTRUCTURE_RETRIES in a row, the submission is marked `error`, which
    counts against no attempt limit, with a message saying so, and staff can regrade it.
    """
    retries = submission.infrastructure_retries + 1
    claimed = SUBMISSIONS.claimed(submission.pk, submission.attempts)
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
        # A broker that is away is logged: the sweeper rings once the backoff is over.
        SUBMISSIONS.ring(submission.pk, countdown=countdown)
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
    now = now or timezone.now()
    # A running submission whose worker stopped beating: take it back.
    abandoned = SUBMISSIONS.stale(now, timedelta(seconds=settings.GRADING_STALE_SECONDS))
    taken_back = [
        submission for submission in abandoned.only("pk", "attempts")
        if SUBMISSIONS.take_back(submission.pk, submission.attempts, now)
    ]
    given_up = 0
    for submission in Submission.objects.filter(
        status=Status.QUEUED, attempts__gte=settings.GRADING_MAX_ATTEMPTS
    ).only("pk", "attempts"):
        verdict = Verdict(
            status="error", score=0, max_score=0,
            message=(f"Grading failed {submission.attempts} times, so we stopped trying. This is our fault, not "
                     "yours: your instructor can see it and retry it."),
        )
        if Submission.objects.filter(
            pk=submission.pk, status=Status.QUEUED, attempts=submission.attempts
        ).update(status=Status.ERROR, verdict=verdict.to_dict(), graded_at=now):
            given_up += 1
            signals.send_submission_changed(submission.pk, Status.ERROR)
    for submission in taken_back:
        if submission.attempts < settings.GRADING_MAX_ATTEMPTS:
            SUBMISSIONS.ring(submission.pk)
    # Queued for a while since its doorbell rang, and still not claimed: the ring may be lost.
    waiting = list(SUBMISSIONS.overdue(now, timedelta(seconds=settings.GRADING_REQUEUE_AFTER_SECONDS))
                   .values_list("pk", flat=True))
    Submission.objects.filter(pk__in=waiting, status=Status.QUEUED).update(enqueued_at=now)
    rung = 0
    for submission_id in waiting:
        SUBMISSIONS.ring(submission_id)
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

