"""During an outage of the database or Redis, every page answers at once with a clear 503, never a bare 500.

A service that is down refuses connections and the error becomes the 503 (server_error). A
service that is frozen (SIGSTOP, a hung host: the kernel still accepts the connection) answers
nothing and raises nothing, so the ASGI entry point gives each request a deadline: a request that
has not begun its answer after REQUEST_DEADLINE_SECONDS, while the database or Redis does not
answer a probe, gets the 503 (AnswerWithinDeadline). A page that is only slow is left to finish.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 10


def _outage_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        import redis.exceptions

        errors += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover - redis is a pinned requirement
        pass
    try:
        import kombu.exceptions

        errors.append(kombu.exceptions.OperationalError)
    except ImportError:  # pragma: no cover - kombu is a pinned requirement
        pass
    return tuple(errors)


OUTAGE_ERRORS = _outage_errors()


def is_outage(error: BaseException) -> bool:
    """A failure of a service the site depends on (not a bug): the database or the broker is away."""
    if isinstance(error, DatabaseError) and not isinstance(error, OperationalError | InterfaceError):
        return False
    return isinstance(error, OUTAGE_ERRORS)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an outage (wherever it was raised, middleware included) is a 503; anything else a 500."""
    error = sys.exc_info()[1]
    if error is not None and is_outage(error):
        log.warning("outage while serving %s: %s: %s", request.path, type(error).__name__, error)
        return outage_response(request)
    return defaults.server_error(request)


def outage_response(request: HttpRequest) -> HttpResponse:
    """The 503: rendered without the database (no user, no session, no messages)."""
    body = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def limit_web_statements() -> None:
    """Web processes cut a statement after WEB_DB_STATEMENT_TIMEOUT_MS (before their first connection)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"-c statement_timeout={settings.WEB_DB_STATEMENT_TIMEOUT_MS}"


# Seconds a probe of the database or Redis may take, and how long its answer is reused.
PROBE_TIMEOUT_SECONDS = 1.0
PROBE_REUSED_SECONDS = 1.0


class ServiceProbe:
    """Whether the database and Redis answer right now; one probe at a time, its answer reused briefly."""

    def __init__(self) -> None:
        self.checked_at = -1e9
        self.answer = ""
        self.running: asyncio.Future | None = None

    async def outage(self) -> str:
        """What does not answer ("" if both do)."""
        if time.monotonic() - self.checked_at < PROBE_REUSED_SECONDS:
            return self.answer
        if self.running is None or self.running.done():
            self.running = asyncio.ensure_future(self._probe())
        return await asyncio.shield(self.running)

    async def _probe(self) -> str:
        loop = asyncio.get_running_loop()
        checks = [loop.run_in_executor(None, probe) for probe in (probe_database, probe_redis)]
        try:
            answers = await asyncio.wait_for(asyncio.gather(*checks), PROBE_TIMEOUT_SECONDS)
        except TimeoutError:
            answers = ["the database or Redis did not answer a probe in time"]
        self.answer = "; ".join(answer for answer in answers if answer)
        self.checked_at = time.monotonic()
        return self.answer


def probe_database() -> str:
    """"" if the PostgreSQL server answers `SELECT 1` on a new connection within PROBE_TIMEOUT_SECONDS."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return ""
    import psycopg

    try:
        with psycopg.connect(
            host=database.get("HOST") or None, port=database.get("PORT") or None, dbname=database.get("NAME"),
            user=database.get("USER") or None, password=database.get("PASSWORD") or None,
            connect_timeout=2,  # libpq's least: the probe's own wait (PROBE_TIMEOUT_SECONDS) is shorter
        ) as connection:
            connection.execute("SELECT 1")
    except Exception as error:
        return f"the database does not answer ({type(error).__name__})"
    return ""


def probe_redis() -> str:
    """"" if Redis answers PING within PROBE_TIMEOUT_SECONDS (or the site runs without Redis)."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return ""
    from urllib.parse import urlsplit

    address = urlsplit(settings.REDIS_URL)
    try:
        with socket.create_connection((address.hostname or "127.0.0.1", address.port or 6379),
                                      timeout=PROBE_TIMEOUT_SECONDS) as connection:
            connection.sendall(b"PING\r\n")
            if not connection.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                return "Redis does not answer"
    except OSError as error:
        return f"Redis does not answer ({type(error).__name__})"
    return ""


class AnswerWithinDeadline:
    """ASGI middleware for HTTP: the 503 page for a request stuck behind a frozen database or Redis.

    The stuck request is not cancelled (its thread waits on a socket no cancellation reaches): it
    goes on, and what it answers once the service is back is dropped.
    """

    def __init__(self, application, seconds: float | None = None, probe: ServiceProbe | None = None) -> None:
        self.application = application
        self.seconds = seconds
        self.probe = probe or ServiceProbe()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.application(scope, receive, send)
            return
        from django.conf import settings

        seconds = self.seconds if self.seconds is not None else settings.REQUEST_DEADLINE_SECONDS
        state = {"started": False, "abandoned": False}

        async def send_unless_abandoned(message) -> None:
            if state["abandoned"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        task = asyncio.ensure_future(self.application(scope, receive, send_unless_abandoned))
        while True:
            done, _ = await asyncio.wait({task}, timeout=seconds)
            if done or state["started"]:
                await task
                return
            outage = await self.probe.outage()
            if not outage:
                continue  # a slow page, with every service answering: it may finish
            if task.done() or state["started"]:
                await task
                return
            state["abandoned"] = True
            task.add_done_callback(_forget)
            log.warning("outage: %s answered 503 after %g s: %s", scope.get("path", ""), seconds, outage)
            await _send_outage_page(send)
            return


def _forget(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("a request abandoned during an outage ended with %s", type(task.exception()).__name__)


async def _send_outage_page(send) -> None:
    from asgiref.sync import sync_to_async

    body = await sync_to_async(_outage_body, thread_sensitive=False)()
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"text/html; charset=utf-8"), (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"cache-control", b"no-store"), (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})


def _outage_body() -> bytes:
    return loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS}).encode()
