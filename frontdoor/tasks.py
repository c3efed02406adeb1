"""Periodic cleanup of throttle rows whose window and lockout are long over."""

from celery import shared_task

from . import throttle


@shared_task(name="frontdoor.prune_throttles")
def prune_throttles() -> int:
    return throttle.prune()
