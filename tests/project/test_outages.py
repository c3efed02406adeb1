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

    monkeypatch.setattr("graders.tasks.grade_submission.delay", broker_away)
    client = Client(raise_request_exception=False)
    client.login(username=cast.student.username, password=PASSWORD)
    url = f"/c/{cast.course.slug}/exercises/{code_exercise.slug}/submit/"
    response = client.post(url, {"code": GOOD_SOFTMAX}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    submission = Submission.objects.get(exercise=code_exercise, user=cast.student)
    assert submission.status == "queued"
