"""The Redis broker transport: a connection lost while a task holds its message does not end the worker."""

import logging

import pytest
from kombu import Connection
from kombu.transport import redis as kombu_redis

from attentive.broker import Transport
from tests.processes import start_redis

pytestmark = pytest.mark.redis


def close_after_redis_died(transport):
    """Take a message without acknowledging it, kill Redis, and close as Celery's consumer does on a
    lost connection, from the state kombu reaches there: a transport already detached from its client.
    Then acknowledge the message, as the grading that held it does when it ends."""
    process, url = start_redis()
    try:
        connection = Connection(url, transport=transport)
        queue = connection.SimpleQueue("graders-test")
        queue.put({"submission": 1})
        message = queue.get(timeout=5)
        assert message.payload == {"submission": 1}  # held, not acknowledged (late acks)
        process.kill()
        connection.transport.client = None
        connection.close()
        return message, connection.connection_errors
    finally:
        process.kill()


def test_kombus_own_transport_raises_there():
    # The fault this module exists for: if kombu fixes it, attentive.broker can go.
    with pytest.raises(AttributeError, match="hostname"):
        close_after_redis_died(kombu_redis.Transport)


def test_ours_logs_that_the_sweeper_rings_again_and_closes(caplog):
    with caplog.at_level(logging.WARNING, logger="attentive.broker"):
        close_after_redis_died(Transport)
    assert "the sweeper rings again" in caplog.text


def test_kombus_own_acknowledgement_on_the_dead_channel_raises_what_celery_does_not_survive():
    message, connection_errors = close_after_redis_died(Transport)
    message.channel.__class__ = kombu_redis.Channel
    with pytest.raises(AttributeError):
        message.ack_log_error(logging.getLogger("test"), connection_errors)


def test_an_acknowledgement_on_the_dead_channel_is_a_connection_error_celery_logs(caplog):
    message, connection_errors = close_after_redis_died(Transport)
    with caplog.at_level(logging.CRITICAL, logger="test"):
        message.ack_log_error(logging.getLogger("test"), connection_errors)
    assert "connection is closed" in caplog.text


def test_a_redis_broker_uses_it():
    from django.conf import settings

    assert settings.REDIS_URL, "this test runs with REDIS_URL set (it is marked redis)"
    assert settings.CELERY_BROKER_TRANSPORT == "attentive.broker.Transport"
    from attentive.celery import app

    assert app.connection_for_write().transport_cls == "attentive.broker.Transport"
