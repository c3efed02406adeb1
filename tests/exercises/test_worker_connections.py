"""A grading worker keeps its database connection from one task to the next."""

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from attentive.celery import app
from exercises import tasks, worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_settings():
    saved = dict(connection.settings_dict)
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def end_of_task() -> None:
    """What happens between two tasks: Celery's Django fixup, then our own check before the next."""
    DjangoWorkerFixup(app).close_database()
    tasks.refresh_connection(task=tasks.grade_submission)


def test_the_connection_outlives_a_task(worker_settings):
    worker.keep_connections()
    connection.close()  # a worker process sets this up before its first connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    first = connection.connection
    end_of_task()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is first


def test_without_it_each_task_connects_anew(worker_settings):
    connection.settings_dict["CONN_MAX_AGE"] = 0
    # Nor the web processes' pool, which would hand the same connection back (PostgreSQL).
    connection.settings_dict["OPTIONS"] = {name: value for name, value in connection.settings_dict["OPTIONS"].items()
                                           if name != "pool"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    first = connection.connection
    end_of_task()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is not first


def test_a_broken_connection_is_replaced_before_the_next_task(worker_settings, monkeypatch):
    worker.keep_connections()
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    first = connection.connection
    # What a database restart leaves: the last task met an error, and the connection answers no more.
    connection.errors_occurred = True
    monkeypatch.setattr(connection, "is_usable", lambda: False)
    end_of_task()
    monkeypatch.undo()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is not first


def test_a_worker_keeps_its_connection_without_the_web_processes_pool(worker_settings):
    connection.settings_dict["OPTIONS"] = {**connection.settings_dict["OPTIONS"], "pool": True}
    worker.keep_connections()
    assert "pool" not in connection.settings_dict["OPTIONS"]  # Django refuses a pool with kept connections
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
