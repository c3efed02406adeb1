"""The Celery app: grading and other background work, configured from Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attentive.settings")

app = Celery("attentive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
