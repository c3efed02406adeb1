"""Celery tasks of the grading engine: they only call graders.services."""

import logging
import time

from celery import shared_task
from celery.exceptions import Reject
from celery.signals import task_prerun, worker_process_init, worker_process_shutdown
from django.db import DatabaseError, close_old_connections

from . import services, worker

log = logging.getLogger(__name__)
# Pause before handing back a message whose grading met a database outage, so that a worker
# does not spin through the whole queue while the database is away.
DATABASE_RETRY_PAUSE_SECONDS = 2.0


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


@shared_task(name="graders.grade_submission", acks_late=True, ignore_result=True)
def grade_submission(submission_id: int) -> str:
    try:
        return services.grade(submission_id)
    except DatabaseError as error:
        # The row is the truth and the database is away: keep the doorbell. The message goes back
        # to the broker (it was dropped before, and the worker then sat idle until the sweeper).
        log.warning("database error while grading submission %s (%s); the message is requeued", submission_id, error)
        close_old_connections()
        time.sleep(DATABASE_RETRY_PAUSE_SECONDS)
        raise Reject(f"database error: {error}", requeue=True) from error


# Routed to a queue of its own (settings.CELERY_TASK_ROUTES), served by a process that grades
# nothing, so that a backlog of submissions never delays the sweep that rescues stuck ones.
@shared_task(name="graders.sweep_stuck_submissions", ignore_result=True)
def sweep_stuck_submissions() -> dict[str, int]:
    counts = services.sweep()
    # A sweep that found nothing is routine (Celery's lines about it are at DEBUG, see attentive/celery.py);
    # one that found something means a worker or a message was lost.
    if any(counts.values()):
        log.warning("sweeper: %d submissions taken back from a stopped worker, %d sent again after a lost "
                    "message, %d given up after too many attempts",
                    counts["requeued_running"], counts["rung"], counts["gave_up"])
    return counts
