"""The WebSocket origin check: a socket is accepted only from a page of this site, the same
scheme, host and port, or from SITE_URL and CSRF_TRUSTED_ORIGINS."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from frontdoor.asgi import origin_allowed


def scope(origin: str | None, host: str = "127.0.0.1:8000", scheme: str = "ws") -> dict:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers, "server": ("127.0.0.1", 8000)}


def test_a_page_of_the_same_origin_is_accepted():
    assert origin_allowed(scope("http://127.0.0.1:8000"))


def test_another_port_of_an_allowed_host_is_refused():
    assert not origin_allowed(scope("http://127.0.0.1:9999"))


def test_another_scheme_is_refused():
    assert not origin_allowed(scope("https://127.0.0.1:8000"))


def test_default_ports_are_the_same_origin():
    assert origin_allowed(scope("https://127.0.0.1", host="127.0.0.1:443", scheme="wss"))
    assert origin_allowed(scope("http://localhost:80", host="localhost"))


def test_a_host_outside_allowed_hosts_is_refused_even_from_its_own_page():
    assert not origin_allowed(scope("http://evil.example:8000", host="evil.example:8000"))


def test_the_site_url_and_trusted_origins_are_accepted(settings):
    settings.SITE_URL = "https://quiz.example.edu"
    settings.CSRF_TRUSTED_ORIGINS = ["https://attentive.example.edu:8443"]
    assert origin_allowed(scope("https://quiz.example.edu"))
    assert origin_allowed(scope("https://attentive.example.edu:8443"))
    assert not origin_allowed(scope("https://attentive.example.edu"))
    assert not origin_allowed(scope("http://quiz.example.edu"))


def test_a_socket_without_an_origin_is_refused():
    assert not origin_allowed(scope(None))


def test_a_malformed_origin_is_refused():
    assert not origin_allowed(scope("http://127.0.0.1:notaport"))
    assert not origin_allowed(scope("null"))


@pytest.mark.django_db(transaction=True)
def test_the_site_refuses_a_socket_from_another_port():
    from attentive.asgi import application

    async def connect():
        communicator = WebsocketCommunicator(application, "/ws/anything/", headers=[
            (b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:9999")])
        connected, _ = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return connected

    assert async_to_sync(connect)() is False
