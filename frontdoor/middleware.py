"""Refuse a request body larger than MAX_REQUEST_MB before any view reads it; keep the middleware chain synchronous.

Under uvicorn the ASGI entry point (attentive/asgi.py) has already refused such bodies before
Django spooled them to disk; this middleware gives the WSGI server and the test client the
same answer.
"""

from django.conf import settings

from .limits import declared_length, too_large_response


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        size = declared_length(request.META.get("CONTENT_LENGTH"))
        if size is not None and size > settings.MAX_REQUEST_BYTES:
            return too_large_response(size)
        return self.get_response(request)


class SynchronousChainMiddleware:
    """Last in MIDDLEWARE and synchronous only, so that Django runs the whole chain in the request's thread.

    Under ASGI, Django runs a middleware that can be either way asynchronously when the one
    inside it is, starting from the view's side. WhiteNoise is synchronous only, so the six
    middlewares inside it ran asynchronously, and each of their process_request and
    process_response was a trip from the event loop to the request's thread and back: 14
    trips for one page instead of 4, on the loop that also serves every WebSocket of the
    process (docs/benchmarks.md, "Live quizzes").
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
