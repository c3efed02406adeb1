"""A page under ASGI: how often a request crosses between the event loop and its thread."""

import threading

import pytest
from asgiref.sync import SyncToAsync
from asgiref.testing import ApplicationCommunicator

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_the_middlewares_and_the_view_run_in_the_requests_thread_in_one_trip(monkeypatch):
    from attentive.asgi import django_application

    trips = []
    real_call = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        trips.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await real_call(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    scope = {"type": "http", "method": "GET", "path": "/play/", "query_string": b"", "http_version": "1.1",
             "scheme": "http", "headers": [(b"host", b"127.0.0.1")], "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 50000)}
    page = ApplicationCommunicator(django_application, scope)
    await page.send_input({"type": "http.request", "body": b""})
    assert (await page.receive_output(10))["status"] == 200
    assert not [trip for trip in trips if trip.endswith((".process_request", ".process_response"))], trips
    # One for the request_started signal's receivers, one for the middlewares and the view together.
    assert len(trips) <= 2, trips


async def test_pages_served_one_after_another_start_no_new_threads():
    from attentive.asgi import django_application

    async def one_page():
        page = ApplicationCommunicator(django_application, {
            "type": "http", "method": "GET", "path": "/play/", "query_string": b"", "http_version": "1.1",
            "scheme": "http", "headers": [(b"host", b"127.0.0.1")], "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 50000)})
        await page.send_input({"type": "http.request", "body": b""})
        assert (await page.receive_output(10))["status"] == 200
        await page.receive_output(10)  # the body
        await page.wait(10)

    await one_page()  # the first page may start the thread the next ones use
    started = []
    real_start = threading.Thread.start

    def counted_start(thread):
        started.append(thread.name)
        return real_start(thread)

    threading.Thread.start = counted_start
    try:
        for _ in range(5):
            await one_page()
    finally:
        threading.Thread.start = real_start
    assert started == [], started


def test_a_request_thread_still_busy_when_its_request_ends_is_not_given_to_the_next_request():
    from frontdoor.asgi import RequestThreads

    threads = RequestThreads()
    first = threads.take()
    release = threading.Event()
    busy = first.submit(release.wait, 10)
    threads.give_back(first)  # its request was cancelled while the view still ran
    second = threads.take()
    assert second is not first
    assert second.submit(lambda: "served").result(5) == "served"
    release.set()
    assert busy.result(5) is True
    threads.give_back(second)
    assert threads.take() is second
