"""Attentive's Django project package: settings, URLs, ASGI application and Celery app."""

from .celery import app as celery_app

__all__ = ("celery_app",)
