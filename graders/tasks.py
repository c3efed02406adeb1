"""Celery tasks of the grading engine: they only call graders.services."""

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown

from . import services, worker


@worker_process_init.connect
def warm_up(**_kwargs) -> None:
    worker.start()


@worker_process_shutdown.connect
def shut_down(**_kwargs) -> None:
    worker.stop()


@shared_task(name="graders.grade_submission", acks_late=True, ignore_result=True)
def grade_submission(submission_id: int) -> str:
    return services.grade(submission_id)


@shared_task(name="graders.sweep_stuck_submissions", ignore_result=True)
def sweep_stuck_submissions() -> dict[str, int]:
    return services.sweep()
