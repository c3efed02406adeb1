"""Refuse a request body larger than MAX_REQUEST_MB before any view reads it.

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
