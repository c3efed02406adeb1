"""The Celery app: grading and other background work, configured from Django settings.

Celery writes three INFO lines each time beat runs a periodic task (sent, received, succeeded):
for the grading sweeper, every 10 s, which pushed everything else off a terminal. Those lines
are logged at DEBUG instead, here where they are made; a periodic task says itself, at WARNING,
when it had something to do, and its failures stay errors.
"""

import logging
import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attentive.settings")

app = Celery("attentive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Where Celery logs a task being sent by beat, received by a worker, and finished.
ROUTINE_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class PeriodicTaskLinesAtDebug(logging.Filter):
    """Makes Celery's INFO lines about a periodic task DEBUG lines, shown only where DEBUG is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or _task_name(record) not in periodic_tasks():
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def periodic_tasks() -> set[str]:
    return {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def _task_name(record: logging.LogRecord) -> str:
    # The worker's lines carry their context as `data`; beat's line has (entry name, task name) as arguments.
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        return str(data.get("name", ""))
    if record.name == "celery.beat" and isinstance(record.args, tuple) and len(record.args) == 2:
        return str(record.args[1])
    return ""


for _name in ROUTINE_LOGGERS:
    logging.getLogger(_name).addFilter(PeriodicTaskLinesAtDebug())
