"""The request size cap, shared by the Django middleware (WSGI and tests) and the ASGI entry point."""

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def too_large_page(size: int | None) -> str:
    """The page that says what was refused and what to do instead."""
    return render_to_string("413.html", {
        "limit": megabytes(settings.MAX_REQUEST_BYTES),
        "size": megabytes(size) if size else None,
    })


def too_large_response(size: int | None) -> HttpResponse:
    return HttpResponse(too_large_page(size), status=413, content_type="text/html; charset=utf-8")


def declared_length(value: str | bytes | None) -> int | None:
    """A Content-Length header as a number, or None when there is none or it is not a number."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None
