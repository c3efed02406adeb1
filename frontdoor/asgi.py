"""ASGI wrappers for the front door: Django's handler in one trip on kept threads, the request body cap,
the WebSocket origin check and session."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from channels.auth import AuthMiddleware
from channels.security.websocket import WebsocketDenier
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http.request import split_domain_port, validate_host

from .limits import declared_length, security_headers, too_large_page

DEFAULT_PORTS = {"http": 80, "https": 443}


class OneTripASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the middlewares and the view run in the request's thread in one trip.

    Every view and middleware of the site is synchronous. Django's handler nevertheless ends its
    chain in an asynchronous step, so the request's thread went back to the event loop
    (`async_to_sync`) only to be sent on to the same thread for the view (`sync_to_async`): two
    hand-overs per page, each a future, a wake-up of the loop and of the thread, GIL switches.
    Here the chain is built synchronous and called once from the loop; an asynchronous view or
    middleware, should one appear, is adapted by Django as under WSGI.
    """

    def __init__(self):
        super().__init__()
        self.threads = RequestThreads()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP, not {scope['type']}.")
        thread = self.threads.take()
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(thread)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


class RequestThread(ThreadPoolExecutor):
    """One thread that runs one request's synchronous work at a time, and knows whether it still is."""

    def __init__(self):
        super().__init__(max_workers=1, thread_name_prefix="request")
        self.unfinished = 0
        self._counting = threading.Lock()

    def submit(self, function, /, *args, **kwargs):
        with self._counting:
            self.unfinished += 1

        def counted():
            try:
                return function(*args, **kwargs)
            finally:
                with self._counting:
                    self.unfinished -= 1

        return super().submit(counted)


class RequestThreads:
    """The threads of the requests, kept for the next ones.

    Every request's middlewares and view run in a thread of their own (a thread-sensitive context,
    as Django's handler gives each request), so that one request's blocking work never holds up
    another's. asgiref starts that thread for the request and, at its end, one more to join it:
    two threads started and ended per page, about a tenth of the servers' time while a lecture hall
    joins a game (docs/benchmarks.md). Here a request takes an idle thread and gives it back when it is
    done. A thread still busy when its request ends (the client went away while the view ran) is
    not given back: it ends once its work is done. The event loop alone takes and gives back.
    """

    KEPT = 64

    def __init__(self):
        self._idle: list[RequestThread] = []

    def take(self) -> RequestThread:
        return self._idle.pop() if self._idle else RequestThread()

    def give_back(self, thread: RequestThread) -> None:
        if thread.unfinished or len(self._idle) >= self.KEPT:
            thread.shutdown(wait=False)
        else:
            self._idle.append(thread)


class RequestBodyLimit:
    """Refuse an HTTP body over MAX_REQUEST_BYTES before Django reads (and spools) it.

    A declared Content-Length over the limit is answered at once; a body that streams without
    one is cut off once it passes the limit, and answered the same way.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.MAX_REQUEST_BYTES
        headers = dict(scope.get("headers") or [])
        size = declared_length(headers.get(b"content-length"))
        if size is not None and size > limit:
            return await self.refuse(scope, send, size)
        received = 0
        exceeded = False
        started = False

        async def limited_receive():
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)
        if exceeded and not started:
            await self.refuse(scope, send, received)

    @staticmethod
    async def refuse(scope, send, size: int | None) -> None:
        body = too_large_page(size).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *security_headers(https=scope.get("scheme") == "https"),
        ]})
        await send({"type": "http.response.body", "body": body})


def origin_tuple(origin: str) -> tuple[str, str, int] | None:
    """('https', 'example.edu', 443) for 'https://example.edu', None for anything unusable."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def own_origin(scope) -> tuple[str, str, int] | None:
    """The origin the browser addressed: the Host header (or the server's address), with http
    for ws and https for wss. None if the host is not allowed or the scope names no host."""
    headers = dict(scope.get("headers") or [])
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    host = headers.get(b"host", b"").decode("latin-1")
    if not host and scope.get("server"):
        server_host, server_port = scope["server"]
        host = f"{server_host}:{server_port}"
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return origin_tuple(f"{scheme}://{host}")


def configured_origins() -> set[tuple[str, str, int]]:
    """SITE_URL and CSRF_TRUSTED_ORIGINS (their exact entries; wildcards are for CSRF only)."""
    return {parsed for text in [settings.SITE_URL, *settings.CSRF_TRUSTED_ORIGINS]
            if "*" not in text and (parsed := origin_tuple(text))}


def origin_allowed(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    origin = origin_tuple(headers.get(b"origin", b"").decode("latin-1"))
    if origin is None:
        return False  # browsers always send Origin on a WebSocket; a page elsewhere cannot hide it
    if b"host" not in headers and not scope.get("server"):
        # A scope that names neither its Host nor its server comes from a test harness, never
        # from a real server (uvicorn always fills `server`): only the host name can be checked.
        return validate_host(origin[1], settings.ALLOWED_HOSTS)
    own = own_origin(scope)
    return origin == own or origin in configured_origins()


class SameOriginWebSocketValidator:
    """Accept a WebSocket only when its Origin's scheme, host and port are an allowed origin's."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)


class WebSocketSessionMiddleware(SessionMiddleware):
    """Channels' session middleware, without its wrapper around every frame a WebSocket sends.

    The wrapper checks, on each message sent, whether the session changed and must be saved
    with the response's cookies; only HTTP responses ever are, so for a WebSocket it checked
    for nothing, through a lazy object, on every frame: a quarter of the time a process spent
    handing a reveal to its thousand phones (docs/benchmarks.md, "Live quizzes"). The session
    is still in the scope, loaded the same way; a consumer that changes it saves it itself,
    as with Channels' own middleware.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def websocket_auth_stack(inner):
    """Channels' AuthMiddlewareStack with WebSocketSessionMiddleware: cookies, session, user."""
    return CookieMiddleware(WebSocketSessionMiddleware(AuthMiddleware(inner)))
