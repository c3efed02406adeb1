"""Celery tasks for reflections: they only call services (the database row is the truth)."""

from celery import shared_task

from . import services


@shared_task(name="reflections.compute_themes", acks_late=True, reject_on_worker_lost=True)
def compute_themes(prompt_id: int) -> bool:
    return services.run_theme_computation(prompt_id)


@shared_task(name="reflections.sweep_theme_computations")
def sweep_theme_computations() -> int:
    return services.sweep_theme_computations()
