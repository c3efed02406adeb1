"""Celery tasks of the grading lifecycle: they only call exercises.grading."""

import logging

from celery import shared_task
from celery.signals import task_prerun, worker_process_init, worker_process_shutdown
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections

from . import grading, worker

log = logging.getLogger(__name__)
# A grading that met a database outage (OperationalError, InterfaceError) is sent again after
# 1, 2, 4 ... 60 s, this many times (about five minutes); then the message is dropped and the
# row, still queued or running, is the sweeper's to ring for once the database is back.
DATABASE_MAX_RETRIES = 8
DATABASE_BACKOFF_MAX_SECONDS = 60


@worker_process_init.connect
def warm_up(**_kwargs) -> None:
    worker.start()


@task_prerun.connect
def refresh_connection(task=None, **_kwargs) -> None:
    """Before each task, Django's own rule for a kept connection: drop it if too old or broken.

    Celery would otherwise close every connection around every task (settings.CELERY_DB_REUSE_MAX
    turns that off), and a worker would pay a new PostgreSQL connection per verdict. Not for
    eager tasks, which run inside the caller's request or transaction.
    """
    if task is not None and not getattr(task.request, "is_eager", False):
        close_old_connections()


@worker_process_shutdown.connect
def shut_down(**_kwargs) -> None:
    worker.stop()


# The task names keep the "graders." prefix of the app these tasks lived in: messages already in
# the broker during a deploy name their task that way and must still find it, and the routes in
# settings.CELERY_TASK_ROUTES (the grading and maintenance queues) match on it.
@shared_task(name="graders.grade_submission", bind=True, acks_late=True, ignore_result=True,
             max_retries=DATABASE_MAX_RETRIES)
def grade_submission(self, submission_id: int) -> str:
    try:
        outcome = grading.grade(submission_id)
    except (OperationalError, InterfaceError) as error:
        # The database is away and the row is the truth: keep the doorbell, with backoff, so a
        # worker neither drops the queue (and sits idle until the sweeper) nor spins through it.
        close_old_connections()
        retries = self.request.retries
        if retries >= DATABASE_MAX_RETRIES:
            log.error("database error while grading submission %s (%s), %d times: the message is dropped, "
                      "the sweeper rings again", submission_id, error, retries + 1)
            return "database-unavailable"
        countdown = min(2 ** retries, DATABASE_BACKOFF_MAX_SECONDS)
        log.warning("database error while grading submission %s (%s); the message is requeued in %d s",
                    submission_id, error, countdown)
        raise self.retry(countdown=countdown) from error
    except DatabaseError:
        # Not an outage (a programming or integrity error): another try would fail the same way.
        # A claimed row is taken back by the sweeper, which gives up after GRADING_MAX_ATTEMPTS.
        log.exception("database error while grading submission %s; not retried", submission_id)
        return "database-error"
    # Then what else is queued, in a worker (a task run eagerly runs in someone's request).
    if self.request.is_eager or settings.GRADING_TAKE_NEXT_SECONDS <= 0:
        return outcome
    try:
        more = grading.grade_waiting(settings.GRADING_TAKE_NEXT_SECONDS)
    except DatabaseError as error:
        # Not for this message to be sent again: each queued submission has a message of its own,
        # and one claimed when the error came is the sweeper's, as after a worker's death.
        close_old_connections()
        log.warning("database error while grading the queued submissions after submission %s (%s); "
                    "they wait for their own messages", submission_id, error)
        return f"{outcome}, then a database error"
    return f"{outcome}, then {more} more" if more else outcome


# Routed to a queue of its own (settings.CELERY_TASK_ROUTES), served by a process that grades
# nothing, so that a backlog of submissions never delays the sweep that rescues stuck ones.
@shared_task(name="graders.sweep_stuck_submissions", ignore_result=True)
def sweep_stuck_submissions() -> dict[str, int]:
    counts = grading.sweep()
    # A sweep that found nothing is routine (Celery's lines about it are at DEBUG, see attentive/celery.py);
    # one that found something means a worker or a message was lost.
    if any(counts.values()):
        log.warning("sweeper: %d submissions taken back from a stopped worker, %d sent again after a lost "
                    "message, %d given up after too many attempts",
                    counts["requeued_running"], counts["rung"], counts["gave_up"])
    return counts
