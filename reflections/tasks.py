"""Celery tasks for reflections: they only call services (the database row is the truth)."""

import logging

from celery import shared_task

from . import services

log = logging.getLogger(__name__)


@shared_task(name="reflections.compute_themes", acks_late=True, reject_on_worker_lost=True)
def compute_themes(prompt_id: int) -> bool:
    return services.run_theme_computation(prompt_id)


@shared_task(name="reflections.sweep_theme_computations")
def sweep_theme_computations() -> int:
    resent = services.sweep_theme_computations()
    # Routine when nothing was lost (Celery's lines about it are at DEBUG, see attentive/celery.py).
    if resent:
        log.warning("theme sweeper: %d theme computations sent again after a lost message or a stopped worker",
                    resent)
    return resent
