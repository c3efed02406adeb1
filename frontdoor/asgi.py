"""ASGI wrappers for the front door: the request body cap."""

from __future__ import annotations

from django.conf import settings

from .limits import declared_length, too_large_page


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
            return await self.refuse(send, size)
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
            await self.refuse(send, received)

    @staticmethod
    async def refuse(send, size: int | None) -> None:
        body = too_large_page(size).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})
