"""During an outage of the database or the broker: a clear 503 that says the work is safe, and a saved
submission stays saved and queued."""

import pytest
from django.db import OperationalError
from django.test import Client

from exercises.models import Submission
from tests.conftest import GOOD_SOFTMAX, PASSWORD


def test_a_database_outage_gives_a_503_that_says_the_work_is_safe(cast, monkeypatch):
    client = Client(raise_request_exception=False)
    client.login(username=cast.student.username, password=PASSWORD)

    def database_away(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr("courses.views.render", database_away)
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    text = response.content.decode()
    assert "Attentive is briefly unavailable" in text
    assert "Your work is safe" in text


def test_a_bug_is_still_a_500_not_an_outage(cast, monkeypatch):
    client = Client(raise_request_exception=False)
    client.login(username=cast.student.username, password=PASSWORD)

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("courses.views.render", bug)
    assert client.get("/").status_code == 500


@pytest.mark.django_db(transaction=True)
def test_a_submission_saved_while_the_broker_is_away_is_queued_not_failed(cast, code_exercise, monkeypatch):
    import kombu.exceptions

    def broker_away(*args, **kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("exercises.tasks.grade_submission.delay", broker_away)
    client = Client(raise_request_exception=False)
    client.login(username=cast.student.username, password=PASSWORD)
    url = f"/c/{cast.course.slug}/exercises/{code_exercise.slug}/submit/"
    response = client.post(url, {"code": GOOD_SOFTMAX}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    submission = Submission.objects.get(exercise=code_exercise, user=cast.student)
    assert submission.status == "queued"


# ---------------------------------------------------------------------------------------------
# Frozen services: they accept connections (the kernel does it) and never answer.


@pytest.fixture
def frozen_server():
    """A TCP port that accepts connections and answers nothing, as a SIGSTOPped server does."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def frozen_broker(frozen_server, settings):
    """The site's Celery app, sending to a frozen Redis with the settings' Redis timeouts."""
    from attentive.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options,
             app.conf.broker_connection_timeout, app._pool, app.amqp._producer_pool)
    app.conf.broker_url = f"redis://127.0.0.1:{frozen_server}/0"
    # Without REDIS_URL the settings name the filesystem transport, which would win over the URL.
    app.conf.broker_transport = "attentive.broker.Transport"
    app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    app.conf.broker_connection_timeout = settings.REDIS_CONNECT_TIMEOUT_SECONDS
    app._pool = app.amqp._producer_pool = None
    yield
    (app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options,
     app.conf.broker_connection_timeout) = saved[:4]
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool, app.amqp._producer_pool = saved[4:]


@pytest.mark.django_db(transaction=True)
def test_submit_answers_within_5_s_while_redis_is_frozen_and_the_submission_waits_queued(
        cast, code_exercise, frozen_broker):
    import time

    client = Client(raise_request_exception=False)
    client.login(username=cast.student.username, password=PASSWORD)
    url = f"/c/{cast.course.slug}/exercises/{code_exercise.slug}/submit/"
    started = time.monotonic()
    response = client.post(url, {"code": GOOD_SOFTMAX}, HTTP_HX_REQUEST="true")
    took = time.monotonic() - started
    assert response.status_code == 200
    assert took < 5, f"Submit took {took:.1f} s with Redis frozen"
    submission = Submission.objects.get(exercise=code_exercise, user=cast.student)
    assert submission.status == "queued"  # the sweeper rings for it once Redis answers


def test_the_database_probe_says_a_frozen_postgresql_does_not_answer(frozen_server, settings):
    from attentive import outages

    settings.DATABASES = {"default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql",
                                      "HOST": "127.0.0.1", "PORT": frozen_server, "NAME": "attentive",
                                      "USER": "postgres", "PASSWORD": ""}}
    assert outages.probe_database().startswith("the database does not answer")


def test_the_probe_reports_a_service_that_answers_too_late_within_its_time(monkeypatch):
    import asyncio
    import time

    from attentive import outages

    monkeypatch.setattr(outages, "probe_database", lambda: time.sleep(3) or "")
    monkeypatch.setattr(outages, "probe_redis", lambda: "")

    async def probe():
        started = time.monotonic()
        answer = await outages.ServiceProbe().outage()
        return answer, time.monotonic() - started

    answer, took = asyncio.run(probe())
    assert answer == "the database or Redis did not answer a probe in time"
    assert took < outages.PROBE_TIMEOUT_SECONDS + 1


def test_the_redis_probe_says_a_frozen_redis_does_not_answer_within_2_s(frozen_server, settings):
    import time

    from attentive import outages

    settings.REDIS_URL = f"redis://127.0.0.1:{frozen_server}/0"
    started = time.monotonic()
    assert outages.probe_redis().startswith("Redis does not answer")
    assert time.monotonic() - started < 2


class StubProbe:
    def __init__(self, outage: str) -> None:
        self.answer = outage

    async def outage(self) -> str:
        return self.answer


def call_asgi(application, path: str = "/"):
    """Run one HTTP request through an ASGI application; (status, body, seconds)."""
    import asyncio
    import time

    from asgiref.sync import async_to_sync

    messages = []

    async def receive():
        await asyncio.sleep(3600)

    async def send(message):
        messages.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    started = time.monotonic()
    async_to_sync(application)(scope, receive, send)
    took = time.monotonic() - started
    status = next(message["status"] for message in messages if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in messages if message["type"] == "http.response.body")
    return status, body.decode(), took


async def page_stuck_for(seconds: float, scope, receive, send):
    import asyncio

    await asyncio.sleep(seconds)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"the page"})


def test_a_request_stuck_behind_a_frozen_service_gets_the_503_page_at_its_deadline():
    from functools import partial

    from attentive.outages import AnswerWithinDeadline

    guarded = AnswerWithinDeadline(partial(page_stuck_for, 30), seconds=0.3,
                                   probe=StubProbe("the database does not answer"))
    status, body, took = call_asgi(guarded)
    assert status == 503
    assert "Your work is safe" in body
    assert took < 2


def test_a_page_that_is_only_slow_is_left_to_finish_when_every_service_answers():
    from functools import partial

    from attentive.outages import AnswerWithinDeadline

    guarded = AnswerWithinDeadline(partial(page_stuck_for, 1.0), seconds=0.3, probe=StubProbe(""))
    status, body, took = call_asgi(guarded)
    assert (status, body) == (200, "the page")
    assert took >= 1.0


def test_the_asgi_application_has_the_deadline():
    from attentive.asgi import application
    from attentive.outages import AnswerWithinDeadline

    assert isinstance(application.application_mapping["http"], AnswerWithinDeadline)
